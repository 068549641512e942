package upstream

import (
	"sync/atomic"
	"time"
)

// ringBuckets is how many time buckets a rolling window is cut into: a
// window of W covers between 0.9·W and W of history, which is precise
// enough for breaker and budget decisions and cheap to sum.
const ringBuckets = 10

// ring counts events over a rolling window without a lock. Each bucket
// packs its epoch (the bucket number since the Unix epoch, truncated to 32
// bits) in the high half and its count in the low half, so a bucket is
// claimed for a new period and incremented by one compare-and-swap, and a
// reader never sees a count without the period it belongs to.
type ring struct {
	width int64 // bucket width in nanoseconds
	b     [ringBuckets]atomic.Uint64
}

func (r *ring) init(window time.Duration) {
	r.width = int64(window) / ringBuckets
	if r.width <= 0 {
		r.width = 1
	}
}

func (r *ring) epoch(now int64) uint32 { return uint32(now / r.width) }

// add counts one event at now.
func (r *ring) add(now int64) {
	e := r.epoch(now)
	slot := &r.b[e%ringBuckets]
	for {
		old := slot.Load()
		var next uint64
		switch {
		case uint32(old>>32) != e:
			next = uint64(e)<<32 | 1
		case uint32(old) == ^uint32(0):
			return // saturated: a count must never spill into the epoch
		default:
			next = old + 1
		}
		if slot.CompareAndSwap(old, next) {
			return
		}
	}
}

// sum is the count of the buckets that are still inside the window at now.
// Epoch arithmetic is modular, so a bucket from the future (a clock that
// went backwards) is simply not counted.
func (r *ring) sum(now int64) int64 {
	e := r.epoch(now)
	var n int64
	for i := range r.b {
		v := r.b[i].Load()
		if e-uint32(v>>32) < ringBuckets {
			n += int64(uint32(v))
		}
	}
	return n
}

// reset forgets every event.
func (r *ring) reset() {
	for i := range r.b {
		r.b[i].Store(0)
	}
}
