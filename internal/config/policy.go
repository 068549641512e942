package config

import (
	"fmt"
	"slices"
	"strings"
)

// Params is a parameter policy, for a provider or a route target: what
// Ferry changes in a request's parameters before the upstream sees it. A
// target's policy wins over its provider's, field by field.
type Params struct {
	// MaxTokensCap clamps max_tokens (and an OpenAI body's
	// max_completion_tokens) to at most this; 0: no clamp. Claude Code
	// asks for 32000-64000 whatever the model.
	MaxTokensCap int64 `yaml:"max_tokens_cap"`
	// Defaults are set when the client sent none of a parameter.
	Defaults Sampling `yaml:"defaults"`
	// Overrides are set whatever the client sent.
	Overrides Sampling `yaml:"overrides"`
}

// Sampling are the sampling parameters a policy may set; nil: not set.
// top_k exists in Anthropic's format only: an OpenAI client's body never
// gets one.
type Sampling struct {
	Temperature *float64 `yaml:"temperature"`
	TopP        *float64 `yaml:"top_p"`
	TopK        *int64   `yaml:"top_k"`
}

// IsZero reports whether the policy changes nothing.
func (p Params) IsZero() bool {
	return p.MaxTokensCap == 0 && p.Defaults == (Sampling{}) && p.Overrides == (Sampling{})
}

// Merge returns p with every field that over sets replaced by over's.
func (p Params) Merge(over Params) Params {
	if over.MaxTokensCap != 0 {
		p.MaxTokensCap = over.MaxTokensCap
	}
	p.Defaults = p.Defaults.merge(over.Defaults)
	p.Overrides = p.Overrides.merge(over.Overrides)
	return p
}

func (s Sampling) merge(over Sampling) Sampling {
	if over.Temperature != nil {
		s.Temperature = over.Temperature
	}
	if over.TopP != nil {
		s.TopP = over.TopP
	}
	if over.TopK != nil {
		s.TopK = over.TopK
	}
	return s
}

// RouteRule sends the requests whose traits match If to its own targets,
// before the route's: the first rule that matches wins, and the route's
// targets follow the rule's as fallbacks.
type RouteRule struct {
	If      Traits   `yaml:"if"`
	Targets []Target `yaml:"targets"`
}

// Traits are conditions on a request; a rule matches when every condition
// set holds.
type Traits struct {
	Thinking   *bool             `yaml:"thinking"`    // the request asks for thinking (or not)
	Tools      *bool             `yaml:"tools"`       // the request offers tools (or not)
	TokensOver int64             `yaml:"tokens_over"` // its input estimate (body bytes / 4) exceeds this; 0: no condition
	Model      string            `yaml:"model"`       // the requested model matches this pattern: as routes[].match, or "*infix*"
	Headers    map[string]string `yaml:"headers"`     // each header has this value (case-sensitive value, any-case name)
}

// IsZero reports whether no condition is set.
func (t Traits) IsZero() bool {
	return t.Thinking == nil && t.Tools == nil && t.TokensOver == 0 && t.Model == "" && len(t.Headers) == 0
}

// policies validates parameter and header policies and trait rules.
func (v *validator) policies(c *Config) {
	defined := map[string]bool{}
	for i, pr := range c.Providers {
		defined[pr.Name] = true
		p := fmt.Sprintf("providers[%d]", i)
		v.params(p+".params", pr.Params)
		v.forwardHeaders(p+".forward_headers", pr.ForwardHeaders)
	}
	target := func(p string, t Target) {
		if len(t.Headers) > 0 {
			v.headers(p+".headers", t.Headers)
		}
		v.forwardHeaders(p+".forward_headers", t.ForwardHeaders)
		v.params(p+".params", t.Params)
	}
	for i, r := range c.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		for j, t := range r.Targets {
			target(fmt.Sprintf("%s.targets[%d]", p, j), t)
		}
		if r.Cache.TTL > 0 && headerRule(r.When) {
			// The cache key is the body (and anthropic-* headers): two
			// requests a header sends to different targets would share it.
			v.add(p+".cache.ttl", "must not be set on a route whose when rules look at headers: the cache key does not include them")
		}
		for j, rule := range r.When {
			rp := fmt.Sprintf("%s.when[%d]", p, j)
			v.traits(rp+".if", rule.If)
			if len(rule.Targets) == 0 {
				v.add(rp+".targets", ": at least one target is required")
			}
			for k, t := range rule.Targets {
				tp := fmt.Sprintf("%s.targets[%d]", rp, k)
				v.definedProvider(tp+".provider", t.Provider, defined)
				if t.Weight != 0 || t.Canary {
					v.add(tp, ": weight and canary apply to routes[].targets only; a rule's targets are tried in order")
				}
				target(tp, t)
			}
		}
	}
}

