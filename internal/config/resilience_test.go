package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// pHead is a provider p with two nodes, for the lines below to extend
// (its fields start at line 5 of a file that begins with pHead).
const pHead = `providers:
  - name: p
    type: anthropic
    api_key: k
    base_urls: [http://a.example, http://b.example]
`

// twoTargets is a route over p and a simulator q.
const twoTargets = `  - name: q
    type: simulator
routes:
  - match: "*"
    targets: [{provider: p}, {provider: q}]
`

// TestResilienceRules checks every resilience validation rule through
// Parse, with the exact problem text and line.
func TestResilienceRules(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "every field set, valid",
			src: pHead + `    policy: weighted
    node_weights: [3, 1]
    timeouts: {total: 2m}
    retry: {max_attempts: 2, base_delay: 50ms, max_delay: 1s, budget: 0.1, budget_window: 30s, min_retries: 0}
    breaker: {error_rate: 0.5, min_requests: 10, window: 10s, consecutive_failures: 3, open_time: 1s, max_open_time: 10s, half_open_probes: 1}
    health_check: {interval: 10s, timeout: 2s}
    bulkhead: {max_inflight: 10, queue: 5, queue_timeout: 500ms}
  - name: q
    type: simulator
routes:
  - match: "*"
    timeouts: {response_header: 30s, stream_idle: 1m, total: 5m}
    sticky: header:X-User
    canary: {window: 1m, min_requests: 5, max_error_rate: 0.1, max_latency_ratio: 1.5}
    targets: [{provider: p, weight: 90}, {provider: q, weight: 10, canary: true}]
`,
		},
		{
			name: "shadow valid",
			src: pHead + `  - name: q
    type: simulator
routes:
  - match: "*"
    shadow: {provider: q, model: glm-4.6, sample: 0.1}
    targets: [{provider: p}]
shadow: {queue: 10, workers: 1, keep: 50, timeout: 30s}
`,
		},
		{
			name: "shadow provider undefined, sample out of range",
			src: pHead + `routes:
  - match: "*"
    shadow: {provider: nope, sample: 1.5}
    targets: [{provider: p}]
`,
			want: []string{
				`ferry.yaml:8: routes[0].shadow.provider "nope" is not defined`,
				`ferry.yaml:8: routes[0].shadow.sample 1.5 is not between 0 and 1`,
			},
		},
		{
			name: "shadow sample without provider; bad queue",
			src: pHead + `routes:
  - match: "*"
    shadow: {sample: 0.5}
    targets: [{provider: p}]
shadow: {workers: 100, queue: -1, timeout: -1s}
`,
			want: []string{
				`ferry.yaml:8: routes[0].shadow.provider is required when model or sample is set`,
				`ferry.yaml:10: shadow.queue -1 must not be negative`,
				`ferry.yaml:10: shadow.workers 100 is too many: at most 64 concurrent shadow calls`,
				`ferry.yaml:10: shadow.timeout must not be negative`,
			},
		},
		{
			name: "panic_threshold 0 (fail fast) and node_names valid",
			src:  pHead + "    node_names: [hk, sg]\n    breaker: {panic_threshold: 0}\n" + twoTargets,
		},
		{
			name: "panic_threshold out of range",
			src:  pHead + "    breaker: {panic_threshold: 1.5}\n" + twoTargets,
			want: []string{`ferry.yaml:6: providers[0].breaker.panic_threshold 1.5 is not between 0 and 1`},
		},
		{
			name: "node_names count",
			src:  pHead + "    node_names: [hk]\n" + twoTargets,
			want: []string{`ferry.yaml:6: providers[0].node_names has 1 names for 2 base_urls: give one per base URL`},
		},
		{
			name: "node_names bad and repeated",
			src:  pHead + "    node_names: [a/b, \"\"]\n" + twoTargets,
			want: []string{
				`ferry.yaml:6: providers[0].node_names[0] "a/b" is not a node name: at most 64 characters, without '/', '?', '#', '@' or spaces`,
				`ferry.yaml:6: providers[0].node_names[1] is empty: name every node, or none`,
			},
		},
		{
			name: "unknown policy",
			src:  pHead + "    policy: fastest\n" + twoTargets,
			want: []string{`ferry.yaml:6: providers[0].policy "fastest" is unknown: use priority, weighted, least_latency or least_inflight`},
		},
		{
			name: "node_weights without policy weighted",
			src:  pHead + "    node_weights: [1, 2]\n" + twoTargets,
			want: []string{`ferry.yaml:6: providers[0].node_weights is set but policy is "priority": node_weights apply to policy weighted only`},
		},
		{
			name: "node_weights count",
			src:  pHead + "    policy: weighted\n    node_weights: [1]\n" + twoTargets,
			want: []string{`ferry.yaml:7: providers[0].node_weights has 1 weights for 2 base_urls: give one per base URL`},
		},
		{
			name: "node_weights negative and all zero",
			src:  pHead + "    policy: weighted\n    node_weights: [-1, 0]\n" + twoTargets,
			want: []string{
				`ferry.yaml:7: providers[0].node_weights[0] -1 must not be negative`,
				`ferry.yaml:7: providers[0].node_weights: at least one weight must be more than 0`,
			},
		},
		{
			name: "simulator has one node",
			src:  "providers:\n  - name: q\n    type: simulator\n    policy: weighted\n    node_weights: [1, 1]\nroutes:\n  - match: \"*\"\n    targets: [{provider: q}]\n",
			want: []string{`ferry.yaml:5: providers[0].node_weights has 2 weights for 1 base_urls: give one per base URL`},
		},
		{
			name: "negative total",
			src:  pHead + "    timeouts: {total: -1s}\n" + twoTargets,
			want: []string{`ferry.yaml:6: providers[0].timeouts.total must not be negative`},
		},
		{
			name: "retry out of range",
			src:  pHead + "    retry: {max_attempts: 11, base_delay: 2s, max_delay: 1s, budget: 1.5, budget_window: -1s, min_retries: -1}\n" + twoTargets,
			want: []string{
				`ferry.yaml:6: providers[0].retry.max_attempts 11 is out of range: it must be 1 (no retries) to 10`,
				`ferry.yaml:6: providers[0].retry.max_delay 1s is less than base_delay 2s`,
				`ferry.yaml:6: providers[0].retry.budget 1.5 is not between 0 and 1`,
				`ferry.yaml:6: providers[0].retry.budget_window must not be negative`,
				`ferry.yaml:6: providers[0].retry.min_retries -1 must not be negative`,
			},
		},
		{
			name: "breaker out of range",
			src:  pHead + "    breaker: {error_rate: 2, min_requests: -1, window: -1s, consecutive_failures: -2, open_time: 1m, max_open_time: 30s, half_open_probes: -1}\n" + twoTargets,
			want: []string{
				`ferry.yaml:6: providers[0].breaker.error_rate 2 is not between 0 and 1`,
				`ferry.yaml:6: providers[0].breaker.min_requests -1 must be at least 1`,
				`ferry.yaml:6: providers[0].breaker.window must not be negative`,
				`ferry.yaml:6: providers[0].breaker.consecutive_failures -2 must be at least 1`,
				`ferry.yaml:6: providers[0].breaker.max_open_time 30s is less than open_time 1m0s`,
				`ferry.yaml:6: providers[0].breaker.half_open_probes -1 must be at least 1`,
			},
		},
		{
			name: "health check timeout over interval",
			src:  pHead + "    health_check: {interval: 5s, timeout: 10s}\n" + twoTargets,
			want: []string{`ferry.yaml:6: providers[0].health_check.timeout 10s is longer than interval 5s`},
		},
		{
			name: "health check interval negative",
			src:  pHead + "    health_check: {interval: -5s}\n" + twoTargets,
			want: []string{`ferry.yaml:6: providers[0].health_check.interval must not be negative`},
		},
		{
			name: "bulkhead queue without a cap",
			src:  pHead + "    bulkhead: {queue: 5}\n" + twoTargets,
			want: []string{`ferry.yaml:6: providers[0].bulkhead.queue is set but max_inflight is 0 (no cap): nothing would ever wait`},
		},
		{
			name: "bulkhead negative",
			src:  pHead + "    bulkhead: {max_inflight: -1, queue: -1, queue_timeout: -1s}\n" + twoTargets,
			want: []string{
				`ferry.yaml:6: providers[0].bulkhead.max_inflight -1 must not be negative (0: no cap)`,
				`ferry.yaml:6: providers[0].bulkhead.queue -1 must not be negative`,
				`ferry.yaml:6: providers[0].bulkhead.queue_timeout must not be negative`,
			},
		},
		{
			name: "route timeouts negative",
			src:  pHead + twoTargets + "    timeouts: {response_header: -1s, stream_idle: -1s, total: -1s}\n",
			want: []string{
				`ferry.yaml:11: routes[0].timeouts.response_header must not be negative`,
				`ferry.yaml:11: routes[0].timeouts.stream_idle must not be negative`,
				`ferry.yaml:11: routes[0].timeouts.total must not be negative`,
			},
		},
		{
			name: "negative weight",
			src:  pHead + "  - name: q\n    type: simulator\nroutes:\n  - match: \"*\"\n    targets: [{provider: p, weight: -1}, {provider: q, weight: 1}]\n",
			want: []string{`ferry.yaml:10: routes[0].targets[0].weight -1 must not be negative`},
		},
		{
			name: "canary without weight",
			src:  pHead + "  - name: q\n    type: simulator\nroutes:\n  - match: \"*\"\n    targets: [{provider: p, weight: 1}, {provider: q, canary: true}]\n",
			want: []string{`ferry.yaml:10: routes[0].targets[1].canary needs a weight: a canary gets the share of first choices its weight gives it`},
		},
		{
			name: "only canaries",
			src:  pHead + "  - name: q\n    type: simulator\nroutes:\n  - match: \"*\"\n    targets: [{provider: p}, {provider: q, weight: 5, canary: true}]\n",
			want: []string{`ferry.yaml:10: routes[0].targets: a route with a canary needs a target that is not one, with a weight, to compare it with`},
		},
		{
			name: "sticky unknown",
			src:  pHead + twoTargets + "    sticky: user\n",
			want: []string{`ferry.yaml:11: routes[0].sticky "user" is unknown: use "key" or "header:NAME"`},
		},
		{
			name: "sticky bad header",
			src:  pHead + twoTargets + "    sticky: \"header:x y\"\n",
			want: []string{`ferry.yaml:11: routes[0].sticky "header:x y" does not name a valid header`},
		},
		{
			name: "sticky without weights",
			src:  pHead + twoTargets + "    sticky: key\n",
			want: []string{`ferry.yaml:11: routes[0].sticky is set but no target has a weight: there is no split to keep sticky`},
		},
		{
			name: "canary guard out of range",
			src:  pHead + twoTargets + "    canary: {window: -1m, min_requests: -1, max_error_rate: 1.5, max_latency_ratio: 0.5}\n",
			want: []string{
				`ferry.yaml:11: routes[0].canary.window must not be negative`,
				`ferry.yaml:11: routes[0].canary.min_requests -1 must be at least 1`,
				`ferry.yaml:11: routes[0].canary.max_error_rate 1.5 is not between 0 and 1`,
				`ferry.yaml:11: routes[0].canary.max_latency_ratio 0.5 must be at least 1`,
			},
		},
		{
			name: "admin off loopback without token",
			src:  "listen: 127.0.0.1:8080\nadmin:\n  listen: 0.0.0.0:9091\n" + pHead + twoTargets,
			want: []string{`ferry.yaml:2: admin.token is required when admin.listen ("0.0.0.0:9091") is not a loopback address: the admin API changes routing`},
		},
		{
			name: "admin off loopback with token",
			src:  "listen: 127.0.0.1:8080\nadmin:\n  listen: 0.0.0.0:9091\n  token: t0ken\n" + pHead + twoTargets,
		},
		{
			name: "admin on localhost without token",
			src:  "admin:\n  listen: localhost:9091\n" + pHead + twoTargets,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProblems(t, tt.src, nil)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestResilienceZeroIsDefault: a Config built in code without
// ApplyDefaults has zero resilience fields, which mean the defaults.
func TestResilienceZeroIsDefault(t *testing.T) {
	c := Config{
		Listen:    "127.0.0.1:8080",
		Admin:     Admin{Listen: AdminOff},
		Providers: []Provider{{Name: "sim", Type: TypeSimulator}},
		Routes:    []Route{{Match: "*", Targets: []Target{{Provider: "sim"}}}},
		Limits:    Limits{MaxRequestBytes: 1},
		Log:       Log{Level: "info", Format: "json"},
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate after defaults: %v", err)
	}
	if p := c.Providers[0]; p.Policy != PolicyPriority || p.Retry.MaxAttempts != 3 || p.Breaker.OpenTime != 5*time.Second {
		t.Errorf("defaults: %+v", p)
	}
}

// TestPanicThresholdZeroIsFailFast: 0 is a setting (fail fast), not the
// default; leaving the field out is the default 0.5.
func TestPanicThresholdZeroIsFailFast(t *testing.T) {
	for _, tc := range []struct {
		line string
		want float64
	}{{"", DefaultPanicThreshold}, {"    breaker: {panic_threshold: 0}\n", 0}, {"    breaker: {panic_threshold: 0.25}\n", 0.25}} {
		cfg, err := Parse([]byte(pHead+tc.line+twoTargets), "ferry.yaml", noEnv)
		if err != nil {
			t.Fatalf("%q: %v", tc.line, err)
		}
		if got := cfg.Providers[0].Breaker.Panic(); got != tc.want {
			t.Errorf("%q: panic threshold %g, want %g", tc.line, got, tc.want)
		}
	}
}
