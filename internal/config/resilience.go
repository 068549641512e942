package config

import (
	"fmt"
	"strings"
	"time"
)

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
	MinRetries   int           `yaml:"min_retries"`   // retries allowed per window whatever the share, default 10
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
	// PanicThreshold is Envoy's healthy_panic_threshold: when the share of
	// a provider's nodes whose breaker admits requests falls below it, or
	// no node of any target of a route does, Ferry calls them anyway
	// rather than refuse. Default 0.5; 0 restores fail-fast (a 503 with
	// retry-after). A pointer, because 0 is a setting and not the default.
	PanicThreshold *float64 `yaml:"panic_threshold"`
}

// DefaultPanicThreshold is breaker.panic_threshold's default.
const DefaultPanicThreshold = 0.5

// Panic is the breaker's panic threshold, the default when unset.
func (b Breaker) Panic() float64 {
	if b.PanicThreshold == nil {
		return DefaultPanicThreshold
	}
	return *b.PanicThreshold
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
	setDefault(&r.MinRetries, 10)
	b := &p.Breaker
	setDefault(&b.ErrorRate, 0.05)
	setDefault(&b.MinRequests, 20)
	setDefault(&b.Window, 30*time.Second)
	setDefault(&b.ConsecutiveFailures, 5)
	setDefault(&b.OpenTime, 5*time.Second)
	setDefault(&b.MaxOpenTime, 2*time.Minute)
	setDefault(&b.HalfOpenProbes, 2)
	if b.PanicThreshold == nil {
		t := DefaultPanicThreshold
		b.PanicThreshold = &t
	}
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

// Zero values are valid throughout: they mean the default, which
// ApplyDefaults fills in (a Config built in code may skip it), and which
// the pools and splits apply themselves.

// resilience validates retries, breakers, node policies, bulkheads, route
// timeouts, weights, canaries, shadows, and the admin API's token.
func (v *validator) resilience(c *Config) {
	defined := make(map[string]bool, len(c.Providers))
	for i := range c.Providers {
		v.providerResilience(fmt.Sprintf("providers[%d]", i), &c.Providers[i])
		defined[c.Providers[i].Name] = true
	}
	for i := range c.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		v.routeResilience(p, &c.Routes[i])
		v.routeShadow(p+".shadow", c.Routes[i].Shadow, defined)
	}
	v.shadowQueue(c.Shadow)
	// The admin API can promote and roll back canaries: off loopback it
	// needs a token. An address already reported by listen is not
	// reported twice.
	if a := c.Admin.Listen; a != AdminOff && validHostPort(a) && !(validHostPort(c.Listen) && sameAddress(a, c.Listen)) &&
		!IsLoopback(a) && c.Admin.Token == "" && c.AdminKey == "" {
		v.addf("admin.token", "is required when admin.listen (%q) is not a loopback address: the admin API changes routing", a)
	}
}

// maxAttempts bounds retry.max_attempts: more attempts than this only
// multiply the load on an upstream that is already failing.
const maxAttempts = 10

