package upstream

// Panic routing, after Envoy's healthy_panic_threshold: breakers move
// traffic between nodes and targets, but they must never leave a route
// with nothing to call. A breaker is a guess about a node's health, made
// from a few answers; when the guesses say that most of a provider's nodes
// are down, the guesses are the likelier fault (a vendor's short burst of
// 5xx trips every node at once), and refusing every request turns a blip
// into an outage.

import (
	"math/bits"
	"time"
)

// Choose is Pick, reporting whether the node was chosen in panic.
//
// The pool is in panic when fewer than panic_threshold of its nodes are
// available but at least one is. Envoy then spreads the load over every
// node, a cliff: one node fewer sends most traffic to nodes known to fail.
// Here the rule is that an available node never carries more than it
// would at the threshold: with h of n nodes available and threshold t,
// the available nodes take the share h/(t·n) of first choices (by the
// pool's policy), and the rest goes at random (by node weight) to the
// unavailable nodes not in exclude. At the threshold that is no panic at
// all; with none available, all of it. With force (the caller's route has
// no available node anywhere), a pool with no available node chooses
// among every node not in exclude. A threshold of 0 turns both off: fail
// fast.
//
// A node chosen in panic whose breaker does not admit it is called
// without a probe reservation; its breaker ignores the result while open
// (Node.Start records against the open generation), so panic traffic
// neither holds an open breaker open nor closes it: probes still do.
func (p *Pool) Choose(exclude uint64, force bool) (n *Node, panicked, ok bool) {
	avail := p.availableMask()
	if p.panicAt <= 0 {
		n, ok = p.pickAvailable(exclude, avail)
		return n, false, ok
	}
	healthy := bits.OnesCount64(avail)
	atThreshold := p.panicAt * float64(len(p.nodes))
	inPanic := float64(healthy) < atThreshold
	if healthy > 0 && (!inPanic || p.rand() < float64(healthy)/atThreshold) {
		// An available node's share; in panic, when every available node
		// was tried, an unavailable one rather than none.
		if n, ok = p.pickAvailable(exclude, avail); ok || !inPanic {
			return n, false, ok
		}
	}
	if healthy == 0 && !force {
		return nil, false, false
	}
	all := uint64(1)<<uint(len(p.nodes)) - 1
	if len(p.nodes) == MaxNodes {
		all = ^uint64(0)
	}
	cand := all &^ avail &^ exclude
	if cand == 0 {
		// Every unavailable node was tried: the available ones, if any.
		n, ok = p.pickAvailable(exclude, avail)
		return n, false, ok
	}
	n = p.nodes[p.chooseWeighted(cand)]
	if n.available() {
		n.breaker.Allow() // turned available since: a probe slot when half-open; a lost race is fine here
	}
	p.panics.Add(1)
	return n, true, true
}

// PickAvailable is Pick without panic routing: only a node whose breaker
// admits it. A retry asks it first, so that a request that failed on a
// node chosen in panic pays for at most one such node when a healthy one
// is left.
func (p *Pool) PickAvailable(exclude uint64) (n *Node, ok bool) {
	return p.pickAvailable(exclude, p.availableMask())
}

// availableMask is the set of nodes Pick may choose, ignoring exclusions.
func (p *Pool) availableMask() uint64 {
	var avail uint64
	for i, n := range p.nodes {
		if n.available() {
			avail |= 1 << uint(i)
		}
	}
	return avail
}

// Panicking reports whether the pool is in panic now: some node is not
// available and fewer than panic_threshold are.
func (p *Pool) Panicking() bool {
	if p.panicAt <= 0 {
		return false
	}
	healthy := bits.OnesCount64(p.availableMask())
	return healthy < len(p.nodes) && float64(healthy) < p.panicAt*float64(len(p.nodes))
}

// PanicThreshold is the pool's panic threshold (0: fail fast).
func (p *Pool) PanicThreshold() float64 { return p.panicAt }

// Panics is the number of nodes chosen in panic since the pool started.
func (p *Pool) Panics() uint64 { return p.panics.Load() }

// NextProbe is the time until the first open breaker of the pool admits a
// probe again: the retry-after of a refusal because no node is available.
// 0 when no breaker is open.
func (p *Pool) NextProbe() time.Duration {
	now := p.now().UnixNano()
	var next int64
	for _, n := range p.nodes {
		if State(n.breaker.state.Load()) != Open {
			continue
		}
		if d := n.breaker.openUntil.Load() - now; d > 0 && (next == 0 || d < next) {
			next = d
		}
	}
	return time.Duration(next)
}

// NoteFailure remembers why an attempt on the pool failed last, for the
// message of a refusal and the admin API. reason must be a failure reason
// or upstream_<status>: never text from the upstream or a URL.
func (p *Pool) NoteFailure(reason string) {
	if cur := p.lastErr.Load(); cur == nil || *cur != reason {
		p.lastErr.Store(&reason)
	}
}

// LastFailure is the reason NoteFailure last noted; "" when none.
func (p *Pool) LastFailure() string {
	if s := p.lastErr.Load(); s != nil {
		return *s
	}
	return ""
}

// PanicNews reports whether a panic pick is news worth a log line: true
// at most once per every, per pool.
func (p *Pool) PanicNews(every time.Duration) bool {
	now := p.now().UnixNano()
	last := p.lastPanicLog.Load()
	return (last == 0 || now-last >= int64(every)) && p.lastPanicLog.CompareAndSwap(last, now)
}
