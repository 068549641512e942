// Package upstream keeps the per-node state of one provider: a circuit
// breaker, a TTFB average and an in-flight count per node (base URL), the
// node-selection policies, the provider's bulkhead and retry budget, and
// active health checks.
//
// It decides and counts; it does no I/O of its own (health probes are
// the caller's function) and does not log: transitions are reported through
// a hook. Time and randomness are injected so tests drive breakers, budgets
// and exploration with a fake clock and a seeded source.
package upstream

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

// MaxNodes bounds a pool: Pick's exclude set is a 64-bit mask.
const MaxNodes = 64

// explore is the share of least_latency picks that go to a random other
// node, so that a node which recovered is measured again.
const explore = 0.05

// PoolOptions configure a Pool. Zero fields of Breaker, Retry and Bulkhead
// take the config defaults.
type PoolOptions struct {
	Provider string   // name, for errors and snapshots
	Labels   []string // one per node (the host), 1 to MaxNodes
	Policy   string   // config.PolicyPriority (""), PolicyWeighted, PolicyLeastLatency or PolicyLeastInflight
	Weights  []int    // weighted: one per node, >= 0 (nil: equal)
	Breaker  config.Breaker
	Retry    config.Retry
	Bulkhead config.Bulkhead
	Now      func() time.Time // nil: time.Now
	Rand     func() float64   // in [0,1); nil: math/rand/v2. Weighted picks, exploration, jitter
	// After is the timer for bulkhead queue timeouts and health-check
	// intervals; nil: time.After (whose timers are collected unfired since
	// Go 1.23, so an abandoned wait leaks nothing).
	After func(time.Duration) <-chan time.Time
	// OnBreaker, when set, is called on every breaker transition, under
	// that breaker's lock (so transitions arrive in order): log and count,
	// do not call back into the pool.
	OnBreaker func(node string, from, to State)
	// NodeDown is how long MarkDown skips a node that refused a
	// connection (timeouts.node_down); 0: no marks.
	NodeDown time.Duration
}

type policy uint8

const (
	priority policy = iota
	weighted
	leastLatency
	leastInflight
)

// Pool is one provider's nodes with their breakers, latency and in-flight
// counts, the node policy, the provider's bulkhead and its retry budget.
// All methods are safe for concurrent use.
type Pool struct {
	provider   string
	policyName string
	policy     policy
	nodes      []*Node
	weights    []int
	now        func() time.Time
	rand       func() float64
	after      func(time.Duration) <-chan time.Time

	retry  config.Retry
	budget budget
	bulk   bulkhead

	panicAt      float64 // breaker.panic_threshold; 0: fail fast
	panics       atomic.Uint64
	lastPanicLog atomic.Int64           // unix ns of the last PanicNews yes
	lastErr      atomic.Pointer[string] // the last attempt failure's reason

	marks marks // node-down and cool-down marks (marks.go)
}

// NewPool validates o and builds its pool; every node starts closed, with
// unknown health and no latency sample.
func NewPool(o PoolOptions) (*Pool, error) {
	if len(o.Labels) == 0 || len(o.Labels) > MaxNodes {
		return nil, fmt.Errorf("upstream %s: %d nodes, want 1 to %d", o.Provider, len(o.Labels), MaxNodes)
	}
	p := &Pool{provider: o.Provider, now: o.Now, rand: o.Rand, after: o.After}
	if p.now == nil {
		p.now = time.Now
	}
	if p.rand == nil {
		p.rand = rand.Float64
	}
	if p.after == nil {
		p.after = time.After
	}
	c := config.Config{Providers: []config.Provider{{Policy: o.Policy, Breaker: o.Breaker, Retry: o.Retry, Bulkhead: o.Bulkhead}}}
	c.ApplyDefaults()
	cp := c.Providers[0]
	p.policyName = cp.Policy
	switch cp.Policy {
	case config.PolicyPriority:
		p.policy = priority
	case config.PolicyWeighted:
		p.policy = weighted
	case config.PolicyLeastLatency:
		p.policy = leastLatency
	case config.PolicyLeastInflight:
		p.policy = leastInflight
	default:
		return nil, fmt.Errorf("upstream %s: unknown policy %q", o.Provider, o.Policy)
	}
	p.weights = make([]int, len(o.Labels))
	switch {
	case o.Weights == nil:
		for i := range p.weights {
			p.weights[i] = 1
		}
	case len(o.Weights) != len(o.Labels):
		return nil, fmt.Errorf("upstream %s: %d weights for %d nodes", o.Provider, len(o.Weights), len(o.Labels))
	default:
		for i, w := range o.Weights {
			if w < 0 {
				return nil, fmt.Errorf("upstream %s: node %d weight %d is negative", o.Provider, i, w)
			}
		}
		copy(p.weights, o.Weights)
	}
	if err := validDurations(cp.Retry, cp.Bulkhead); err != nil {
		return nil, fmt.Errorf("upstream %s: %w", o.Provider, err)
	}
	p.retry = cp.Retry
	p.panicAt = cp.Breaker.Panic()
	p.budget.init(cp.Retry)
	p.bulk.init(cp.Bulkhead)
	p.nodes = make([]*Node, len(o.Labels))
	p.marks = marks{until: make([]atomic.Int64, len(o.Labels)), nodeDown: o.NodeDown}
	for i, label := range o.Labels {
		n := &Node{index: i, label: label, breaker: NewBreaker(cp.Breaker, p.now)}
		if o.OnBreaker != nil {
			hook := o.OnBreaker
			n.breaker.onChange = func(from, to State) { hook(label, from, to) }
		}
		p.nodes[i] = n
	}
	return p, nil
}

