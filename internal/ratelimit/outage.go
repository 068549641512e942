package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// Redis outages, under fail_open.
//
// Each instance heartbeats into a registry in Redis (live.lua) every
// beatEvery, learning how many instances are alive. While Redis is
// unreachable, each instance enforces its share of every limit (the limit
// divided by the live instances it last counted, at least 1), so that
// together they admit no more than the limit, instead of each admitting the
// whole limit. It starts from the last state Redis reported for each scope
// value it has seen (mirror: that state's usage, divided between the
// instances likewise, as if all taken in the decision's slot), not from a
// fresh full limit. What it admits meanwhile is kept as a debt and handed to
// Redis by the first heartbeat that reaches it, so Redis's count includes
// the outage's admissions when it decides again.
//
// The store has a breaker of its own: after a failure it is left alone for
// Options.StoreRetry, then one request (or the heartbeat) probes it while
// the others go on deciding in memory, so an unreachable or frozen Redis
// costs one timeout per StoreRetry, not one per request.

const (
	beatEvery = 2 * time.Second
	beatTTL   = 3 * beatEvery // a heartbeat missed twice is still alive
	// debtBatch is the most limit keys handed debts in one heartbeat.
	debtBatch = 256
)

// debt is what this instance took from one scope value's limits while
// Redis was down.
type debt struct {
	a    applied
	r, t int64
}

// share is the number of instances every limit is split between while the
// store is down: the live instances last counted, 1 if never counted.
func (l *Limiter) share() int64 {
	if l.red == nil {
		return 1
	}
	return max(l.red.instances.Load(), 1)
}

// mayAsk reports whether the store should be asked now; probe is true when
// this call is the one probe a failing store gets, which the caller must
// end with endProbe.
func (l *Limiter) mayAsk(now time.Time) (ok, probe bool) {
	if now.UnixMilli() < l.downUntil.Load() {
		return false, false
	}
	if !l.failing.Load() {
		return true, false
	}
	if l.probing.CompareAndSwap(false, true) {
		return true, true
	}
	return false, false
}

func (l *Limiter) endProbe(probe bool) {
	if probe {
		l.probing.Store(false)
	}
}

// mirror keeps Redis's answer for t in memory, as the starting point of
// decisions while Redis is down. v holds admit.lua's five values per scope.
func (l *Limiter) mirror(t *Ticket, v []int64) {
	if !l.failOpen {
		return
	}
	l.mem.mirror(t, v, l.share())
}

// beaten takes a heartbeat's outcome: a failure marks the store down; a
// success after failures brings it back at once.
func (l *Limiter) beaten(err error) {
	if err != nil {
		l.downUntil.Store(l.now().Add(l.retry).UnixMilli())
		l.failing.Store(true)
		l.logFailure(err)
		return
	}
	if l.failing.Load() {
		l.downUntil.Store(0)
		l.storeOK()
	}
}

// mirror sets the entries of t's scope values to Redis's state v, split
// between share instances.
func (m *memory) mirror(t *Ticket, v []int64, share int64) {
	now := m.now().UnixMilli()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < t.n; i++ {
		a, s := &t.scopes[i], v[5*i:5*i+5]
		e := m.m[a.rule.scope][a.value]
		if e == nil {
			e = &memEntry{}
			m.m[a.rule.scope][a.value] = e
		}
		e.rule = a.rule
		r := a.rule
		switch {
		case r.burst:
			if r.rpm > 0 {
				e.r = bucket{level: s[0] / share, last: now}
			}
			if r.tpm > 0 {
				e.t = bucket{level: s[1] / share, last: now}
			}
		default:
			if r.rpm > 0 {
				e.rw.seed(now, ceilDiv(max(r.rpm-s[0]/unit, 0), share))
			}
			if r.tpm > 0 {
				e.tw.seed(now, ceilDiv(max(r.tpm-s[1]/unit, 0), share))
			}
		}
	}
}

// seed replaces w by used taken at now.
func (w *window) seed(now, used int64) {
	w.slots, w.used = w.slots[:0], 0
	w.take(now, used)
}

// takeDebts removes the debts from memory and returns them.
func (m *memory) takeDebts() []debt {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ds []debt
	for _, sm := range m.m {
		for v, e := range sm {
			if e.debtR == 0 && e.debtT == 0 {
				continue
			}
			ds = append(ds, debt{a: applied{rule: e.rule, value: v}, r: e.debtR, t: max(e.debtT, 0)})
			e.debtR, e.debtT = 0, 0
		}
	}
	return ds
}

// restoreDebts puts back debts that could not be handed to Redis.
func (m *memory) restoreDebts(ds []debt) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range ds {
		sm := m.m[d.a.rule.scope]
		e := sm[d.a.value]
		if e == nil {
			e = &memEntry{rule: d.a.rule}
			sm[d.a.value] = e
		}
		e.debtR += d.r
		e.debtT += d.t
	}
}

// beat heartbeats this instance into the registry, handing Redis the
// debts, and counts the live instances.
func (r *redisStore) beat(ctx context.Context) (int64, error) {
	ds := r.l.mem.takeDebts()
	var n int64
	for first := true; first || len(ds) > 0; first = false {
		k := min(len(ds), debtBatch)
		keys := make([]string, 0, 1+k)
		args := make([]any, 3, 3+5*k)
		keys = append(keys, r.prefix+"live")
		args[0], args[1], args[2] = r.nowArg(), beatTTL.Milliseconds(), r.idBase
		for _, d := range ds[:k] {
			keys = append(keys, r.bucketKey(d.a))
			args = append(args, d.a.rule.rpm, d.a.rule.tpm, burstArg(d.a.rule), d.r, d.t)
		}
		var err error
		n, err = r.liveS.run(ctx, r.c, keys, args).Int64()
		if err != nil {
			r.l.mem.restoreDebts(ds)
			return 0, fmt.Errorf("heartbeat: %w", err)
		}
		ds = ds[k:]
	}
	r.instances.Store(n)
	return n, nil
}

// startBeat starts the heartbeat loop on first use (interval <= 0: never,
// for tests, which call beat themselves).
func (r *redisStore) startBeat() {
	if r.beatEvery <= 0 || r.beatStarted.Load() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.beatStarted.Load() || r.closed {
		return
	}
	r.beatStarted.Store(true)
	go r.beatLoop()
}

// kick asks the heartbeat loop to beat now (the store is back: hand it the
// debts before it decides much more).
func (r *redisStore) kick() {
	select {
	case r.kickC <- struct{}{}:
	default:
	}
}

func (r *redisStore) beatLoop() {
	defer close(r.beatDone)
	tick := time.NewTicker(r.beatEvery)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), r.beatEvery/2)
		_, err := r.beat(ctx)
		cancel()
		r.l.beaten(err)
		select {
		case <-r.stop:
			return
		case <-tick.C:
		case <-r.kickC:
		}
	}
}
