package relay

// Building a Relay: one node pool per provider, one split per weighted
// route, their hooks wired to metrics and the log.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferrygw/ferry/internal/canary"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/metrics"
	"github.com/ferrygw/ferry/internal/routing"
	"github.com/ferrygw/ferry/internal/shadow"
	"github.com/ferrygw/ferry/internal/tracing"
	"github.com/ferrygw/ferry/internal/upstream"
)

// Options configure a Relay.
type Options struct {
	// Routes and Providers are the validated, defaulted config: routes map
	// models to targets, providers carry their timeouts and resilience
	// settings. Every provider a route names must be in both Providers and
	// Impl.
	Routes    []config.Route
	Providers []config.Provider
	Impl      map[string]Provider
	Metrics   *metrics.Metrics // nil: a private registry
	Tracer    *tracing.Tracer  // nil: no spans
	Logger    *slog.Logger     // nil: discard
	// Now, Rand and Sleep are injected by tests: the clock of breakers,
	// budgets and canaries, their randomness (jitter, weighted picks), and
	// the backoff wait, which must return early with ctx's error when ctx
	// ends. Nil: time.Now, math/rand/v2, a timer.
	Now   func() time.Time
	Rand  func() float64
	Sleep func(ctx context.Context, d time.Duration) error
	// Mirror runs shadow traffic for routes with a shadow; nil: none.
	Mirror *shadow.Mirror
	// MaxAnswerBytes bounds a whole (non-streaming) answer held in memory
	// (0: 64 MiB); a longer one is cut and is a 502.
	MaxAnswerBytes int64
	// Previous is the relay a hot reload replaces (nil: none): a provider
	// whose config and implementation are unchanged keeps its pool, and so
	// its breakers, bulkhead and latency figures.
	Previous *Relay
}

// backend is one provider with its pool and settings.
type backend struct {
	name        string
	p           Provider
	pool        *upstream.Pool
	t           config.Timeouts
	maxAttempts int
	health      config.HealthCheck
	ttfb        []prometheus.Gauge // per node
	successes   prometheus.Counter // attempts{provider, success}: the common case, resolved once
	// The provider's parameter policy and forward_headers (canonical);
	// a target's own add to them (policy.go).
	params  config.Params
	forward []string
	cfg     config.Provider // what the backend was built from, for Previous
}

// route is a config route's runtime state.
type route struct {
	match        string
	split        *canary.Split // nil: no weights, targets in config order
	firstByte    time.Duration // overrides of the providers' timeouts; 0: theirs
	idle         time.Duration
	total        time.Duration
	stickyKey    bool         // sticky: key
	stickyHeader string       // sticky: header:NAME, canonical
	shadow       *routeShadow // nil: no shadow traffic
}

