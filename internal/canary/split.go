// Package canary splits a route's traffic between its targets by weight,
// optionally sticky per key, and guards canary targets: when a canary's
// error rate or p95 latency over a window is clearly worse than the other
// targets', its weight drops to 0 (an automatic rollback).
//
// It decides and counts; it does no I/O and does not log: rollbacks are
// reported through a hook and remembered for the snapshot. Time and
// randomness are injected so tests run on a fake clock.
package canary

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zeebo/xxh3"

	"github.com/ferrygw/ferry/internal/config"
)

// Target is one of a route's targets.
type Target struct {
	Name   string // "provider" or "provider/model", for logs and snapshots
	Weight int    // configured share of first choices, >= 0
	Canary bool   // guarded by the route's canary thresholds
}

// Options configure a Split. Zero fields of Guard take the config defaults.
type Options struct {
	Route   string
	Targets []Target
	Guard   config.CanaryGuard
	Now     func() time.Time // nil: time.Now
	Rand    func() float64   // in [0,1); nil: math/rand/v2
	// OnRollback, when set, is called once per automatic rollback, after
	// the weight has changed and outside the split's lock.
	OnRollback func(target string, reason string)
}

// Event actions.
const (
	ActionRollback     = "rollback"
	ActionPromote      = "promote"
	ActionAutoRollback = "auto_rollback"
)

// Event is the last weight change of a split.
type Event struct {
	Time   time.Time `json:"time"`
	Action string    `json:"action"`           // rollback | promote | auto_rollback
	Target string    `json:"target,omitempty"` // the canary an auto_rollback removed
	Reason string    `json:"reason,omitempty"`
}

// table is an immutable set of current weights, swapped whole on a change
// so that Order reads it without a lock.
type table struct {
	weights []int
	cum     []uint64 // cum[i]: the sum of weights[0..i]
	total   uint64
}

func newTable(weights []int) *table {
	t := &table{weights: weights, cum: make([]uint64, len(weights))}
	for i, w := range weights {
		t.total += uint64(w)
		t.cum[i] = t.total
	}
	return t
}

// Split is one route's weighted split with its canary guard. It is safe
// for concurrent use.
type Split struct {
	route      string
	targets    []Target // as configured
	hasCanary  bool
	guard      config.CanaryGuard
	now        func() time.Time
	rand       func() float64
	onRollback func(target, reason string)

	table atomic.Pointer[table]

	mu       sync.Mutex
	stats    []window // per target, first choices only
	promoted bool     // the guard is off once the canary is promoted
	last     *Event
}

// New validates o and builds its split with the configured weights.
func New(o Options) (*Split, error) {
	if len(o.Targets) == 0 {
		return nil, fmt.Errorf("canary %s: no targets", o.Route)
	}
	c := config.Config{Routes: []config.Route{{Canary: o.Guard}}}
	c.ApplyDefaults()
	g := c.Routes[0].Canary
	if g.Window < 0 || g.MinRequests < 0 || g.MaxErrorRate < 0 || g.MaxLatencyRatio < 0 {
		return nil, fmt.Errorf("canary %s: negative guard setting", o.Route)
	}
	s := &Split{
		route:      o.Route,
		targets:    append([]Target(nil), o.Targets...),
		guard:      g,
		now:        o.Now,
		rand:       o.Rand,
		onRollback: o.OnRollback,
		stats:      make([]window, len(o.Targets)),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Float64
	}
	weights := make([]int, len(o.Targets))
	for i, t := range o.Targets {
		if t.Weight < 0 {
			return nil, fmt.Errorf("canary %s: target %s weight %d is negative", o.Route, t.Name, t.Weight)
		}
		weights[i] = t.Weight
		s.hasCanary = s.hasCanary || t.Canary
		s.stats[i].init(g.Window)
	}
	s.table.Store(newTable(weights))
	return s, nil
}

// Weighted reports whether any target has a weight now. Without one, Order
// is the config order and Record does nothing.
func (s *Split) Weighted() bool { return s.table.Load().total > 0 }

// Order appends to dst[:0] the target indexes in the order to try them:
// first the weighted pick, then the other targets in config order (the
// fallback chain). A weight-0 target is never first but stays in the
// chain.
//
// With a stickyKey the pick is a stable hash of the key mapped into the
// cumulative weights, so a key keeps its target while the weights stay
// the same, across restarts and gateway instances alike.
func (s *Split) Order(stickyKey string, dst []int) []int {
	t := s.table.Load()
	dst = dst[:0]
	first := 0
	if t.total > 0 {
		var x uint64
		if stickyKey != "" {
			x, _ = bits.Mul64(hashKey(stickyKey), t.total)
		} else {
			x = min(uint64(s.rand()*float64(t.total)), t.total-1)
		}
		for i, c := range t.cum {
			if x < c {
				first = i
				break
			}
		}
	}
	dst = append(dst, first)
	for i := range t.weights {
		if i != first {
			dst = append(dst, i)
		}
	}
	return dst
}

// hashKey is XXH3 of the key. It is deliberately not hash/maphash, whose
// per-process seed would move every sticky key on each restart and differ
// between gateway instances; XXH3 is seedless here, fast (a gateway key
// hashes in nanoseconds) and mixes well into the high bits that Order's
// multiply uses.
func hashKey(s string) uint64 { return xxh3.HashString(s) }

var errNoCanary = errors.New("route has no canary target")

// Promote gives the canary targets all the weight (their configured
// weights, or equal shares where none is configured) and the others 0; the
// guard is off from then on.
func (s *Split) Promote() error {
	return s.reweigh(ActionPromote, func(t Target) int {
		if t.Canary {
			return max(t.Weight, 1)
		}
		return 0
	})
}

// Rollback sets the canary targets' weight to 0 and restores the others'
// configured weights.
func (s *Split) Rollback() error {
	return s.reweigh(ActionRollback, func(t Target) int {
		if t.Canary {
			return 0
		}
		return t.Weight
	})
}

// reweigh gives every target weight(t), by hand (action is promote or
// rollback), and records the event.
func (s *Split) reweigh(action string, weight func(Target) int) error {
	if !s.hasCanary {
		return fmt.Errorf("canary %s: %s: %w", s.route, action, errNoCanary)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := make([]int, len(s.targets))
	for i, t := range s.targets {
		w[i] = weight(t)
	}
	s.table.Store(newTable(w))
	s.promoted = action == ActionPromote
	s.last = &Event{Time: s.now(), Action: action}
	return nil
}

// CarryFrom gives s the runtime weights of prev (promoted, rolled back or
// with a canary removed by the guard), its promoted state and last event,
// when prev has the same targets, configured weights and canary flags: a
// hot reload that leaves a route's split unchanged keeps its state. It
// reports whether it did; otherwise s keeps its configured weights. The
// guard's windows start afresh either way.
func (s *Split) CarryFrom(prev *Split) bool {
	if prev == nil || prev == s || !slices.Equal(prev.targets, s.targets) {
		return false
	}
	prev.mu.Lock()
	t := prev.table.Load()
	promoted := prev.promoted
	var last *Event
	if prev.last != nil {
		e := *prev.last
		last = &e
	}
	prev.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.table.Store(newTable(slices.Clone(t.weights)))
	s.promoted = promoted
	s.last = last
	return true
}

// Weights are the current weights, in target order.
func (s *Split) Weights() []int { return slices.Clone(s.table.Load().weights) }
