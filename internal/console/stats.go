package console

import (
	"math"
	"sync"
	"time"
)

// Stats keeps the last few minutes of finished requests in one-second
// buckets for the console's live charts (GET /admin/stats): counts, errors
// and latency histograms, so a snapshot costs no more than the window and an
// observation takes no allocation. It is separate from the Prometheus
// metrics on purpose: the console needs recent per-second shape, not
// totals since start, and must work with no scraper.
type Stats struct {
	now func() time.Time

	mu      sync.Mutex
	buckets [ringSeconds]bucket
	total   uint64    // requests since start
	errors  uint64    // of which errors (5xx, 429)
	retried []Retried // the newest last, at most keepRetried
}

// keepRetried is how many retried requests the console lists.
const keepRetried = 20

// Retried is a request that took more than one attempt: a retry on another
// node, or a fallback to another target.
type Retried struct {
	At       int64    `json:"at"` // unix second
	Status   int      `json:"status"`
	Attempts []string `json:"attempts"` // "provider@node:outcome", in order
}

// ringSeconds is how far back the charts reach.
const ringSeconds = 300

// histogram bounds: latency buckets grow by 25% from 1 ms, reaching ~10 min.
const (
	histBuckets = 60
	histFirstMs = 1.0
	histGrowth  = 1.25
)

type bucket struct {
	second   int64 // unix second this bucket holds; stale buckets are reset
	requests uint32
	errors   uint32
	latency  [histBuckets]uint32
	ttft     [histBuckets]uint32 // streams that relayed text
	ttftN    uint32
}

// NewStats makes a Stats on the given clock (nil: time.Now).
func NewStats(now func() time.Time) *Stats {
	if now == nil {
		now = time.Now
	}
	return &Stats{now: now}
}

// Observe records one finished request: its status, its whole duration,
// for a stream the time to its first token (0: none), and its attempts
// when there were several (nil otherwise).
func (s *Stats) Observe(status int, total, firstToken time.Duration, retried []string) {
	sec := s.now().Unix()
	failed := status >= 500 || status == 429
	s.mu.Lock()
	b := &s.buckets[sec%ringSeconds]
	if b.second != sec {
		*b = bucket{second: sec}
	}
	b.requests++
	b.latency[histIndex(total)]++
	if failed {
		b.errors++
		s.errors++
	}
	if firstToken > 0 {
		b.ttft[histIndex(firstToken)]++
		b.ttftN++
	}
	s.total++
	if retried != nil {
		if len(s.retried) == keepRetried {
			s.retried = append(s.retried[:0], s.retried[1:]...)
		}
		s.retried = append(s.retried, Retried{At: sec, Status: status, Attempts: retried})
	}
	s.mu.Unlock()
}

func histIndex(d time.Duration) int {
	ms := float64(d) / float64(time.Millisecond)
	if ms <= histFirstMs {
		return 0
	}
	i := int(math.Ceil(math.Log(ms/histFirstMs) / math.Log(histGrowth)))
	return min(i, histBuckets-1)
}

// histUpper is bucket i's upper bound in milliseconds.
func histUpper(i int) float64 { return histFirstMs * math.Pow(histGrowth, float64(i)) }

// Point is one second (or, for Summary, the last minute) of traffic.
// Latencies are in milliseconds, the upper bound of the histogram bucket
// holding the quantile (at most 25% over); null when there was no request.
type Point struct {
	T         int64    `json:"t"` // unix second
	Requests  uint32   `json:"requests"`
	Errors    uint32   `json:"errors"`
	ErrorRate float64  `json:"error_rate"`
	P50       *float64 `json:"p50_ms"`
	P95       *float64 `json:"p95_ms"`
	P99       *float64 `json:"p99_ms"`
	TTFTP50   *float64 `json:"ttft_p50_ms"`
	TTFTP95   *float64 `json:"ttft_p95_ms"`
}

// Snapshot is what GET /admin/stats answers.
type Snapshot struct {
	Now      int64   `json:"now"`
	Window   int     `json:"window_seconds"`
	Total    uint64  `json:"total_requests"` // since start
	Errors   uint64  `json:"total_errors"`
	Summary  Point   `json:"last_minute"` // the current second included; requests/s is Summary.Requests/60
	RPS      float64 `json:"rps"`         // over the last minute
	Series   []Point `json:"series"`      // oldest first, one per second, the current second excluded
	InFlight int64   `json:"in_flight"`   // filled in by the caller
	// Retried are the newest requests that took several attempts (retries
	// and fallbacks), newest first.
	Retried []Retried `json:"recent_retries"`
}

// Snapshot returns the last window seconds (1..300), the current second
// excluded (it is still filling).
func (s *Stats) Snapshot(window int) Snapshot {
	window = max(1, min(window, ringSeconds-1))
	now := s.now().Unix()
	out := Snapshot{Now: now, Window: window, Series: make([]Point, 0, window)}
	var minute bucket
	s.mu.Lock()
	out.Total, out.Errors = s.total, s.errors
	out.Retried = make([]Retried, len(s.retried))
	for i, r := range s.retried {
		out.Retried[len(s.retried)-1-i] = r
	}
	for sec := now - int64(window); sec < now; sec++ {
		b := &s.buckets[sec%ringSeconds]
		if b.second != sec {
			out.Series = append(out.Series, Point{T: sec})
			continue
		}
		out.Series = append(out.Series, b.point())
	}
	// The last minute includes the second still filling: a request just
	// made shows in the tiles at once.
	for sec := now - 59; sec <= now; sec++ {
		if b := &s.buckets[sec%ringSeconds]; b.second == sec {
			minute.add(b)
		}
	}
	s.mu.Unlock()
	out.Summary = minute.point()
	out.Summary.T = now
	out.RPS = float64(minute.requests) / 60
	return out
}

func (b *bucket) add(o *bucket) {
	b.requests += o.requests
	b.errors += o.errors
	b.ttftN += o.ttftN
	for i := range b.latency {
		b.latency[i] += o.latency[i]
		b.ttft[i] += o.ttft[i]
	}
}

func (b *bucket) point() Point {
	p := Point{T: b.second, Requests: b.requests, Errors: b.errors}
	if b.requests > 0 {
		p.ErrorRate = float64(b.errors) / float64(b.requests)
	}
	p.P50 = quantile(&b.latency, b.requests, 0.50)
	p.P95 = quantile(&b.latency, b.requests, 0.95)
	p.P99 = quantile(&b.latency, b.requests, 0.99)
	p.TTFTP50 = quantile(&b.ttft, b.ttftN, 0.50)
	p.TTFTP95 = quantile(&b.ttft, b.ttftN, 0.95)
	return p
}

// quantile is the upper bound of the bucket holding the q-th of n samples.
func quantile(h *[histBuckets]uint32, n uint32, q float64) *float64 {
	if n == 0 {
		return nil
	}
	rank := uint32(math.Ceil(q * float64(n)))
	var seen uint32
	for i, c := range h {
		seen += c
		if seen >= rank {
			v := math.Round(histUpper(i)*10) / 10
			return &v
		}
	}
	v := math.Round(histUpper(histBuckets-1)*10) / 10
	return &v
}
