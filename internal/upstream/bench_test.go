package upstream

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

// TestConcurrentUse hammers one pool from many goroutines with a mix of
// outcomes, so breakers open, probe and close under -race; the counters
// must add up afterwards.
func TestConcurrentUse(t *testing.T) {
	clk := testkit.NewClock()
	p := mustPool(t, PoolOptions{Labels: labels(4), Policy: config.PolicyLeastLatency, Now: clk.Now, Rand: seeded(9),
		Breaker:  config.Breaker{ConsecutiveFailures: 3, OpenTime: 10 * time.Millisecond, HalfOpenProbes: 1},
		Bulkhead: config.Bulkhead{MaxInflight: 4, Queue: 64}})
	var attempts, none atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				rel, err := p.Acquire(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				p.CountRequest()
				n, ok := p.Pick(0)
				if !ok {
					none.Add(1)
					rel()
					clk.Advance(time.Millisecond)
					continue
				}
				finish := n.Start()
				o := Outcome{Result: Success, TTFB: time.Duration(n.Index()+1) * time.Millisecond}
				if (i+g)%7 == 0 || n.Index() == 0 && i%2 == 0 {
					o.Result = Failure
				}
				finish(o)
				attempts.Add(1)
				p.AllowRetry()
				if i%10 == 0 {
					_ = p.Snapshot()
				}
				rel()
				if i%50 == 0 {
					clk.Advance(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	s := p.Snapshot()
	var total uint64
	for _, n := range s.Nodes {
		if n.Inflight != 0 {
			t.Errorf("node %s inflight %d after all finished", n.Label, n.Inflight)
		}
		total += n.Requests
	}
	if total != uint64(attempts.Load()) {
		t.Errorf("node requests sum %d, want %d attempts", total, attempts.Load())
	}
	if s.Bulkhead.Held != 0 || s.Bulkhead.Waiting != 0 || s.Inflight != 0 {
		t.Errorf("bulkhead/inflight not drained: %+v, inflight %d", s.Bulkhead, s.Inflight)
	}
	if s.Nodes[0].Opens == 0 {
		t.Error("the failing node 0 never opened")
	}
	t.Logf("attempts %d, no node available %d, node 0 opened %d times", attempts.Load(), none.Load(), s.Nodes[0].Opens)
}

func benchPool(b *testing.B, policy string) *Pool {
	p := mustPool(b, PoolOptions{Labels: labels(3), Policy: policy, Weights: []int{5, 3, 2}})
	for i := range 3 {
		p.Node(i).observe(time.Duration(i+1)*100*time.Millisecond, false)
	}
	return p
}

// finishSink makes the finish func escape, as it does in the relay, so
// the benchmarks count its allocation.
var finishSink func(Outcome)

var policies = []string{config.PolicyPriority, config.PolicyWeighted, config.PolicyLeastLatency, config.PolicyLeastInflight}

// BenchmarkPick is Pick alone, per policy, on a 3-node pool.
func BenchmarkPick(b *testing.B) {
	for _, pol := range policies {
		b.Run(pol, func(b *testing.B) {
			p := benchPool(b, pol)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := p.Pick(0); !ok {
					b.Fatal("no node")
				}
			}
		})
	}
}

// BenchmarkHotPath is one attempt's bookkeeping: Pick, Start, finish.
func BenchmarkHotPath(b *testing.B) {
	for _, pol := range policies {
		b.Run(pol, func(b *testing.B) {
			p := benchPool(b, pol)
			o := Outcome{Result: Success, TTFB: 150 * time.Millisecond}
			b.ReportAllocs()
			for b.Loop() {
				n, _ := p.Pick(0)
				finishSink = n.Start()
				finishSink(o)
			}
		})
	}
	b.Run("least_latency/parallel", func(b *testing.B) {
		p := benchPool(b, config.PolicyLeastLatency)
		o := Outcome{Result: Success, TTFB: 150 * time.Millisecond}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n, _ := p.Pick(0)
				finishSink = n.Start()
				finishSink(o)
			}
		})
	})
}

func BenchmarkStartFinish(b *testing.B) {
	p := benchPool(b, config.PolicyPriority)
	n := p.Node(0)
	o := Outcome{Result: Success, TTFB: 150 * time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		finishSink = n.Start()
		finishSink(o)
	}
}

func BenchmarkBreakerRecord(b *testing.B) {
	for _, r := range []Result{Success, Failure} {
		b.Run(r.String(), func(b *testing.B) {
			// Thresholds out of reach: the breaker stays closed.
			br := NewBreaker(config.Breaker{ConsecutiveFailures: off, MinRequests: off}, nil)
			b.ReportAllocs()
			for b.Loop() {
				if br.Allow() {
					br.Record(r)
				}
			}
		})
	}
}

func BenchmarkCountRequestAllowRetry(b *testing.B) {
	p := benchPool(b, config.PolicyPriority)
	b.ReportAllocs()
	for b.Loop() {
		p.CountRequest()
		p.AllowRetry()
	}
}
