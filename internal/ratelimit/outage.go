package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
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
// fresh full limit. What it admits meanwhile is kept as a debt.
//
// The store has a breaker of its own: once a call failed, no decision asks
// it; only the heartbeat does, every StoreRetry, so an unreachable or
// frozen Redis costs a request nothing. The heartbeat that reaches Redis
// again hands it the instance's debts in the same script call, and only
// then does the instance decide in Redis again.
//
// The other instances may still be deciding on their shares, their debts
// not yet handed over. So the first instance back marks an outage in
// Redis (a set of the instances back, living 2 x beatEvery); while it
// stands, Redis admits against the limit times (instances back / live
// instances), leaving the shares of those not back untouched. Every
// heartbeat adds its instance, and the mark goes when all are back.
// Only an instance that is back may be in it. Every heartbeat and
// decision carries the time, on Redis's clock, at which its instance gives
// up on it (deadline); one Redis runs later (a stalled Redis runs the
// calls waiting in its sockets when it thaws) takes nothing, since its
// instance, timed out, decided in memory, and drops the instance from the
// mark: it fails again (a second stall while the mark stands), not back.
//
// What is not covered: an instance cut off from Redis longer than the mark
// (a partition rather than an outage) goes on with its share while the
// others use the whole limit, until its registry entry expires (beatTTL)
// and the others stop counting it. Nor is a heartbeat that Redis runs
// just before its deadline and whose answer arrives just after (the
// instance is then counted back while not), or a Redis clock stepped back
// (the deadlines fall later), or an instance failing again whose calls
// never reach Redis (it stays in the mark).

const (
	beatEvery = 2 * time.Second
	beatTTL   = 3 * beatEvery // a heartbeat missed twice is still alive
	// debtBatch is the most limit keys handed debts in one heartbeat.
	debtBatch = 256
	// handRounds is the most rounds in which a heartbeat back from an
	// outage hands over the debts taken while it was on its way.
	handRounds = 4
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

// mark is the outage mark as admit.lua saw it: the instances back and
// the live instances; back == live when there is none.
type mark struct{ back, live int64 }

// part is what the mark leaves the instances back of limit (admit.lua's
// eff).
func (k mark) part(limit int64) int64 {
	if k.back >= k.live || k.back <= 0 || limit == 0 {
		return limit
	}
	return max(limit*k.back/k.live, 1)
}

// mirror keeps Redis's answer for t in memory, as the starting point of
// decisions while Redis is down. v holds admit.lua's five values per scope;
// k the mark it decided under.
func (l *Limiter) mirror(t *Ticket, v []int64, k mark) {
	if !l.pol.Load().failOpen {
		return
	}
	l.mem.mirror(t, v, l.share(), k)
}

// beaten takes the outcome of a heartbeat that began with the store
// failing (back) or not: a failure marks the store failing; a success of a
// back heartbeat, which handed the debts over, brings it back.
func (l *Limiter) beaten(err error, back bool) {
	if err != nil {
		l.failing.Store(true)
		l.logFailure(err)
		return
	}
	if back {
		l.storeOK()
	}
}

// mirror sets the entries of t's scope values to Redis's state v, split
// between share instances. Under an outage mark k, the instances not back
// still hold their shares: this instance starts from its part of what the
// mark leaves the instances back, not from a share of all that is left.
func (m *memory) mirror(t *Ticket, v []int64, share int64, k mark) {
	now := m.now().UnixMilli()
	m.mu.Lock()
	defer m.mu.Unlock()
	if now >= m.sweepAt {
		// The mirrors of scope values gone quiet go too, as in admit.
		m.sweep(now)
	}
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
				e.r = bucket{level: k.bucketLevel(s[0], r.rpm, share), last: now}
			}
			if r.tpm > 0 {
				e.t = bucket{level: k.bucketLevel(s[1], r.tpm, share), last: now}
			}
		default:
			if r.rpm > 0 {
				e.rw.seed(now, k.windowUsed(s[0], r.rpm, share))
			}
			if r.tpm > 0 {
				e.tw.seed(now, k.windowUsed(s[1], r.tpm, share))
			}
		}
	}
}

// windowUsed is what a window mirroring Redis's level (bucket units) of a
// window of limit holds on this instance, whose own limit is its share.
func (k mark) windowUsed(level, limit, share int64) int64 {
	used := max(limit-level/unit, 0)
	if k.back >= k.live {
		return ceilDiv(used, share)
	}
	left := max(k.part(limit)-used, 0) / k.back
	return max(shareOf(limit, share)-left, 0)
}

