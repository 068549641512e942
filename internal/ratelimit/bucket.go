package ratelimit

import "time"

// The bucket arithmetic, shared by the memory store and (as Lua, in
// bucket.lua) the Redis store, so that both decide exactly alike.
//
// A bucket holds up to limit tokens and refills at limit tokens a minute,
// continuously (a token bucket, as Anthropic describes its own limits). Its
// level is kept as an integer number of units, unit per token, so that a
// millisecond's refill, limit units, is a whole number: no rounding, and
// the same integers in Go (int64) and in Redis's Lua (doubles, exact up to
// 2^53; config.MaxRate keeps every value far below that).
//
// A level may go below zero: a request's real token usage, known only at its
// end, can exceed what it reserved, and the excess is owed by the requests
// that follow.

// unit is one token's worth of level: the milliseconds in a minute.
const unit = 60_000

// retryConcurrency is the retry-after of a refusal for concurrency: when a
// slot frees up is not known in advance.
const retryConcurrency = time.Second

// bucket is one bucket's state.
type bucket struct {
	level int64 // units; may be negative
	last  int64 // unix milliseconds of the last update; 0: never used (full)
}

// refill brings b up to now, given its limit (tokens per minute).
func (b *bucket) refill(now, limit int64) {
	capacity := limit * unit
	switch {
	case b.last == 0, b.level >= capacity:
		// New, or full (perhaps over a lowered limit).
		b.level = capacity
	case now > b.last:
		// Compare the elapsed time with the time to fill rather than
		// multiply first: a bucket idle for days must not overflow.
		if el := now - b.last; el >= ceilDiv(capacity-b.level, limit) {
			b.level = capacity
		} else {
			b.level += el * limit
		}
	}
	if now > b.last {
		b.last = now
	}
}

// need is the level a request costing cost tokens must find: its cost, but
// never more than a full bucket, so a request larger than the whole limit
// still passes when the bucket is full instead of never passing. (Admit
// also caps a reservation at the smallest tokens-per-minute limit, so the
// debit itself is at most one bucket.)
func need(cost, limit int64) int64 { return min(cost, limit) * unit }

// wait is how long, in milliseconds, until a refilled bucket reaches want.
func (b *bucket) wait(want, limit int64) int64 {
	if b.level >= want {
		return 0
	}
	return ceilDiv(want-b.level, limit)
}

// ceilDiv is ⌈a/b⌉ for a >= 0, b > 0.
func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// Quota is one limit's state as the rate-limit headers report it.
type Quota struct {
	Limit     int64         // per minute
	Remaining int64         // whole tokens (or requests) available now
	Reset     time.Time     // when the bucket will be full again
	ResetIn   time.Duration // how long after the decision that is
}

// seen is a bucket's level after a decision, kept for the headers; limit 0:
// no such bucket. The Quota is made from it only when asked for. A sliding
// window (win) keeps its remaining amount as the level and its reset
// (ms after the decision) ready made.
type seen struct {
	level, limit int64
	reset        int64
	win          bool
}

func (s seen) remaining() int64 { return max(s.level, 0) / unit }

// resetIn is the milliseconds until the bucket is full.
func (s seen) resetIn() int64 {
	if s.win {
		return s.reset
	}
	b := bucket{level: s.level}
	return b.wait(s.limit*unit, s.limit)
}

// tighter reports whether s is more restrictive than o: less remaining, or
// as little for longer.
func (s seen) tighter(o seen) bool {
	if r, q := s.remaining(), o.remaining(); r != q {
		return r < q
	}
	return s.resetIn() > o.resetIn()
}
