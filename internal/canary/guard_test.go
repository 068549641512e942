package canary

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

type rollbacks struct {
	mu  sync.Mutex
	got []string
}

func (r *rollbacks) hook(target, reason string) {
	r.mu.Lock()
	r.got = append(r.got, target+": "+reason)
	r.mu.Unlock()
}

func guarded(t *testing.T, g config.CanaryGuard) (*Split, *testkit.Clock, *rollbacks) {
	t.Helper()
	clk := testkit.NewClock()
	rb := &rollbacks{}
	s := mustNew(t, Options{Route: "claude-*", Targets: primaryCanary(), Guard: g, Now: clk.Now, Rand: fixed(0), OnRollback: rb.hook})
	return s, clk, rb
}

// feed records n outcomes for target i, fails of them failures, spread
// evenly.
func feed(s *Split, i, n, fails int, latency time.Duration) {
	for k := range n {
		failed := (k+1)*fails/n > k*fails/n
		s.Record(i, !failed, latency)
	}
}

// canaryFirst reports whether any of 400 sticky keys goes to the canary
// first (about 20 do at 5%).
func canaryFirst(s *Split) bool {
	for i := range 400 {
		if s.Order(fmt.Sprint("key-", i), nil)[0] == 1 {
			return true
		}
	}
	return false
}

func TestAutoRollbackOnErrorRate(t *testing.T) {
	s, clk, rb := guarded(t, config.CanaryGuard{MinRequests: 20, MaxErrorRate: 0.05, Window: 5 * time.Minute})
	feed(s, 0, 100, 2, 500*time.Millisecond) // primary: 2%
	// 6 failures in 19: below min_requests, no verdict yet.
	feed(s, 1, 19, 6, 500*time.Millisecond)
	if len(rb.got) != 0 || !canaryFirst(s) {
		t.Fatalf("rolled back below min_requests: %v", rb.got)
	}
	clk.Advance(time.Second)
	s.Record(1, false, 500*time.Millisecond) // 7 in 20 = 0.35
	want := []string{"bedrock/claude: error rate 0.35 vs 0.02"}
	if diff := cmp.Diff(want, rb.got); diff != "" {
		t.Fatalf("rollbacks (-want +got):\n%s", diff)
	}
	if canaryFirst(s) {
		t.Fatal("canary still gets traffic after the rollback")
	}
	// More failures do not call the hook again.
	feed(s, 1, 10, 10, time.Second)
	if len(rb.got) != 1 {
		t.Errorf("hook called %d times, want once", len(rb.got))
	}
	e := s.Snapshot().LastEvent
	wantEvent := &Event{Time: clk.Now(), Action: ActionAutoRollback, Target: "bedrock/claude", Reason: "error rate 0.35 vs 0.02"}
	if diff := cmp.Diff(wantEvent, e); diff != "" {
		t.Errorf("last event (-want +got):\n%s", diff)
	}
}

func TestNoRollbackWithinMargin(t *testing.T) {
	s, _, rb := guarded(t, config.CanaryGuard{MinRequests: 20, MaxErrorRate: 0.05})
	feed(s, 0, 100, 10, 500*time.Millisecond) // primary: 10%
	feed(s, 1, 100, 14, 500*time.Millisecond) // canary: 14%, within 5 points
	if len(rb.got) != 0 {
		t.Fatalf("rolled back within the margin: %v", rb.got)
	}
}

