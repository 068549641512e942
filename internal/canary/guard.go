package canary

import (
	"fmt"
	"math"
	"math/bits"
	"time"
)

// windowBuckets cuts a guard window into time buckets: the window covers
// between 0.9 and 1 times the configured length.
const windowBuckets = 10

// latBuckets is the size of the latency histograms: 4 buckets per
// doubling from 4ms (below that one per millisecond) up to about 70
// minutes, the last bucket holding anything slower. A bucket spans at most 25% of its lower bound, so a p95 is
// known within that, whatever the traffic, in fixed memory.
const latBuckets = 4 + 20*4

// latBucket maps a latency to its histogram bucket.
func latBucket(d time.Duration) int {
	ms := uint64(d / time.Millisecond)
	if ms < 4 {
		return int(ms)
	}
	e := bits.Len64(ms) - 1 // ms is in [2^e, 2^(e+1))
	sub := (ms >> (e - 2)) & 3
	return min(4+(e-2)*4+int(sub), latBuckets-1)
}

// latUpper is the upper bound of bucket i, the latency reported for it.
func latUpper(i int) time.Duration {
	if i < 4 {
		return time.Duration(i+1) * time.Millisecond
	}
	e, sub := (i-4)/4+2, (i-4)%4
	return time.Duration((5+sub)<<(e-2)) * time.Millisecond
}

// counts are a window's (or a bucket's) requests, failures and latencies.
type counts struct {
	requests, failures int64
	hist               [latBuckets]int64
}

func (c *counts) add(o *counts, sign int64) {
	c.requests += sign * o.requests
	c.failures += sign * o.failures
	for i, v := range o.hist {
		c.hist[i] += sign * v
	}
}

func (c *counts) errorRate() float64 {
	if c.requests == 0 {
		return 0
	}
	return float64(c.failures) / float64(c.requests)
}

// p95 is the upper bound of the bucket holding the 95th percentile of the
// latencies; 0 without any.
func (c *counts) p95() time.Duration {
	var n int64
	for _, v := range c.hist {
		n += v
	}
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(0.95 * float64(n)))
	var seen int64
	for i, v := range c.hist {
		seen += v
		if seen >= rank {
			return latUpper(i)
		}
	}
	return latUpper(latBuckets - 1)
}

// window is a target's rolling counts: time buckets plus their running
// total, so reading the window costs nothing and a bucket is subtracted
// once when it expires.
type window struct {
	width   int64
	buckets [windowBuckets]struct {
		epoch int64
		counts
	}
	total counts
}

func (w *window) init(d time.Duration) {
	w.width = max(int64(d)/windowBuckets, 1)
}

// expire drops the buckets that left the window at now.
func (w *window) expire(now int64) {
	cur := now / w.width
	for i := range w.buckets {
		b := &w.buckets[i]
		if b.requests != 0 && (b.epoch <= cur-windowBuckets || b.epoch > cur) {
			w.total.add(&b.counts, -1)
			b.counts = counts{}
		}
	}
}

func (w *window) record(now int64, success bool, latency time.Duration) {
	w.expire(now)
	cur := now / w.width
	b := &w.buckets[cur%windowBuckets]
	b.epoch = cur // an older bucket in this slot was expired above
	b.requests++
	w.total.requests++
	if !success {
		b.failures++
		w.total.failures++
	}
	if latency > 0 {
		i := latBucket(latency)
		b.hist[i]++
		w.total.hist[i]++
	}
}

// Record counts the outcome of a request whose first choice was target i:
// success=false for a 5xx, a timeout or no answer; latency is the time to
// the first byte (0: unknown). For a canary target it then applies the
// guard: over the window, once the canary has MinRequests, it is compared
// with the other (non-canary) targets combined, and rolled back (weight 0)
// when its error rate exceeds theirs by more than MaxErrorRate, or, when
// they have MinRequests too, its p95 latency exceeds theirs times
// MaxLatencyRatio. Without weights Record does nothing.
func (s *Split) Record(i int, success bool, latency time.Duration) {
	if i < 0 || i >= len(s.targets) || !s.Weighted() {
		return
	}
	now := s.now()
	ns := now.UnixNano()
	s.mu.Lock()
	s.stats[i].record(ns, success, latency)
	var reason string
	if s.targets[i].Canary && !s.promoted && s.table.Load().weights[i] > 0 {
		reason = s.judgeLocked(i, ns)
		if reason != "" {
			t := s.table.Load()
			w := append([]int(nil), t.weights...)
			w[i] = 0
			s.table.Store(newTable(w))
			s.last = &Event{Time: now, Action: ActionAutoRollback, Target: s.targets[i].Name, Reason: reason}
		}
	}
	s.mu.Unlock()
	if reason != "" && s.onRollback != nil {
		s.onRollback(s.targets[i].Name, reason)
	}
}

// judgeLocked returns why canary i should be rolled back, or "".
func (s *Split) judgeLocked(i int, now int64) string {
	c := &s.stats[i].total
	if c.requests < int64(s.guard.MinRequests) {
		return ""
	}
	var primary counts
	for j, t := range s.targets {
		if !t.Canary {
			s.stats[j].expire(now)
			primary.add(&s.stats[j].total, 1)
		}
	}
	cr, pr := c.errorRate(), primary.errorRate()
	if cr > pr+s.guard.MaxErrorRate {
		return fmt.Sprintf("error rate %.2f vs %.2f", cr, pr)
	}
	if primary.requests < int64(s.guard.MinRequests) {
		return ""
	}
	cp, pp := c.p95(), primary.p95()
	if cp > 0 && pp > 0 && float64(cp) > float64(pp)*s.guard.MaxLatencyRatio {
		return fmt.Sprintf("p95 latency %v vs %v", cp, pp)
	}
	return ""
}
