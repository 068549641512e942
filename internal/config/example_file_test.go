package config

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExampleFile checks that the repository's ferry.example.yaml parses and
// validates, given the variables it reads, and that it fails as documented
// without them.
func TestExampleFile(t *testing.T) {
	const path = "../../ferry.example.yaml"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{
		"FERRY_KEY_ALICE":   "alice-key-0123456789abcdef",
		"ANTHROPIC_API_KEY": "sk-ant-example",
		"RELAY_TOKEN":       "relay-token",
		"ZHIPUAI_API_KEY":   "zp.example",
	})
	cfg, err := Parse(data, "ferry.example.yaml", env)
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate after Parse:\n%v", err)
	}
	// The parts the example exists to show.
	if got := len(cfg.Providers[0].BaseURLs); got != 2 {
		t.Errorf("anthropic base_urls: %d, want 2 relay nodes", got)
	}
	if cfg.Keys[0].Key.Reveal() != "alice-key-0123456789abcdef" || cfg.Keys[1].KeySHA256 == "" {
		t.Errorf("keys = %v", cfg.Keys)
	}
	var matches []string
	for _, r := range cfg.Routes {
		matches = append(matches, r.Match)
	}
	if diff := cmp.Diff([]string{"ferry-sim", "glm-*", "*-local", "claude-haiku-*", "*"}, matches); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if cfg.Routes[3].Targets[0].Model == "" {
		t.Error("the prefix route rewrites no model")
	}
	if len(cfg.Routes[4].When) != 2 || cfg.Providers[1].Params.MaxTokensCap == 0 || len(cfg.Routes[1].Targets[0].Headers) == 0 {
		t.Error("the example shows no trait rules, parameter policy or header policy")
	}

	t.Run("without its variables", func(t *testing.T) {
		_, err := Parse(data, "ferry.example.yaml", noEnv)
		want := []string{
			"ferry.example.yaml:21: keys[0].key is empty: ${FERRY_KEY_ALICE} is not set",
			"ferry.example.yaml:38: providers[0].api_key is empty: ${ANTHROPIC_API_KEY} is not set",
			`ferry.example.yaml:41: providers[0].headers["X-Relay-Token"] is empty: ${RELAY_TOKEN} is not set (write ${RELAY_TOKEN:-} to allow that)`,
			"ferry.example.yaml:67: providers[1].api_key is empty: ${ZHIPUAI_API_KEY} is not set",
		}
		if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
	})
}