func TestAutoRollbackOnLatency(t *testing.T) {
	g := config.CanaryGuard{MinRequests: 20, MaxLatencyRatio: 2}
	t.Run("slow canary", func(t *testing.T) {
		s, _, rb := guarded(t, g)
		feed(s, 0, 50, 0, 500*time.Millisecond)
		feed(s, 1, 20, 0, 1200*time.Millisecond)
		want := []string{"bedrock/claude: p95 latency 1.28s vs 512ms"}
		if diff := cmp.Diff(want, rb.got); diff != "" {
			t.Fatalf("rollbacks (-want +got):\n%s", diff)
		}
	})
	t.Run("at the ratio", func(t *testing.T) {
		s, _, rb := guarded(t, g)
		feed(s, 0, 50, 0, 500*time.Millisecond)  // bucket up to 512ms
		feed(s, 1, 50, 0, 1000*time.Millisecond) // bucket up to 1024ms: exactly 2x
		if len(rb.got) != 0 {
			t.Fatalf("rolled back at exactly the ratio: %v", rb.got)
		}
	})
	t.Run("p95 not median", func(t *testing.T) {
		s, _, rb := guarded(t, g)
		feed(s, 0, 100, 0, 500*time.Millisecond)
		// 90 fast, 10 very slow: the median is fine, the p95 is not.
		feed(s, 1, 90, 0, 400*time.Millisecond)
		if len(rb.got) != 0 {
			t.Fatalf("rolled back on fast answers: %v", rb.got)
		}
		feed(s, 1, 10, 0, 5*time.Second)
		if len(rb.got) != 1 {
			t.Fatalf("slow tail did not roll back: %v", rb.got)
		}
	})
	t.Run("primary below min_requests", func(t *testing.T) {
		s, _, rb := guarded(t, g)
		feed(s, 0, 19, 0, 500*time.Millisecond)
		feed(s, 1, 50, 0, 5*time.Second)
		if len(rb.got) != 0 {
			t.Fatalf("latency rollback with too little primary data: %v", rb.got)
		}
	})
}

func TestWindowForgetsOldFailures(t *testing.T) {
	s, clk, rb := guarded(t, config.CanaryGuard{MinRequests: 20, MaxErrorRate: 0.05, Window: time.Minute})
	feed(s, 0, 100, 0, 500*time.Millisecond)
	feed(s, 1, 15, 15, 500*time.Millisecond) // 15 failures, below min_requests
	if got := s.Snapshot().Targets[1]; got.WindowRequests != 15 || got.ErrorRate != 1 {
		t.Fatalf("canary window = %+v, want 15 requests, all failed", got)
	}
	clk.Advance(61 * time.Second)
	if got := s.Snapshot().Targets[1]; got.WindowRequests != 0 || got.ErrorRate != 0 || got.P95Ms != 0 {
		t.Fatalf("canary window after expiry = %+v, want empty", got)
	}
	// 20 successes now: had the old failures counted this would be 15 in 35.
	feed(s, 1, 20, 0, 500*time.Millisecond)
	if len(rb.got) != 0 {
		t.Fatalf("rolled back on expired failures: %v", rb.got)
	}
	// 30s on, those successes are still in the window (and the primary's
	// old requests are not): 2 failures in 22 exceed 0 + 0.05.
	clk.Advance(30 * time.Second)
	s.Record(1, false, time.Second)
	if len(rb.got) != 0 {
		t.Fatalf("rolled back at 1 failure in 21: %v", rb.got)
	}
	s.Record(1, false, time.Second)
	want := []string{"bedrock/claude: error rate 0.09 vs 0.00"}
	if diff := cmp.Diff(want, rb.got); diff != "" {
		t.Fatalf("rollbacks (-want +got):\n%s", diff)
	}
}

func TestLatencyBuckets(t *testing.T) {
	prev := -1
	for ms := time.Duration(0); ms < 80*time.Minute; ms += ms/64 + time.Millisecond {
		i := latBucket(ms)
		if i < prev {
			t.Fatalf("latBucket(%v) = %d < %d: not monotonic", ms, i, prev)
		}
		prev = i
		if i < latBuckets-1 && latUpper(i) <= ms {
			t.Fatalf("latBucket(%v) = %d whose upper bound %v is not above it", ms, i, latUpper(i))
		}
		if i > 0 && latUpper(i-1) > ms {
			t.Fatalf("latBucket(%v) = %d but bucket %d reaches %v", ms, i, i-1, latUpper(i-1))
		}
		if i >= 4 && float64(latUpper(i)) > 1.26*float64(latUpper(i-1)) {
			t.Fatalf("bucket %d spans %v..%v: wider than 25%%", i, latUpper(i-1), latUpper(i))
		}
	}
	if got := latBucket(2 * time.Hour); got != latBuckets-1 {
		t.Errorf("latBucket(2h) = %d, want the last bucket", got)
	}
}

