package upstream

// Node marks: short "skip this node for now" preferences, kept beside the
// breakers they complement. A refused connection is news about the
// present that a breaker, counting several failures, would take several
// requests to act on; a 429's retry-after is the vendor saying when it
// will take requests again. A mark is a preference, not a verdict: a
// marked node is still called when no other is left.

import (
	"sync/atomic"
	"time"
)

// MaxCoolDown bounds a 429's cool-down: a vendor's "retry after an hour"
// must not take a node out of rotation for that long on one answer.
const MaxCoolDown = time.Minute

// marks holds one "skip until" time per node (unix ns; 0: none) and the
// latest of them, a fast "none is marked".
type marks struct {
	until    []atomic.Int64
	latest   atomic.Int64
	nodeDown time.Duration // PoolOptions.NodeDown
}

// MarkDown skips node i for the pool's node_down, after it refused a
// connection. A zero node_down marks nothing.
func (p *Pool) MarkDown(i int) {
	if p.marks.nodeDown <= 0 || i < 0 || i >= len(p.marks.until) {
		return
	}
	p.marks.set(i, p.now().Add(p.marks.nodeDown).UnixNano())
}

// CoolDown skips node i, when another node can serve, until its 429's
// retry-after d (at most MaxCoolDown) has passed. A longer mark stays.
func (p *Pool) CoolDown(i int, d time.Duration) {
	if d <= 0 || i < 0 || i >= len(p.marks.until) {
		return
	}
	until := p.now().Add(min(d, MaxCoolDown)).UnixNano()
	if p.marks.until[i].Load() >= until {
		return
	}
	p.marks.set(i, until)
}

// MarkUp clears node i's mark: it answered.
func (p *Pool) MarkUp(i int) {
	if i >= 0 && i < len(p.marks.until) && p.marks.until[i].Load() != 0 {
		p.marks.until[i].Store(0)
	}
}

// Marked is the set of nodes marked now, as a Pick exclude mask.
func (p *Pool) Marked() uint64 {
	t := p.now().UnixNano()
	if p.marks.latest.Load() <= t {
		return 0
	}
	var set uint64
	for i := range p.marks.until {
		if p.marks.until[i].Load() > t {
			set |= 1 << i
		}
	}
	return set
}

func (m *marks) set(i int, until int64) {
	m.until[i].Store(until)
	for {
		cur := m.latest.Load()
		if cur >= until || m.latest.CompareAndSwap(cur, until) {
			return
		}
	}
}