// New builds a Relay and the pools and splits it runs on.
func New(o Options) (*Relay, error) {
	table, err := routing.New(o.Routes)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	r := &Relay{
		table:    table,
		routes:   make(map[string]*route, len(o.Routes)),
		backends: make(map[string]*backend, len(o.Providers)),
		m:        o.Metrics,
		log:      o.Logger,
		now:      o.Now,
		sleep:    o.Sleep,
		shadow:   o.Mirror,
		maxWhole: o.MaxAnswerBytes,
		tracer:   o.Tracer,
	}
	if r.maxWhole <= 0 {
		r.maxWhole = defaultMaxAnswer
	}
	if r.m == nil {
		r.m = metrics.New()
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.sleep == nil {
		r.sleep = sleepTimer
	}
	for _, pc := range o.Providers {
		p := o.Impl[pc.Name]
		if p == nil {
			return nil, fmt.Errorf("relay: provider %q has no implementation", pc.Name)
		}
		b, err := r.newBackend(pc, p, o)
		if err != nil {
			return nil, err
		}
		r.backends[pc.Name] = b
		r.pools = append(r.pools, b.pool)
	}
	for _, rc := range o.Routes {
		for _, t := range rc.Targets {
			if r.backends[t.Provider] == nil {
				return nil, fmt.Errorf("relay: route %q: provider %q is not defined", rc.Match, t.Provider)
			}
		}
		for _, w := range rc.When {
			for _, t := range w.Targets {
				if r.backends[t.Provider] == nil {
					return nil, fmt.Errorf("relay: route %q: rule target provider %q is not defined", rc.Match, t.Provider)
				}
			}
		}
		rt, err := r.newRoute(rc, o)
		if err != nil {
			return nil, err
		}
		r.routes[rc.Match] = rt
		if rt.split != nil {
			r.splits = append(r.splits, rt.split)
		}
	}
	return r, nil
}

func (r *Relay) newBackend(pc config.Provider, p Provider, o Options) (*backend, error) {
	labels := p.Nodes()
	b := &backend{
		name:        pc.Name,
		p:           p,
		t:           pc.Timeouts,
		maxAttempts: max(pc.Retry.MaxAttempts, 1),
		health:      pc.HealthCheck,
		successes:   r.m.Attempts.WithLabelValues(pc.Name, outcomeSuccess),
		params:      pc.Params,
		cfg:         pc,
	}
	for _, h := range pc.ForwardHeaders {
		b.forward = append(b.forward, http.CanonicalHeaderKey(h))
	}
	if pc.Retry.MaxAttempts == 0 {
		b.maxAttempts = 3 // the config default, for a Config built without defaults
	}
	for _, l := range labels {
		b.ttfb = append(b.ttfb, r.m.NodeTTFB.WithLabelValues(pc.Name, l))
	}
	if old := o.Previous.backend(pc.Name); old != nil && old.p == p && reflect.DeepEqual(old.cfg, pc) {
		b.pool = old.pool // its breakers keep their state, and their gauges
		return b, nil
	}
	for _, l := range labels {
		r.m.BreakerState.WithLabelValues(pc.Name, l).Set(metrics.BreakerClosed)
	}
	pool, err := upstream.NewPool(upstream.PoolOptions{
		Provider:  pc.Name,
		Labels:    labels,
		Policy:    pc.Policy,
		Weights:   pc.NodeWeights,
		Breaker:   pc.Breaker,
		Retry:     pc.Retry,
		Bulkhead:  pc.Bulkhead,
		Now:       o.Now,
		Rand:      o.Rand,
		NodeDown:  pc.Timeouts.NodeDown,
		OnBreaker: r.onBreaker(pc.Name),
	})
	if err != nil {
		return nil, fmt.Errorf("relay: provider %s: %w", pc.Name, err)
	}
	b.pool = pool
	return b, nil
}

// onBreaker reports the provider's breaker transitions: gauge, counter, log.
func (r *Relay) onBreaker(provider string) func(node string, from, to upstream.State) {
	return func(node string, from, to upstream.State) {
		r.m.BreakerState.WithLabelValues(provider, node).Set(breakerValue(to))
		r.m.BreakerTransitions.WithLabelValues(provider, node, to.String()).Inc()
		level := slog.LevelInfo
		if to == upstream.Open {
			level = slog.LevelWarn
		}
		r.log.LogAttrs(context.Background(), level, "circuit breaker",
			slog.String("provider", provider), slog.String("node", node),
			slog.String("from", from.String()), slog.String("to", to.String()))
	}
}

func breakerValue(s upstream.State) float64 {
	switch s {
	case upstream.Open:
		return metrics.BreakerOpen
	case upstream.HalfOpen:
		return metrics.BreakerHalfOpen
	}
	return metrics.BreakerClosed
}

func (r *Relay) newRoute(rc config.Route, o Options) (*route, error) {
	rt := &route{
		match:     rc.Match,
		firstByte: rc.Timeouts.ResponseHeader,
		idle:      rc.Timeouts.StreamIdle,
		total:     rc.Timeouts.Total,
		shadow:    r.shadowTarget(rc),
	}
	switch s := rc.Sticky; {
	case s == "key":
		rt.stickyKey = true
	case strings.HasPrefix(s, "header:"):
		rt.stickyHeader = http.CanonicalHeaderKey(strings.TrimPrefix(s, "header:"))
	}
	weighted := false
	targets := make([]canary.Target, len(rc.Targets))
	for i, t := range rc.Targets {
		name := t.Provider
		if t.Model != "" {
			name += "/" + t.Model
		}
		targets[i] = canary.Target{Name: name, Weight: t.Weight, Canary: t.Canary}
		weighted = weighted || t.Weight > 0
	}
	if !weighted {
		// Config order, always: no split to keep, nothing to guard.
		return rt, nil
	}
	split, err := canary.New(canary.Options{
		Route:      rc.Match,
		Targets:    targets,
		Guard:      rc.Canary,
		Now:        o.Now,
		Rand:       o.Rand,
		OnRollback: r.onRollback(rc.Match),
	})
	if err != nil {
		return nil, fmt.Errorf("relay: route %q: %w", rc.Match, err)
	}
	rt.split = split
	// A hot reload that leaves the route's targets and weights as they
	// were keeps the split's runtime weights (promoted, rolled back);
	// otherwise the split starts from its configured weights.
	if prev, ok := o.Previous.Split(rc.Match); ok {
		split.CarryFrom(prev)
	}
	for i, w := range split.Weights() {
		r.m.CanaryWeight.WithLabelValues(rc.Match, targets[i].Name).Set(float64(w))
	}
	return rt, nil
}

// onRollback reports a canary rollback on the route: counter, weight, log.
func (r *Relay) onRollback(route string) func(target, reason string) {
	return func(target, reason string) {
		r.m.CanaryRollbacks.WithLabelValues(route, target).Inc()
		r.m.CanaryWeight.WithLabelValues(route, target).Set(0)
		r.log.Warn("canary rolled back", slog.String("route", route), slog.String("target", target), slog.String("reason", reason))
	}
}

// Models lists the model names to advertise in /v1/models.
func (r *Relay) Models() []string { return r.table.Models() }

// Pools are the providers' node pools, in config order (for the admin API).
func (r *Relay) Pools() []*upstream.Pool { return r.pools }

// Splits are the weighted routes' splits, in config order (for the admin
// API).
func (r *Relay) Splits() []*canary.Split { return r.splits }

// Split returns the split of the route whose match is match.
func (r *Relay) Split(match string) (*canary.Split, bool) {
	if r == nil {
		return nil, false
	}
	rt, ok := r.routes[match]
	if !ok || rt.split == nil {
		return nil, false
	}
	return rt.split, true
}

// HasRoute reports whether a route's match is match.
func (r *Relay) HasRoute(match string) bool { return r.routes[match] != nil }

// RunHealthChecks probes the nodes of every provider whose health_check
// has an interval and which can be probed, until ctx ends; it returns when
// every check has stopped.
func (r *Relay) RunHealthChecks(ctx context.Context) {
	var wg sync.WaitGroup
	for _, pool := range r.pools {
		b := r.backends[pool.Provider()]
		pr, ok := b.p.(Prober)
		if b.health.Interval <= 0 || !ok {
			continue
		}
		wg.Go(func() {
			b.pool.RunHealthChecks(ctx, b.health.Interval, b.health.Timeout, func(pctx context.Context, node int) error {
				err := pr.Probe(pctx, node)
				// Logged on a change only: a check runs every interval.
				n := b.pool.Node(node)
				switch failing := n.Health() == upstream.HealthFailing; {
				case ctx.Err() != nil: // shutting down
				case err != nil && !failing:
					r.log.Warn("health check failed", slog.String("provider", b.name), slog.String("node", n.Label()), slog.Any("error", err))
				case err == nil && failing:
					r.log.Info("health check passed again", slog.String("provider", b.name), slog.String("node", n.Label()))
				}
				return err
			})
		})
	}
	wg.Wait()
}

// sleepTimer waits for d, or until ctx ends.
func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// backend is the named provider's backend of r; nil when r is nil or has
// none.
func (r *Relay) backend(name string) *backend {
	if r == nil {
		return nil
	}
	return r.backends[name]
}
