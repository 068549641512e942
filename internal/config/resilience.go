package config

import "time"

// Node-selection policies for a provider with several base URLs.
const (
	PolicyPriority      = "priority"       // first healthy node, in order
	PolicyWeighted      = "weighted"       // random by node_weights among healthy nodes
	PolicyLeastLatency  = "least_latency"  // lowest EWMA time to first byte, with exploration
	PolicyLeastInflight = "least_inflight" // fewest requests in flight
)

// Retry configures retries of failed attempts on one provider.
type Retry struct {
	MaxAttempts  int           `yaml:"max_attempts"`  // attempts per target, the first included; default 3; 1 disables retries
	BaseDelay    time.Duration `yaml:"base_delay"`    // backoff base (full jitter), default 100ms
	MaxDelay     time.Duration `yaml:"max_delay"`     // backoff cap and the longest retry-after honoured, default 5s
	Budget       float64       `yaml:"budget"`        // retries allowed as a share of requests over budget_window, default 0.2
	BudgetWindow time.Duration `yaml:"budget_window"` // default 10s
	MinRetries   int           `yaml:"min_retries"`   // retries allowed per window whatever the share, default 3
}

// Breaker configures the per-node circuit breaker.
type Breaker struct {
	Disabled            bool          `yaml:"disabled"`
	ErrorRate           float64       `yaml:"error_rate"`           // opens above this share of failures over window, default 0.05
	MinRequests         int           `yaml:"min_requests"`         // ...once the window holds at least this many, default 20
	Window              time.Duration `yaml:"window"`               // rolling window, default 30s
	ConsecutiveFailures int           `yaml:"consecutive_failures"` // opens after this many failures in a row, default 5
	OpenTime            time.Duration `yaml:"open_time"`            // first open period, doubled on each reopening, default 5s
	MaxOpenTime         time.Duration `yaml:"max_open_time"`        // default 2m
	HalfOpenProbes      int           `yaml:"half_open_probes"`     // successful probes that close it again, default 2
}

// HealthCheck configures active health checks of a provider's nodes.
type HealthCheck struct {
	Interval time.Duration `yaml:"interval"` // 0 (default): off
	Timeout  time.Duration `yaml:"timeout"`  // default 5s
}

// Bulkhead caps a provider's in-flight requests.
type Bulkhead struct {
	MaxInflight  int           `yaml:"max_inflight"`  // 0 (default): no cap
	Queue        int           `yaml:"queue"`         // requests that may wait for a slot, default 0
	QueueTimeout time.Duration `yaml:"queue_timeout"` // longest wait, default 1s
}

// RouteTimeouts override the timeouts of the route's providers.
type RouteTimeouts struct {
	ResponseHeader time.Duration `yaml:"response_header"` // time to first byte per attempt
	StreamIdle     time.Duration `yaml:"stream_idle"`
	Total          time.Duration `yaml:"total"`
}

// CanaryGuard holds the thresholds that roll a canary target back: over
// window, once the canary has min_requests, it is compared with the
// route's other targets.
type CanaryGuard struct {
	Window          time.Duration `yaml:"window"`            // default 5m
	MinRequests     int           `yaml:"min_requests"`      // default 20
	MaxErrorRate    float64       `yaml:"max_error_rate"`    // rollback when the canary's error rate exceeds the primary's by more than this, default 0.05
	MaxLatencyRatio float64       `yaml:"max_latency_ratio"` // rollback when the canary's p95 latency exceeds the primary's times this, default 2
}

// RouteShadow mirrors a sampled share of a route's requests to another
// provider; the client never waits for it.
type RouteShadow struct {
	Provider string  `yaml:"provider"` // empty: no shadow traffic
	Model    string  `yaml:"model"`    // model name for the shadow; empty keeps the client's
	Sample   float64 `yaml:"sample"`   // share of requests mirrored, default 1 when provider is set
}

// Shadow configures the shadow-traffic queue.
type Shadow struct {
	Queue   int           `yaml:"queue"`   // pending mirrored requests; more are dropped and counted; default 100
	Workers int           `yaml:"workers"` // concurrent shadow calls, default 2
	Keep    int           `yaml:"keep"`    // comparisons kept for reports, default 1000
	Timeout time.Duration `yaml:"timeout"` // per shadow call, default 2m
}

func (p *Provider) resilienceDefaults() {
	setDefault(&p.Policy, PolicyPriority)
	r := &p.Retry
	setDefault(&r.MaxAttempts, 3)
	setDefault(&r.BaseDelay, 100*time.Millisecond)
	setDefault(&r.MaxDelay, 5*time.Second)
	setDefault(&r.Budget, 0.2)
	setDefault(&r.BudgetWindow, 10*time.Second)
	setDefault(&r.MinRetries, 3)
	b := &p.Breaker
	setDefault(&b.ErrorRate, 0.05)
	setDefault(&b.MinRequests, 20)
	setDefault(&b.Window, 30*time.Second)
	setDefault(&b.ConsecutiveFailures, 5)
	setDefault(&b.OpenTime, 5*time.Second)
	setDefault(&b.MaxOpenTime, 2*time.Minute)
	setDefault(&b.HalfOpenProbes, 2)
	setDefault(&p.HealthCheck.Timeout, 5*time.Second)
	setDefault(&p.Bulkhead.QueueTimeout, time.Second)
}

func (r *Route) resilienceDefaults() {
	g := &r.Canary
	setDefault(&g.Window, 5*time.Minute)
	setDefault(&g.MinRequests, 20)
	setDefault(&g.MaxErrorRate, 0.05)
	setDefault(&g.MaxLatencyRatio, 2)
	if r.Shadow.Provider != "" {
		setDefault(&r.Shadow.Sample, 1)
	}
}

// resilience validates retries, breakers, node policies, bulkheads, route
// timeouts, weights, canaries and shadows.
func (v *validator) resilience(c *Config) {
	_ = c // filled in with the resilience work
}