func (v *validator) providerResilience(p string, pr *Provider) {
	switch pr.Policy {
	case "", PolicyPriority, PolicyWeighted, PolicyLeastLatency, PolicyLeastInflight:
	default:
		v.addf(p+".policy", "%q is unknown: use priority, weighted, least_latency or least_inflight", pr.Policy)
	}
	nodes := len(pr.BaseURLs)
	if pr.Type == TypeSimulator {
		nodes = 1
	}
	switch {
	case len(pr.NodeWeights) > 0 && pr.Policy != PolicyWeighted:
		v.addf(p+".node_weights", "is set but policy is %q: node_weights apply to policy weighted only", pr.Policy)
	case len(pr.NodeWeights) > 0 && len(pr.NodeWeights) != nodes:
		v.addf(p+".node_weights", "has %d weights for %d base_urls: give one per base URL", len(pr.NodeWeights), nodes)
	case len(pr.NodeWeights) > 0:
		sum := 0
		for j, w := range pr.NodeWeights {
			if w < 0 {
				v.addf(fmt.Sprintf("%s.node_weights[%d]", p, j), "%d must not be negative", w)
			}
			sum += max(w, 0)
		}
		if sum == 0 {
			v.add(p+".node_weights", ": at least one weight must be more than 0")
		}
	}
	v.nonNegative(p+".timeouts.total", pr.Timeouts.Total)

	r := pr.Retry
	rp := p + ".retry"
	if r.MaxAttempts < 0 || r.MaxAttempts > maxAttempts {
		v.addf(rp+".max_attempts", "%d is out of range: it must be 1 (no retries) to %d", r.MaxAttempts, maxAttempts)
	}
	v.nonNegative(rp+".base_delay", r.BaseDelay)
	v.nonNegative(rp+".max_delay", r.MaxDelay)
	if r.BaseDelay > 0 && r.MaxDelay > 0 && r.MaxDelay < r.BaseDelay {
		v.addf(rp+".max_delay", "%s is less than base_delay %s", r.MaxDelay, r.BaseDelay)
	}
	v.share(rp+".budget", r.Budget)
	v.nonNegative(rp+".budget_window", r.BudgetWindow)
	if r.MinRetries < 0 {
		v.addf(rp+".min_retries", "%d must not be negative", r.MinRetries)
	}

	b := pr.Breaker
	bp := p + ".breaker"
	v.share(bp+".error_rate", b.ErrorRate)
	v.atLeastOne(bp+".min_requests", b.MinRequests)
	v.nonNegative(bp+".window", b.Window)
	v.atLeastOne(bp+".consecutive_failures", b.ConsecutiveFailures)
	v.nonNegative(bp+".open_time", b.OpenTime)
	v.nonNegative(bp+".max_open_time", b.MaxOpenTime)
	if b.OpenTime > 0 && b.MaxOpenTime > 0 && b.MaxOpenTime < b.OpenTime {
		v.addf(bp+".max_open_time", "%s is less than open_time %s", b.MaxOpenTime, b.OpenTime)
	}
	v.atLeastOne(bp+".half_open_probes", b.HalfOpenProbes)
	if b.PanicThreshold != nil {
		v.share(bp+".panic_threshold", *b.PanicThreshold)
	}
	v.nodeNames(p, pr, nodes)

	h := pr.HealthCheck
	hp := p + ".health_check"
	v.nonNegative(hp+".interval", h.Interval)
	v.nonNegative(hp+".timeout", h.Timeout)
	if h.Interval > 0 && h.Timeout > h.Interval {
		v.addf(hp+".timeout", "%s is longer than interval %s", h.Timeout, h.Interval)
	}

	k := pr.Bulkhead
	kp := p + ".bulkhead"
	if k.MaxInflight < 0 {
		v.addf(kp+".max_inflight", "%d must not be negative (0: no cap)", k.MaxInflight)
	}
	switch {
	case k.Queue < 0:
		v.addf(kp+".queue", "%d must not be negative", k.Queue)
	case k.Queue > 0 && k.MaxInflight == 0:
		v.add(kp+".queue", "is set but max_inflight is 0 (no cap): nothing would ever wait")
	}
	v.nonNegative(kp+".queue_timeout", k.QueueTimeout)
}