func TestSnapshotJSON(t *testing.T) {
	s, _, _ := guarded(t, config.CanaryGuard{MinRequests: 20})
	feed(s, 0, 40, 1, 500*time.Millisecond)
	feed(s, 1, 20, 20, time.Second)
	got, err := json.MarshalIndent(s.Snapshot(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "route": "claude-*",
  "targets": [
    {
      "name": "anthropic",
      "weight": 95,
      "configured_weight": 95,
      "canary": false,
      "window_requests": 40,
      "error_rate": 0.025,
      "p95_ms": 512
    },
    {
      "name": "bedrock/claude",
      "weight": 0,
      "configured_weight": 5,
      "canary": true,
      "window_requests": 20,
      "error_rate": 1,
      "p95_ms": 1024
    }
  ],
  "last_event": {
    "time": "2025-03-01T12:00:00Z",
    "action": "auto_rollback",
    "target": "bedrock/claude",
    "reason": "error rate 1.00 vs 0.03"
  }
}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("snapshot JSON (-want +got):\n%s", diff)
	}
}

func TestConcurrentUse(t *testing.T) {
	clk := testkit.NewClock()
	var hooks sync.Map
	s := mustNew(t, Options{Targets: primaryCanary(), Now: clk.Now, Rand: seeded(9),
		Guard:      config.CanaryGuard{MinRequests: 20, Window: time.Second},
		OnRollback: func(target, reason string) { hooks.Store(reason, true) }})
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			dst := make([]int, 0, 2)
			for i := range 3000 {
				dst = s.Order(string(rune('a'+i%26)), dst)
				s.Record(dst[0], (i+g)%5 != 0 || dst[0] == 0, time.Duration(i%700)*time.Millisecond)
				switch {
				case g == 0 && i%500 == 0:
					_ = s.Promote()
				case g == 1 && i%500 == 250:
					_ = s.Rollback()
				case i%100 == 0:
					_ = s.Snapshot()
					clk.Advance(10 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	snap := s.Snapshot()
	if snap.LastEvent == nil {
		t.Fatal("no event after promotes and rollbacks")
	}
	for _, tg := range snap.Targets {
		if tg.Weight != 0 && tg.Weight != tg.ConfiguredWeight {
			t.Errorf("target %s weight %d: neither 0 nor configured %d", tg.Name, tg.Weight, tg.ConfiguredWeight)
		}
	}
}

func TestRollbackOnlyTheFailingCanary(t *testing.T) {
	clk := testkit.NewClock()
	rb := &rollbacks{}
	s := mustNew(t, Options{Targets: []Target{{Name: "a", Weight: 80}, {Name: "b", Weight: 10, Canary: true}, {Name: "c", Weight: 10, Canary: true}},
		Guard: config.CanaryGuard{MinRequests: 20}, Now: clk.Now, OnRollback: rb.hook})
	feed(s, 0, 100, 0, 300*time.Millisecond)
	feed(s, 1, 40, 0, 300*time.Millisecond) // healthy canary
	feed(s, 2, 20, 10, 300*time.Millisecond)
	if diff := cmp.Diff([]string{"c: error rate 0.50 vs 0.00"}, rb.got); diff != "" {
		t.Fatalf("rollbacks (-want +got):\n%s", diff)
	}
	var weights []int
	for _, tg := range s.Snapshot().Targets {
		weights = append(weights, tg.Weight)
	}
	if diff := cmp.Diff([]int{80, 10, 0}, weights); diff != "" {
		t.Errorf("weights (-want +got):\n%s", diff)
	}
}
