package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPolicyValidation checks the parameter, header and trait-rule
// rules through Parse, with the exact problem text and line.
func TestPolicyValidation(t *testing.T) {
	src := `providers:
  - name: p
    type: simulator
    forward_headers: [X-Biz-Type, Authorization, Connection, X-Biz-Type]
    params:
      max_tokens_cap: -1
      defaults: {temperature: 2.5}
routes:
  - match: "*"
    targets:
      - provider: p
        headers: {X-Api-Key: k, X-Claude-Timezone: Asia/Shanghai}
        params: {overrides: {top_p: 1.5, top_k: -1}}
    when:
      - if: {}
        targets: [{provider: p}]
      - if: {model: "a*b*", tokens_over: -5, headers: {X-Biz-Type: ""}}
        targets: [{provider: nope}, {provider: p, weight: 2}]
      - if: {thinking: true}
        targets: []
`
	want := []string{
		`ferry.yaml:4: providers[0].forward_headers[1] "Authorization" must not be forwarded: it carries the client's credential`,
		`ferry.yaml:4: providers[0].forward_headers[2] "Connection" must not be forwarded: it is a hop-by-hop header`,
		`ferry.yaml:4: providers[0].forward_headers[3] "X-Biz-Type" is already forward_headers[0]`,
		`ferry.yaml:6: providers[0].params.max_tokens_cap -1 must not be negative (0: no cap)`,
		`ferry.yaml:7: providers[0].params.defaults.temperature 2.5 is out of range: it must be 0 to 2`,
		`ferry.yaml:12: routes[0].targets[0].headers["X-Api-Key"] must not be set: Ferry sends the credential from api_key, as auth says`,
		`ferry.yaml:13: routes[0].targets[0].params.overrides.top_p 1.5 is out of range: it must be 0 to 1`,
		`ferry.yaml:13: routes[0].targets[0].params.overrides.top_k -1 must not be negative`,
		`ferry.yaml:15: routes[0].when[0].if: set at least one of thinking, tools, tokens_over, model and headers`,
		`ferry.yaml:17: routes[0].when[1].if.tokens_over -5 must not be negative`,
		`ferry.yaml:17: routes[0].when[1].if.model "a*b*" is not a valid pattern: use an exact name, "prefix*", "*suffix", "*infix*" or "*"`,
		`ferry.yaml:17: routes[0].when[1].if.headers["X-Biz-Type"] must be a non-empty value without control characters`,
		`ferry.yaml:18: routes[0].when[1].targets[0].provider "nope" is not defined`,
		`ferry.yaml:18: routes[0].when[1].targets[1]: weight and canary apply to routes[].targets only; a rule's targets are tried in order`,
		`ferry.yaml:20: routes[0].when[2].targets: at least one target is required`,
	}
	got := parseProblems(t, src, nil)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestParamsMerge(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	prov := Params{MaxTokensCap: 8192, Defaults: Sampling{Temperature: f(0.7), TopP: f(0.9)}}
	tgt := Params{Defaults: Sampling{Temperature: f(0.2)}, Overrides: Sampling{TopP: f(0.5)}}
	got := prov.Merge(tgt)
	want := Params{MaxTokensCap: 8192, Defaults: Sampling{Temperature: f(0.2), TopP: f(0.9)}, Overrides: Sampling{TopP: f(0.5)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Merge (-want +got):\n%s", diff)
	}
	if !(Params{}).IsZero() || got.IsZero() {
		t.Error("IsZero")
	}
}

func TestPolicyCacheAndHeaderRules(t *testing.T) {
	src := `providers:
  - name: p
    type: simulator
routes:
  - match: "*"
    targets: [{provider: p}]
    cache: {ttl: 1m}
    when:
      - if: {headers: {X-Biz-Type: batch}}
        targets: [{provider: p, model: small}]
`
	want := []string{`ferry.yaml:7: routes[0].cache.ttl must not be set on a route whose when rules look at headers: the cache key does not include them`}
	if diff := cmp.Diff(want, parseProblems(t, src, nil)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
