package ratelimit

// The sliding-window arithmetic, the default for every rpm and tpm limit,
// shared by the memory store and (as Lua, in window.lua) the Redis store so
// that both decide exactly alike. A rule with burst: true uses the token
// bucket of bucket.go instead.
//
// What is taken from a window (a request, a reservation's tokens) is kept
// with the slot (slotMs of time) it was taken in, and given back at the
// start of the slot windowSlots later: never less than a minute after it
// was taken. A request is admitted only if the amounts still held plus its
// own fit within the limit.
//
// The bound: no rolling 60 s admits more than the limit. Let t be the last
// admission inside a window [a, a+60 s). Every admission in that window
// happened at a time in (t-60 s, t], so its amount was still held at t
// (it returns no earlier than 60 s after it was taken); t was admitted only
// because all those held amounts, its own included, fit the limit. Hence
// the window admitted at most the limit. In Redis the decision and the
// taking are one script call, so the same holds across every instance.
//
// The price of the slots is throughput, never excess: a steady stream gets
// the limit every windowSlots slots (61 s), 98.4% of it. A token-bucket's
// full minute of burst on top of its refill (up to twice the limit in a
// rolling minute for an idle-then-busy client) is what burst: true asks for.
//
// Token reservations: a refund at settlement (the request used less than it
// reserved) comes back out of the slot the reservation was taken in, so it
// is as if the reservation had been the real usage from the start; a debt
// (it used more) is taken in the slot of the settlement. So the tokens
// settled in any rolling minute stay within the limit plus what the
// requests settling in it used beyond their reservations; with reservations
// that cover max_tokens (server.estimate), at most one request's
// reservation.

const (
	slotMs      = 1000
	windowSlots = 61 // a slot's amount is held while now's slot - its slot < windowSlots
)

// held is the amount taken in one slot.
type held struct{ slot, amt int64 }

// window is one limit's sliding window: the slots still held, oldest
// first, and their sum.
type window struct {
	used  int64
	slots []held
}

// expire gives back the slots whose time is up at now (unix ms).
func (w *window) expire(now int64) {
	cur := now / slotMs
	i := 0
	for i < len(w.slots) && cur-w.slots[i].slot >= windowSlots {
		w.used -= w.slots[i].amt
		i++
	}
	if i > 0 {
		n := copy(w.slots, w.slots[i:])
		w.slots = w.slots[:n]
	}
}

// wait is how long, in ms from now, until the window can take want (at
// most the limit: a request larger than the limit is asked a full window,
// as needWindow says).
func (w *window) wait(now, want, limit int64) int64 {
	free := limit - w.used
	if free >= want {
		return 0
	}
	for _, s := range w.slots {
		free += s.amt
		if free >= want {
			return (s.slot+windowSlots)*slotMs - now
		}
	}
	// Unreachable while want <= limit and amounts are not negative.
	return windowSlots * slotMs
}

// needWindow is what a request costing cost must find free: its cost, but
// never more than the whole limit, so a request larger than the limit still
// passes when the window is empty instead of never passing.
func needWindow(cost, limit int64) int64 { return min(cost, limit) }

// take adds amt in now's slot.
func (w *window) take(now, amt int64) {
	if amt <= 0 {
		return
	}
	cur := now / slotMs
	if n := len(w.slots); n > 0 && w.slots[n-1].slot == cur {
		w.slots[n-1].amt += amt
	} else {
		w.slots = append(w.slots, held{cur, amt})
	}
	w.used += amt
}

// refund gives back up to amt of what was taken at the time at (unix ms);
// nothing if that slot is already given back.
func (w *window) refund(at, amt int64) {
	slot := at / slotMs
	for i := range w.slots {
		if w.slots[i].slot == slot {
			r := min(amt, w.slots[i].amt)
			w.slots[i].amt -= r
			w.used -= r
			if w.slots[i].amt == 0 {
				w.slots = append(w.slots[:i], w.slots[i+1:]...)
			}
			return
		}
	}
}

// settle turns a reservation est taken at the time at into the real usage
// actual, at now.
func (w *window) settle(at, now, est, actual int64) {
	w.expire(now)
	if actual < est {
		w.refund(at, est-actual)
	} else {
		w.take(now, actual-est)
	}
}

// seen is the window's state for the headers.
func (w *window) seen(now, limit int64) seen {
	s := seen{level: (limit - w.used) * unit, limit: limit, reset: 0, win: true}
	if n := len(w.slots); n > 0 && w.used > 0 {
		s.reset = (w.slots[n-1].slot+windowSlots)*slotMs - now
	}
	return s
}