func validDurations(r config.Retry, b config.Bulkhead) error {
	var errs []error
	if r.BaseDelay < 0 || r.MaxDelay < 0 || r.BudgetWindow < 0 || r.Budget < 0 || r.MinRetries < 0 {
		errs = append(errs, errors.New("negative retry setting"))
	}
	if b.MaxInflight < 0 || b.Queue < 0 || b.QueueTimeout < 0 {
		errs = append(errs, errors.New("negative bulkhead setting"))
	}
	return errors.Join(errs...)
}

// Provider is the pool's provider name.
func (p *Pool) Provider() string { return p.provider }

// Len is the number of nodes.
func (p *Pool) Len() int { return len(p.nodes) }

// Node is node i, 0 <= i < Len().
func (p *Pool) Node(i int) *Node { return p.nodes[i] }

// Pick chooses a node by the pool's policy among the nodes that are
// available (breaker admits a request, health check not failing) and not
// in exclude (bit i set: node i was already tried for this request). It
// returns ok=false when no such node exists; the caller then falls back to
// its next target.
//
// When the pool is in panic (fewer than panic_threshold of its nodes
// available, but some), the choice is among every node not in exclude,
// as Envoy's healthy_panic_threshold does: see Choose.
//
// Picking a half-open node reserves its only probe slot, so the caller
// must Start the node it got and finish the attempt.
func (p *Pool) Pick(exclude uint64) (n *Node, ok bool) {
	n, _, ok = p.Choose(exclude, false)
	return n, ok
}

// pickAvailable is Pick without panic routing; avail is the pool's
// availableMask, taken by the caller.
func (p *Pool) pickAvailable(exclude, avail uint64) (n *Node, ok bool) {
	// A lost race for a probe slot excludes that node and chooses again,
	// so the loop runs at most once per node.
	for range p.nodes {
		cand := avail &^ exclude
		if cand == 0 {
			return nil, false
		}
		n := p.nodes[p.choose(cand)]
		if n.breaker.Allow() {
			return n, true
		}
		exclude |= 1 << uint(n.index)
		avail = p.availableMask()
	}
	return nil, false
}

// choose applies the policy to the non-empty set avail.
func (p *Pool) choose(avail uint64) int {
	switch p.policy {
	case weighted:
		return p.chooseWeighted(avail)
	case leastLatency:
		return p.chooseLeastLatency(avail)
	case leastInflight:
		best, bestN := -1, int64(0)
		for m := avail; m != 0; m &= m - 1 {
			i := bits.TrailingZeros64(m)
			if v := p.nodes[i].inflight.Load(); best < 0 || v < bestN {
				best, bestN = i, v
			}
		}
		return best
	}
	return bits.TrailingZeros64(avail)
}

// chooseWeighted picks at random by weight. When every available node has
// weight 0 (the weighted ones are down) the first available serves, as a
// backup rather than no answer at all.
func (p *Pool) chooseWeighted(avail uint64) int {
	total := 0
	for m := avail; m != 0; m &= m - 1 {
		total += p.weights[bits.TrailingZeros64(m)]
	}
	if total == 0 {
		return bits.TrailingZeros64(avail)
	}
	x := int(p.rand() * float64(total))
	last := 0
	for m := avail; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		if w := p.weights[i]; w > 0 {
			if x < w {
				return i
			}
			x -= w
			last = i
		}
	}
	return last // rand() == 1 or rounding
}

// chooseLeastLatency picks the lowest average (a node without one first;
// ties by order), except that with probability explore it picks a random
// other available node.
func (p *Pool) chooseLeastLatency(avail uint64) int {
	best, bestV := -1, 0.0
	for m := avail; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		if v := p.nodes[i].latencyKey(); best < 0 || v < bestV {
			best, bestV = i, v
		}
	}
	others := avail &^ (1 << uint(best))
	if others == 0 || p.rand() >= explore {
		return best
	}
	k := int(p.rand() * float64(bits.OnesCount64(others)))
	for m := others; m != 0; m &= m - 1 {
		if k <= 0 || m&(m-1) == 0 {
			return bits.TrailingZeros64(m)
		}
		k--
	}
	return best
}
