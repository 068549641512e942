package upstream

import (
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

// TestPanic: a one-node pool whose breaker is open is refused by Pick and
// Choose without force (a route may still have another target), and called
// anyway with force; a threshold of 0 never panics; a pool below the
// threshold spreads its picks over every node, open ones included.
func TestPanic(t *testing.T) {
	clk := testkit.NewClock()
	br := config.Breaker{ConsecutiveFailures: 1, MinRequests: off, OpenTime: 3 * time.Second}
	one := mustPool(t, PoolOptions{Labels: labels(1), Now: clk.Now, Breaker: br})
	pick(t, one, 0, Outcome{Result: Failure}) // opens the only node
	if _, ok := one.Pick(0); ok {
		t.Fatal("Pick chose a node whose breaker is open")
	}
	if !one.Panicking() {
		t.Error("a pool with its only node open is not in panic")
	}
	n, panicked, ok := one.Choose(0, true)
	if !ok || !panicked || n.Index() != 0 {
		t.Fatalf("Choose(force) = %v %v %v, want node 0 in panic", n, panicked, ok)
	}
	n.Start()(Outcome{Result: Success, TTFB: time.Millisecond})
	if got := one.Node(0).Breaker().State(); got != Open {
		t.Errorf("a panic call closed the open breaker: %v", got)
	}
	if _, _, ok := one.Choose(1, true); ok {
		t.Error("Choose(force) chose an excluded node")
	}
	if got := one.Panics(); got != 1 {
		t.Errorf("Panics = %d, want 1", got)
	}
	if got := one.NextProbe(); got != 3*time.Second {
		t.Errorf("NextProbe = %v, want 3s", got)
	}
	s := one.Snapshot()
	if !s.Panic || s.PanicRouted != 1 || s.PanicThreshold != config.DefaultPanicThreshold {
		t.Errorf("snapshot panic fields %v %d %g", s.Panic, s.PanicRouted, s.PanicThreshold)
	}

	off0 := br
	off0.PanicThreshold = new(float64)
	ff := mustPool(t, PoolOptions{Labels: labels(1), Now: clk.Now, Breaker: off0})
	pick(t, ff, 0, Outcome{Result: Failure})
	if _, _, ok := ff.Choose(0, true); ok || ff.Panicking() {
		t.Error("panic_threshold 0 still panics")
	}

	// 1 of 3 available (33% < 50%): the available node keeps the load it
	// would carry at the threshold (1/1.5 = 2/3 of picks); the rest is
	// spread over the open nodes, and only that counts as panic.
	three := mustPool(t, PoolOptions{Labels: labels(3), Now: clk.Now, Breaker: br, Rand: seeded(1)})
	three.Node(0).Start()(Outcome{Result: Failure})
	three.Node(1).Start()(Outcome{Result: Failure})
	seen, panics := map[int]int{}, 0
	for range 600 {
		n, panicked, ok := three.Choose(0, false)
		if !ok || panicked != (n.Index() != 2) {
			t.Fatalf("Choose = node %d, panic %v, ok %v", n.Index(), panicked, ok)
		}
		if panicked {
			panics++
		}
		seen[n.Index()]++
		n.Start()(Outcome{Result: Neutral})
	}
	if seen[2] < 340 || seen[2] > 460 || seen[0] < 60 || seen[1] < 60 {
		t.Errorf("picks %v of 600, want about 400 for the available node and 100 for each open one", seen)
	}
	if got := three.Panics(); got != uint64(panics) {
		t.Errorf("Panics = %d, want %d", got, panics)
	}
	// 2 of 3 available: no panic, the open node is skipped.
	clk.Advance(3 * time.Second)
	three.Node(1).Breaker().Allow()
	three.Node(1).Breaker().Record(Success)
	three.Node(1).Breaker().Allow()
	three.Node(1).Breaker().Record(Success)
	for range 20 {
		n, panicked, ok := three.Choose(0, false)
		if !ok || panicked || n.Index() == 0 && n.Breaker().State() == Open {
			t.Fatalf("Choose with 2 of 3 up = %v %v", panicked, ok)
		}
		n.Start()(Outcome{Result: Neutral})
	}
}

// TestRepeatFailureCountsOnce: a request that fails three times on the same
// node is one failure toward consecutive_failures, so two such requests do
// not open a breaker that opens after three.
func TestRepeatFailureCountsOnce(t *testing.T) {
	p := mustPool(t, PoolOptions{Labels: labels(1), Breaker: config.Breaker{ConsecutiveFailures: 3, MinRequests: off}})
	n := p.Node(0)
	for range 2 {
		for attempt := range 3 {
			n.Start()(Outcome{Result: Failure, Repeat: attempt > 0})
		}
	}
	if got := n.Breaker().State(); got != Closed {
		t.Errorf("breaker %v after two requests of three failed attempts, want closed", got)
	}
	s := p.Snapshot().Nodes[0]
	if s.ConsecutiveFailures != 2 || s.Failures != 6 {
		t.Errorf("consecutive %d, failures %d; want 2 and 6", s.ConsecutiveFailures, s.Failures)
	}
}

// BenchmarkChoosePanic is a pick in a pool in panic (1 of 3 nodes
// available), against BenchmarkPick's healthy pools.
func BenchmarkChoosePanic(b *testing.B) {
	p := mustPool(b, PoolOptions{Labels: labels(3), Breaker: config.Breaker{ConsecutiveFailures: 1, MinRequests: off}, Rand: seeded(1)})
	p.Node(0).Start()(Outcome{Result: Failure})
	p.Node(1).Start()(Outcome{Result: Failure})
	b.ReportAllocs()
	for b.Loop() {
		n, _, ok := p.Choose(0, false)
		if !ok {
			b.Fatal("no node")
		}
		n.Start()(Outcome{})
	}
}

// TestPanicAfterAvailableTried: in panic, a retry whose available nodes
// were all tried gets an unavailable node rather than none.
func TestPanicAfterAvailableTried(t *testing.T) {
	p := mustPool(t, PoolOptions{Labels: labels(3), Breaker: config.Breaker{ConsecutiveFailures: 1, MinRequests: off}, Rand: fixed(0.1)})
	p.Node(0).Start()(Outcome{Result: Failure})
	p.Node(1).Start()(Outcome{Result: Failure})
	n, panicked, ok := p.Choose(1<<2, false)
	if !ok || !panicked || n.Index() == 2 {
		t.Fatalf("Choose excluding the available node = %v %v %v, want an open node in panic", n, panicked, ok)
	}
	n.Start()(Outcome{})
	if _, _, ok := p.Choose(0b111, false); ok {
		t.Error("Choose with every node excluded chose one")
	}
}
