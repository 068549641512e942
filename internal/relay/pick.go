package relay

// Choosing a node for an attempt, with panic routing and the short
// cool-downs of nodes that refused a connection or answered 429.

import (
	"context"
	"log/slog"
	"time"

	"github.com/ferrygw/ferry/internal/upstream"
)

// pick chooses the next node, preferring nodes not tried yet and not
// marked down: then a node marked down but not tried (a mark is a guess
// about the present, worth a try before giving up); then, when every node
// was tried, any available one. untried reports a node new to this
// request. force is route-level panic: no target of the route has an
// available node, so an unavailable one is called rather than none
// (upstream.Pool.Choose); panicked reports a node chosen in panic.
func (b *backend) pick(tried uint64, force bool) (n *upstream.Node, untried, panicked, ok bool) {
	down := b.pool.Marked()
	if tried != 0 {
		// A retry: a healthy node not tried yet before any panic choice.
		if n, ok = b.pool.PickAvailable(tried | down); ok {
			return n, true, false, true
		}
	}
	if n, panicked, ok = b.pool.Choose(tried|down, false); ok {
		return n, true, panicked, true
	}
	if down&^tried != 0 {
		if n, panicked, ok = b.pool.Choose(tried, false); ok {
			return n, true, panicked, true
		}
	}
	if tried != 0 {
		if n, panicked, ok = b.pool.Choose(0, false); ok {
			return n, false, panicked, true
		}
	}
	if force {
		if n, panicked, ok = b.pool.Choose(tried, true); ok {
			return n, true, panicked, true
		}
	}
	return nil, false, false, false
}

// panicked counts and logs a node chosen in panic. The log line is at
// most one per provider every panicLogEvery, so that an outage does not
// write one per request (the metric counts each).
func (r *Relay) panicked(ctx context.Context, b *backend, n *upstream.Node) {
	r.m.PanicRouting.WithLabelValues(b.name).Inc()
	if !b.pool.PanicNews(panicLogEvery) {
		return
	}
	r.log.LogAttrs(ctx, slog.LevelWarn, "panic routing: calling nodes whose breakers are open",
		slog.String("provider", b.name), slog.String("node", n.Label()),
		slog.Float64("panic_threshold", b.pool.PanicThreshold()),
		slog.String("last_failure", b.pool.LastFailure()))
}

// panicLogEvery spaces the panic-routing log lines of one provider.
const panicLogEvery = 10 * time.Second