func headerRule(rules []RouteRule) bool {
	for _, r := range rules {
		if len(r.If.Headers) > 0 {
			return true
		}
	}
	return false
}

func (v *validator) traits(p string, t Traits) {
	if t.IsZero() {
		v.add(p, ": set at least one of thinking, tools, tokens_over, model and headers")
	}
	if t.TokensOver < 0 {
		v.addf(p+".tokens_over", "%d must not be negative", t.TokensOver)
	}
	if t.Model != "" && !ValidTraitPattern(t.Model) {
		v.addf(p+".model", `%q is not a valid pattern: use an exact name, "prefix*", "*suffix", "*infix*" or "*"`, t.Model)
	}
	names := make([]string, 0, len(t.Headers))
	for name := range t.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		hp := p + ".headers[" + fmt.Sprintf("%q", name) + "]"
		if !validHeaderName(name) {
			v.add(hp, "is not a valid header name")
		}
		if t.Headers[name] == "" || !validHeaderValue(t.Headers[name]) {
			v.add(hp, "must be a non-empty value without control characters")
		}
	}
}

func (v *validator) params(p string, ps Params) {
	if ps.MaxTokensCap < 0 {
		v.addf(p+".max_tokens_cap", "%d must not be negative (0: no cap)", ps.MaxTokensCap)
	}
	for _, s := range [...]struct {
		name string
		s    Sampling
	}{{"defaults", ps.Defaults}, {"overrides", ps.Overrides}} {
		if t := s.s.Temperature; t != nil && (*t < 0 || *t > 2) {
			v.addf(p+"."+s.name+".temperature", "%g is out of range: it must be 0 to 2", *t)
		}
		if t := s.s.TopP; t != nil && (*t < 0 || *t > 1) {
			v.addf(p+"."+s.name+".top_p", "%g is out of range: it must be 0 to 1", *t)
		}
		if k := s.s.TopK; k != nil && *k < 0 {
			v.addf(p+"."+s.name+".top_k", "%d must not be negative", *k)
		}
	}
}

// forwardHeaders validates names of client headers to pass upstream: never
// a credential, a cookie or a header the connection owns.
func (v *validator) forwardHeaders(p string, names []string) {
	seen := map[string]int{}
	for i, name := range names {
		hp := fmt.Sprintf("%s[%d]", p, i)
		lower := strings.ToLower(name)
		switch {
		case !validHeaderName(name):
			v.addf(hp, "%q is not a valid header name", name)
			continue
		case lower == "x-api-key" || lower == "authorization" || lower == "cookie":
			v.addf(hp, "%q must not be forwarded: it carries the client's credential", name)
		case lower == "host" || lower == "content-length" || lower == "content-type":
			v.addf(hp, "%q must not be forwarded: Ferry sets it for each request", name)
		case isHopByHop(lower):
			v.addf(hp, "%q must not be forwarded: it is a hop-by-hop header", name)
		}
		if first, dup := seen[lower]; dup {
			v.addf(hp, "%q is already forward_headers[%d]", name, first)
		} else {
			seen[lower] = i
		}
	}
}

// ValidTraitPattern reports whether a trait's model pattern is an exact
// name, "prefix*", "*suffix", "*infix*" or "*".
func ValidTraitPattern(m string) bool {
	if strings.HasPrefix(m, "*") && strings.HasSuffix(m, "*") && len(m) > 2 {
		return !strings.Contains(m[1:len(m)-1], "*")
	}
	return validMatch(m)
}