// nodeNames checks a provider's node_names: one per base URL, unique,
// and usable as a label (no URL: a name must not carry a path or token).
func (v *validator) nodeNames(p string, pr *Provider, nodes int) {
	if len(pr.NodeNames) == 0 {
		return
	}
	if len(pr.NodeNames) != nodes {
		v.addf(p+".node_names", "has %d names for %d base_urls: give one per base URL", len(pr.NodeNames), nodes)
		return
	}
	seen := make(map[string]bool, len(pr.NodeNames))
	for j, n := range pr.NodeNames {
		np := fmt.Sprintf("%s.node_names[%d]", p, j)
		switch {
		case n == "":
			v.add(np, "is empty: name every node, or none")
		case len(n) > 64 || strings.ContainsAny(n, "/?#@ \t\r\n"):
			v.addf(np, "%q is not a node name: at most 64 characters, without '/', '?', '#', '@' or spaces", n)
		case seen[n]:
			v.addf(np, "%q is used twice: node names must be unique", n)
		}
		seen[n] = true
	}
}

// atLeastOne checks a count whose zero means its default.
func (v *validator) atLeastOne(path string, n int) {
	if n < 0 {
		v.addf(path, "%d must be at least 1", n)
	}
}

func (v *validator) routeResilience(p string, r *Route) {
	v.nonNegative(p+".timeouts.response_header", r.Timeouts.ResponseHeader)
	v.nonNegative(p+".timeouts.stream_idle", r.Timeouts.StreamIdle)
	v.nonNegative(p+".timeouts.total", r.Timeouts.Total)

	weighted, canaries, primaries := false, 0, 0
	for j, t := range r.Targets {
		tp := fmt.Sprintf("%s.targets[%d]", p, j)
		switch {
		case t.Weight < 0:
			v.addf(tp+".weight", "%d must not be negative", t.Weight)
		case t.Weight > 0:
			weighted = true
		}
		if t.Canary {
			canaries++
			if t.Weight <= 0 {
				v.add(tp+".canary", "needs a weight: a canary gets the share of first choices its weight gives it")
			}
		} else if t.Weight > 0 {
			primaries++
		}
	}
	if canaries > 0 && primaries == 0 {
		v.add(p+".targets", ": a route with a canary needs a target that is not one, with a weight, to compare it with")
	}
	switch s := r.Sticky; {
	case s == "":
	case s != "key" && !strings.HasPrefix(s, "header:"):
		v.addf(p+".sticky", `%q is unknown: use "key" or "header:NAME"`, s)
	case strings.HasPrefix(s, "header:") && !validHeaderName(strings.TrimPrefix(s, "header:")):
		v.addf(p+".sticky", "%q does not name a valid header", s)
	case !weighted:
		v.add(p+".sticky", "is set but no target has a weight: there is no split to keep sticky")
	}

	g := r.Canary
	gp := p + ".canary"
	v.nonNegative(gp+".window", g.Window)
	v.atLeastOne(gp+".min_requests", g.MinRequests)
	v.share(gp+".max_error_rate", g.MaxErrorRate)
	if !(g.MaxLatencyRatio >= 1 || g.MaxLatencyRatio == 0) { // also catches NaN
		v.addf(gp+".max_latency_ratio", "%g must be at least 1", g.MaxLatencyRatio)
	}
}

// routeShadow checks a route's shadow target.
func (v *validator) routeShadow(p string, s RouteShadow, defined map[string]bool) {
	if s.Provider == "" {
		if s.Model != "" || s.Sample != 0 {
			v.add(p+".provider", "is required when model or sample is set")
		}
		return
	}
	if !defined[s.Provider] {
		v.addf(p+".provider", "%q is not defined", s.Provider)
	}
	v.share(p+".sample", s.Sample)
}

// shadowQueue checks the top-level shadow settings. Zero means the
// default, as everywhere.
func (v *validator) shadowQueue(s Shadow) {
	for _, f := range []struct {
		path string
		n    int
	}{{"shadow.queue", s.Queue}, {"shadow.workers", s.Workers}, {"shadow.keep", s.Keep}} {
		if f.n < 0 {
			v.addf(f.path, "%d must not be negative", f.n)
		}
	}
	if s.Workers > 64 {
		v.addf("shadow.workers", "%d is too many: at most 64 concurrent shadow calls", s.Workers)
	}
	v.nonNegative("shadow.timeout", s.Timeout)
}