// bucketLevel is windowUsed for a token bucket: its level on this
// instance.
func (k mark) bucketLevel(level, limit, share int64) int64 {
	if k.back >= k.live {
		return level / share
	}
	return min((level-(limit-k.part(limit))*unit)/k.back, shareOf(limit, share)*unit)
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

// owes says whether any debt is kept.
func (m *memory) owes() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, sm := range m.m {
		for _, e := range sm {
			if e.debtR != 0 || e.debtT != 0 {
				return true
			}
		}
	}
	return false
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
// debts, and counts the live instances. back: the instance comes back from
// an outage (see the package comment above).
func (r *redisStore) beat(ctx context.Context, back bool) (int64, error) {
	ds := r.l.mem.takeDebts()
	var n int64
	for first := true; first || len(ds) > 0; first = false {
		k := min(len(ds), debtBatch)
		var err error
		n, err = r.beatRound(ctx, back, ds[:k])
		if errors.Is(err, errLate) {
			// Redis answered in time after all: the deadline came from a
			// stale clock offset, which the answer corrected.
			n, err = r.beatRound(ctx, back, ds[:k])
		}
		if err != nil {
			r.l.mem.restoreDebts(ds)
			return 0, fmt.Errorf("heartbeat: %w", err)
		}
		ds = ds[k:]
	}
	r.instances.Store(n)
	r.l.onLive(n)
	return n, nil
}

// errLate: Redis ran a call after its deadline, and so took nothing.
var errLate = errors.New("the store ran the call after its deadline")

// beatRound is one live.lua call of a heartbeat, handing over ds.
func (r *redisStore) beatRound(ctx context.Context, back bool, ds []debt) (int64, error) {
	flag := 0
	if back {
		flag = 1
	}
	keys := make([]string, 0, 2+len(ds))
	args := make([]any, 6, 6+5*len(ds))
	keys = append(keys, r.liveKey, r.backKey)
	args[0], args[1], args[2], args[3], args[4], args[5] = r.nowArg(), beatTTL.Milliseconds(), r.idBase, flag, (2 * beatEvery).Milliseconds(), r.deadline(ctx)
	for _, d := range ds {
		keys = append(keys, r.bucketKey(d.a))
		args = append(args, d.a.rule.rpm, d.a.rule.tpm, burstArg(d.a.rule), d.r, d.t)
	}
	res, err := r.liveS.run(ctx, r.c, keys, args).Int64Slice()
	if err != nil {
		return 0, err
	}
	if len(res) != 3 {
		return 0, fmt.Errorf("the script answered %d values, want 3", len(res))
	}
	r.learnClock(res[1])
	if res[2] == 1 {
		return 0, errLate
	}
	return res[0], nil
}

// deadline is when, on the store's clock, this instance gives up on a
// call sent now (0: not known, no deadline). A call the store runs later
// takes nothing (live.lua, admit.lua): a stalled Redis runs the calls
// waiting in its sockets when it thaws, and a heartbeat the instance gave
// up on, run then, would count it back from the outage while it still
// decides on its share (and take the debts it keeps to hand again); a
// decision it gave up on and took in memory would be counted twice.
//
// The store's clock is estimated from below (learnClock), so the deadline
// is never later than the instance's timeout; what is left is a call run
// just before it whose answer arrives just after.
func (r *redisStore) deadline(ctx context.Context) int64 {
	skew := r.skew.Load()
	if skew == skewUnknown {
		return 0
	}
	wait := r.timeout
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d))
	}
	return r.l.now().UnixMilli() + skew + wait.Milliseconds()
}

// skewUnknown: no answer of the store has told its clock yet.
const skewUnknown = math.MinInt64

// learnClock takes the store's clock from an answer: storeNow was read
// before the answer arrived, so storeNow - now is at most the offset of
// the store's clock from this instance's, and the greatest such bound the
// closest.
func (r *redisStore) learnClock(storeNow int64) {
	bound := storeNow - r.l.now().UnixMilli()
	for {
		cur := r.skew.Load()
		if bound <= cur || r.skew.CompareAndSwap(cur, bound) {
			return
		}
	}
}

// handRest hands Redis the debts taken in memory while a hand-over was on
// its way: the store still failing, requests went on being decided in
// memory, and Redis, back, must owe them before it decides alone again
// (or it admits the whole limit on top of them until the next heartbeat).
// One round trip a round, each shorter than the last (the first waited
// out a slow or stalled Redis), until a round finds nothing owed; at most
// handRounds, what remains goes with the next heartbeat.
func (r *redisStore) handRest(ctx context.Context) error {
	for range handRounds {
		if !r.l.mem.owes() {
			return nil
		}
		if _, err := r.beat(ctx, false); err != nil {
			return err
		}
	}
	return nil
}

// startBeat starts the heartbeat loop (interval <= 0: never, for tests,
// which call beat themselves).
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
	go r.repeat(r.beatDone, 0, r.beatEvery/2, r.beatOnce)
}

// beatOnce is one heartbeat; it returns the wait until the next: a
// failing store is probed every StoreRetry, a healthy one heartbeaten
// every beatEvery.
func (r *redisStore) beatOnce(ctx context.Context) time.Duration {
	back := r.l.failing.Load()
	// Under fail_closed nothing was admitted alone: no outage to mark.
	owed := back && r.l.pol.Load().failOpen
	_, err := r.beat(ctx, owed)
	if err == nil && owed {
		err = r.handRest(ctx)
	}
	r.l.beaten(err, back)
	if err == nil && owed {
		// Requests that read the store as failing just before it came
		// back were decided in memory after the last round.
		if err := r.handRest(ctx); err != nil {
			r.l.beaten(err, false)
		}
	}
	next := r.beatEvery
	if r.l.failing.Load() {
		next = min(next, r.l.retry)
	}
	return next
}
