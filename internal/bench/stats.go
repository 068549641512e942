package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"
)

// sample is one request's measurements.
type sample struct {
	latency   time.Duration
	ttft      time.Duration // streams: to the first text event
	gaps      []time.Duration
	err       string // empty: a complete 200 answer
	cancelled bool   // cut by the end of the run: not counted
}

// collector gathers samples from every worker.
type collector struct {
	mu        sync.Mutex
	latencies []time.Duration
	ttfts     []time.Duration
	gaps      []time.Duration
	errors    map[string]int
	done      int
}

func newCollector() *collector { return &collector{errors: map[string]int{}} }

func (c *collector) add(s sample) {
	if s.cancelled {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done++
	if s.err != "" {
		c.errors[s.err]++
		return
	}
	c.latencies = append(c.latencies, s.latency)
	if s.ttft > 0 {
		c.ttfts = append(c.ttfts, s.ttft)
	}
	c.gaps = append(c.gaps, s.gaps...)
}

func (c *collector) counts() (done, failed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.errors {
		failed += n
	}
	return c.done, failed
}

// Quantiles of a duration distribution, in milliseconds.
type Quantiles struct {
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// quantiles sorts d and reads the nearest-rank quantiles; nil for no data.
func quantiles(d []time.Duration) *Quantiles {
	if len(d) == 0 {
		return nil
	}
	slices.Sort(d)
	at := func(q float64) float64 {
		i := int(q*float64(len(d))+0.999999) - 1
		i = max(0, min(i, len(d)-1))
		return ms(d[i])
	}
	return &Quantiles{P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: ms(d[len(d)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Result is what a run measured.
type Result struct {
	Requests   int            `json:"requests"`  // completed or failed, not cut by the end of the run
	Succeeded  int            `json:"succeeded"` // 200 with a complete answer
	Failed     int            `json:"failed"`
	Errors     map[string]int `json:"errors,omitempty"` // failures by kind ("status 429", "stream: ended early")
	Seconds    float64        `json:"seconds"`
	RPS        float64        `json:"requests_per_second"` // succeeded per second
	Latency    *Quantiles     `json:"latency,omitempty"`   // whole answers, successes only
	TTFT       *Quantiles     `json:"ttft,omitempty"`      // streams: time to the first text event
	ChunkGap   *Quantiles     `json:"chunk_gap,omitempty"` // streams: between events after the first text
	CPUSeconds float64        `json:"cpu_seconds,omitempty"`
}

func (c *collector) result(elapsed time.Duration) *Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &Result{Requests: c.done, Succeeded: len(c.latencies), Seconds: elapsed.Seconds()}
	r.Failed = r.Requests - r.Succeeded
	if len(c.errors) > 0 {
		r.Errors = maps.Clone(c.errors)
	}
	if elapsed > 0 {
		r.RPS = float64(r.Succeeded) / elapsed.Seconds()
	}
	r.Latency, r.TTFT, r.ChunkGap = quantiles(c.latencies), quantiles(c.ttfts), quantiles(c.gaps)
	return r
}

// progress starts the live progress line and returns its stop.
func (o *Options) progress(c *collector) (stop func()) {
	if o.Progress == nil {
		return func() {}
	}
	every := o.ProgressEvery
	if every <= 0 {
		every = time.Second
	}
	start, quit, done := time.Now(), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				io.WriteString(o.Progress, "\n")
				return
			case now := <-t.C:
				n, failed := c.counts()
				el := now.Sub(start).Seconds()
				fmt.Fprintf(o.Progress, "\r%6.1fs  %d requests  %.1f/s  %d failed ", el, n, float64(n)/el, failed)
			}
		}
	}()
	return func() { close(quit); <-done }
}

// Print writes r as a table.
func (r *Result) Print(w io.Writer) {
	fmt.Fprintf(w, "requests     %d in %.2fs: %d ok, %d failed, %.1f ok/s\n", r.Requests, r.Seconds, r.Succeeded, r.Failed, r.RPS)
	line := func(name string, q *Quantiles) {
		if q != nil {
			fmt.Fprintf(w, "%-12s p50 %.3fms  p95 %.3fms  p99 %.3fms  max %.3fms\n", name, q.P50, q.P95, q.P99, q.Max)
		}
	}
	line("latency", r.Latency)
	line("ttft", r.TTFT)
	line("chunk gap", r.ChunkGap)
	if r.CPUSeconds > 0 {
		fmt.Fprintf(w, "cpu          %.3fs (%.3f ms per request)\n", r.CPUSeconds, 1000*r.CPUSeconds/float64(max(1, r.Requests)))
	}
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		fmt.Fprintf(w, "error        %d × %s\n", r.Errors[k], k)
	}
}
