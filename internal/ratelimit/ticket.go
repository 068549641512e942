package ratelimit

import (
	"context"
	"time"
)

// Ticket is one request's admission: what it reserved and holds, to settle
// when it ends, and the state of its limits for the response headers. The
// zero Ticket (no rule applies) reports nothing and settles for free.
type Ticket struct {
	l      *Limiter
	st     storeID // the store that admitted it; none: nothing to settle
	n      int
	scopes [numScopes]applied
	mem    [numScopes]*memEntry // the memory store's entries, in scope order
	est    int64                // tokens reserved
	id     string               // Redis: the concurrency lease's member

	now      int64 // unix ms of the decision
	req, tok seen  // the tightest request and token buckets
}

// storeID names the store that admitted a ticket. (Not an interface: a
// call through one would make every Ticket escape to the heap.)
type storeID uint8

const (
	none storeID = iota
	inMemory
	inRedis
)

// Requests is the most restrictive requests-per-minute limit that applies,
// as it stands after this request; false when none applies.
func (t *Ticket) Requests() (Quota, bool) { return t.quota(t.req) }

// Tokens is the most restrictive tokens-per-minute limit that applies, as
// it stands after this request's reservation; false when none applies.
func (t *Ticket) Tokens() (Quota, bool) { return t.quota(t.tok) }

func (t *Ticket) quota(s seen) (Quota, bool) {
	if s.limit == 0 {
		return Quota{}, false
	}
	in := s.resetIn()
	return Quota{Limit: s.limit, Remaining: s.remaining(), Reset: time.UnixMilli(t.now + in), ResetIn: time.Duration(in) * time.Millisecond}, true
}

// Estimate is the number of tokens reserved at admission.
func (t *Ticket) Estimate() int64 { return t.est }

// SettleTimeout bounds a settlement's wait for the store.
const SettleTimeout = 2 * time.Second

// Settle ends the request: its token reservation becomes actual (the
// difference is refunded, or owed when the request used more) and its
// concurrency slots are released. It is idempotent, and a no-op for a
// refused request. It settles even when ctx is cancelled (the work
// happens after the response, when the client may be gone): only ctx's
// values are used, and the wait for the store is bounded by SettleTimeout.
// In memory nothing waits, and no context is derived.
func (t *Ticket) Settle(ctx context.Context, actual int64) {
	st := t.st
	t.st = none
	actual = min(max(actual, 0), maxTokens)
	switch st {
	case inMemory:
		t.l.mem.settle(t, actual)
	case inRedis:
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), SettleTimeout)
		defer cancel()
		if err := t.l.red.settle(ctx, t, actual); err != nil {
			t.l.storeError(err)
		}
	}
}

// record keeps a bucket's level for the headers if it is the tightest yet.
func (t *Ticket) record(level, limit int64, tokens bool) {
	t.recordSeen(seen{level: level, limit: limit}, tokens)
}

// recordSeen keeps s for the headers if it is the tightest yet.
func (t *Ticket) recordSeen(s seen, tokens bool) {
	cur := &t.req
	if tokens {
		cur = &t.tok
	}
	if cur.limit == 0 || s.tighter(*cur) {
		*cur = s
	}
}
