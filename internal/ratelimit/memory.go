package ratelimit

import (
	"sync"
	"time"
)

// sweepEvery is how often (by the limiter's clock) the memory store drops
// entries that are idle (windows empty, buckets full, nothing in flight or
// owed), which a new request would find the same as no entry: client IPs
// and tags come and go, and must not pile up.
const sweepEvery = time.Minute

// memory decides in this process. One mutex makes a decision over several
// scopes atomic; it is held for a few map lookups and some arithmetic.
type memory struct {
	now     func() time.Time
	mu      sync.Mutex
	m       [numScopes]map[string]*memEntry // by scope, then value: string-keyed maps hash fastest
	sweepAt int64                           // unix ms
	// fallback: this store stands in for Redis while it is down, and keeps
	// what it takes as debts to hand back (outage.go).
	fallback bool
}

// memEntry is one scope value's limits: token buckets for burst rules,
// sliding windows otherwise.
type memEntry struct {
	rule   *rule // the rule last applied, for the sweep
	r, t   bucket
	rw, tw window
	refs   int64 // unsettled tickets, which are the requests in flight
	// Under the Redis backend, what this instance took while Redis was
	// unreachable, to add to Redis's count when it answers again.
	debtR, debtT int64
}

func newMemory(now func() time.Time) *memory {
	m := &memory{now: now}
	for i := range m.m {
		m.m[i] = make(map[string]*memEntry)
	}
	return m
}

// shareOf is an instance's share of limit when n instances split it, never
// less than 1 (0 is no limit at all).
func shareOf(limit, n int64) int64 {
	if limit == 0 || n <= 1 {
		return limit
	}
	return max(limit/n, 1)
}

// admit decides for t, and takes from every limit when it admits. share is
// the number of instances the limits are split between: 1 for the memory
// backend; the live instances when Redis, the shared store, is down.
func (m *memory) admit(t *Ticket, share int64) denial {
	now := m.now().UnixMilli()
	m.mu.Lock()
	defer m.mu.Unlock()
	if now >= m.sweepAt {
		m.sweep(now)
	}
	var d denial
	for i := 0; i < t.n; i++ {
		a := &t.scopes[i]
		sm := m.m[a.rule.scope]
		e := sm[a.value]
		if e == nil {
			e = &memEntry{}
			sm[a.value] = e
		}
		e.rule = a.rule
		t.mem[i] = e
		r := a.rule
		if rpm := shareOf(r.rpm, share); rpm > 0 {
			d.consider(i, LimitRPM, e.waitRequests(now, rpm))
		}
		if tpm := shareOf(r.tpm, share); tpm > 0 && t.est > 0 {
			d.consider(i, LimitTPM, e.waitTokens(now, tpm, t.est))
		}
		if r.conc > 0 && e.refs >= shareOf(r.conc, share) {
			d.consider(i, LimitConcurrency, retryConcurrency.Milliseconds())
		}
	}
	for i := 0; i < t.n; i++ {
		e, r := t.mem[i], t.scopes[i].rule
		rpm, tpm := shareOf(r.rpm, share), shareOf(r.tpm, share)
		if d.wait == 0 {
			e.take(now, rpm, tpm, t.est)
			e.refs++
			if m.fallback {
				e.debtR++
				e.debtT += t.est
			}
		}
		if rpm > 0 {
			t.recordSeen(e.seen(now, rpm, false), false)
		}
		if tpm > 0 {
			t.recordSeen(e.seen(now, tpm, true), true)
		}
	}
	t.now = now
	if d.wait == 0 {
		t.st = inMemory
	} else {
		t.mem = [numScopes]*memEntry{}
	}
	return d
}

// waitRequests brings the requests limit up to now and says how long until
// it has room for one request.
func (e *memEntry) waitRequests(now, rpm int64) int64 {
	if e.rule.burst {
		e.r.refill(now, rpm)
		return e.r.wait(need(1, rpm), rpm)
	}
	e.rw.expire(now)
	return e.rw.wait(now, needWindow(1, rpm), rpm)
}

// waitTokens is waitRequests for a reservation of est tokens.
func (e *memEntry) waitTokens(now, tpm, est int64) int64 {
	if e.rule.burst {
		e.t.refill(now, tpm)
		return e.t.wait(need(est, tpm), tpm)
	}
	e.tw.expire(now)
	return e.tw.wait(now, needWindow(est, tpm), tpm)
}

// take charges one request reserving est tokens.
func (e *memEntry) take(now, rpm, tpm, est int64) {
	switch {
	case e.rule.burst:
		if rpm > 0 {
			e.r.level -= unit
		}
		if tpm > 0 {
			e.t.level -= est * unit
		}
	default:
		if rpm > 0 {
			e.rw.take(now, 1)
		}
		if tpm > 0 {
			e.tw.take(now, est)
		}
	}
}

// seen is a limit's state for the headers, after the decision at now.
func (e *memEntry) seen(now, limit int64, tokens bool) seen {
	switch {
	case e.rule.burst && tokens:
		return seen{level: e.t.level, limit: limit}
	case e.rule.burst:
		return seen{level: e.r.level, limit: limit}
	case tokens:
		return e.tw.seen(now, limit)
	}
	return e.rw.seen(now, limit)
}

// settle ends t's request.
func (m *memory) settle(t *Ticket, actual int64) {
	now := m.now().UnixMilli()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < t.n; i++ {
		e, r := t.mem[i], t.scopes[i].rule
		if r.tpm > 0 && actual != t.est {
			if r.burst {
				e.t.refill(now, r.tpm)
				e.t.level = min(e.t.level-(actual-t.est)*unit, r.tpm*unit)
			} else {
				e.tw.settle(t.now, now, t.est, actual)
			}
			if m.fallback {
				e.debtT += actual - t.est
			}
		}
		e.refs--
	}
	t.mem = [numScopes]*memEntry{}
}

// sweep drops the entries no request holds whose buckets are full.
func (m *memory) sweep(now int64) {
	m.sweepAt = now + sweepEvery.Milliseconds()
	for _, sm := range m.m {
		m.sweepMap(sm, now)
	}
}

func (m *memory) sweepMap(sm map[string]*memEntry, now int64) {
	for k, e := range sm {
		if e.refs > 0 {
			continue
		}
		if e.debtR != 0 || e.debtT != 0 || !e.idle(now) {
			continue
		}
		delete(sm, k)
	}
}

// size is the number of entries, for tests.
func (m *memory) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, sm := range m.m {
		n += len(sm)
	}
	return n
}

// idle reports whether e's limits are as a new entry's would be.
func (e *memEntry) idle(now int64) bool {
	r := e.rule
	if r.burst {
		if r.rpm > 0 {
			e.r.refill(now, r.rpm)
			if e.r.level < r.rpm*unit {
				return false
			}
		}
		if r.tpm > 0 {
			e.t.refill(now, r.tpm)
			if e.t.level < r.tpm*unit {
				return false
			}
		}
		return true
	}
	e.rw.expire(now)
	e.tw.expire(now)
	return len(e.rw.slots) == 0 && len(e.tw.slots) == 0
}
