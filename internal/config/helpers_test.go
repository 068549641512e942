package config

import (
	"errors"
	"testing"
)

// envOf is a fake environment.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// noEnv is an empty environment.
func noEnv(string) (string, bool) { return "", false }

// problemLines returns err's problems, one string each; nil for no error.
func problemLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T, not Problems: %v", err, err)
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Error()
	}
	return out
}

// parseProblems parses src as ferry.yaml and returns its problems.
func parseProblems(t *testing.T, src string, env func(string) (string, bool)) []string {
	t.Helper()
	if env == nil {
		env = noEnv
	}
	cfg, err := Parse([]byte(src), "ferry.yaml", env)
	if err == nil && cfg == nil {
		t.Fatal("Parse returned neither a Config nor an error")
	}
	if err != nil && cfg != nil {
		t.Fatal("Parse returned a Config and an error")
	}
	return problemLines(t, err)
}

// withFeatureDefaults applies the defaults of the resilience and traffic
// sections to a wanted Config, so tests about other fields need not spell
// them out.
func withFeatureDefaults(c *Config) {
	for i := range c.Providers {
		c.Providers[i].resilienceDefaults()
	}
	for i := range c.Routes {
		c.Routes[i].resilienceDefaults()
	}
	c.trafficDefaults()
	c.moneyDefaults()
	c.observeDefaults()
	c.tlsDefaults()
}
