package ratelimit

import (
	"sync"
	"time"
)

// sweepEvery is how often (by the limiter's clock) the memory store drops
// entries that are full and idle, which a new request would find the same
// as no entry: client IPs and tags come and go, and must not pile up.
const sweepEvery = time.Minute

// memory decides in this process. One mutex makes a decision over several
// scopes atomic; it is held for a few map lookups and some arithmetic.
type memory struct {
	now     func() time.Time
	mu      sync.Mutex
	m       [numScopes]map[string]*memEntry // by scope, then value: string-keyed maps hash fastest
	sweepAt int64                           // unix ms
}

// memEntry is one scope value's buckets.
type memEntry struct {
	rule *rule // the rule last applied, for the sweep
	r, t bucket
	refs int64 // unsettled tickets, which are the requests in flight
}

func newMemory(now func() time.Time) *memory {
	m := &memory{now: now}
	for i := range m.m {
		m.m[i] = make(map[string]*memEntry)
	}
	return m
}

// admit decides for t, and takes from every bucket when it admits.
func (m *memory) admit(t *Ticket) denial {
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
		if r.rpm > 0 {
			e.r.refill(now, r.rpm)
			d.consider(i, LimitRPM, e.r.wait(need(1, r.rpm), r.rpm))
		}
		if r.tpm > 0 {
			e.t.refill(now, r.tpm)
			if t.est > 0 {
				d.consider(i, LimitTPM, e.t.wait(need(t.est, r.tpm), r.tpm))
			}
		}
		if r.conc > 0 && e.refs >= r.conc {
			d.consider(i, LimitConcurrency, retryConcurrency.Milliseconds())
		}
	}
	for i := 0; i < t.n; i++ {
		e, r := t.mem[i], t.scopes[i].rule
		if d.wait == 0 {
			if r.rpm > 0 {
				e.r.level -= unit
			}
			if r.tpm > 0 {
				e.t.level -= t.est * unit
			}
			e.refs++
		}
		if r.rpm > 0 {
			t.record(e.r.level, r.rpm, false)
		}
		if r.tpm > 0 {
			t.record(e.t.level, r.tpm, true)
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

// settle ends t's request.
func (m *memory) settle(t *Ticket, actual int64) {
	now := m.now().UnixMilli()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < t.n; i++ {
		e, r := t.mem[i], t.scopes[i].rule
		if r.tpm > 0 && actual != t.est {
			e.t.refill(now, r.tpm)
			e.t.level = min(e.t.level-(actual-t.est)*unit, r.tpm*unit)
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
		if r := e.rule; r.rpm > 0 {
			e.r.refill(now, r.rpm)
			if e.r.level < r.rpm*unit {
				continue
			}
		}
		if r := e.rule; r.tpm > 0 {
			e.t.refill(now, r.tpm)
			if e.t.level < r.tpm*unit {
				continue
			}
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
