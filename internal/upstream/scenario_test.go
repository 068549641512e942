package upstream

import (
	"fmt"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

// TestLeastLatencyScenario drives two nodes through a degradation, an
// outage and a recovery on a fake clock, a request every 100ms.
func TestLeastLatencyScenario(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 6, 11, 18, 42} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { leastLatencyScenario(t, seed) })
	}
}

func leastLatencyScenario(t *testing.T, seed uint64) {
	clk := testkit.NewClock()
	p := mustPool(t, PoolOptions{
		Provider: "anthropic",
		Labels:   []string{"a", "b"},
		Policy:   config.PolicyLeastLatency,
		Now:      clk.Now,
		Rand:     seeded(seed),
		Breaker:  config.Breaker{}, // the defaults: 5 in a row, 5s open, 2 probes
	})
	const step = 100 * time.Millisecond
	type behaviour struct {
		ttfb time.Duration
		fail bool
	}
	nodes := map[string]behaviour{"a": {600 * time.Millisecond, false}, "b": {1200 * time.Millisecond, false}}

	// run sends n requests and returns the share that went to a, and the
	// index of the first request that went to b (-1: none).
	run := func(n int) (shareA float64, firstB int) {
		a := 0
		firstB = -1
		for i := range n {
			nd, ok := p.Pick(0)
			if !ok {
				t.Fatalf("request %d: no node available", i)
			}
			bh := nodes[nd.Label()]
			o := Outcome{Result: Success, TTFB: bh.ttfb}
			if bh.fail {
				o.Result = Failure
			}
			nd.Start()(o)
			if nd.Label() == "a" {
				a++
			} else if firstB < 0 {
				firstB = i
			}
			clk.Advance(step)
		}
		return float64(a) / float64(n), firstB
	}

	// 1. A is twice as fast: it gets the traffic, B only the exploration.
	if share, _ := run(1000); share < 0.90 {
		t.Fatalf("healthy: a got %.3f of the traffic, want > 0.90", share)
	}

	// 2. A degrades to 3s: one slow answer puts its average above B's.
	nodes["a"] = behaviour{3 * time.Second, false}
	// (Exploration may send a second request to A before that.)
	if _, firstB := run(20); firstB < 0 || firstB > 4 {
		t.Fatalf("degraded: first pick of b at request %d, want within 5", firstB)
	}
	if share, _ := run(500); share > 0.10 {
		t.Fatalf("degraded: a still got %.3f of the traffic, want < 0.10", share)
	}

	// 3. A fails (timeouts after 5s): exploration feeds it failures until
	// its breaker opens; then it gets nothing.
	nodes["a"] = behaviour{5 * time.Second, true}
	opened := -1
	for i := range 2000 {
		run(1)
		if p.Node(0).Breaker().State() == Open {
			opened = i
			break
		}
	}
	if opened < 0 {
		t.Fatal("failing: a's breaker never opened")
	}
	t.Logf("a's breaker opened after %d requests (%v simulated)", opened+1, time.Duration(opened+1)*step)
	// Open for 5s = 50 requests: none reaches A.
	if share, _ := run(45); share != 0 {
		t.Fatalf("open: a got %.3f of the traffic, want 0", share)
	}
	if s := p.Snapshot().Nodes[0]; s.State != Open || s.Opens != 1 || s.Failures < 5 {
		t.Fatalf("open: node a snapshot %+v", s)
	}

	// 4. A recovers: once half-open, exploration probes it, the probes
	// close the breaker and bring its average down, and traffic returns.
	nodes["a"] = behaviour{600 * time.Millisecond, false}
	back := -1
	for i := range 20 {
		share, _ := run(50)
		if share > 0.90 {
			back = i
			break
		}
	}
	if back < 0 {
		t.Fatalf("recovered: traffic never returned to a (snapshot %+v)", p.Snapshot().Nodes)
	}
	t.Logf("traffic back on a within %d requests (%v simulated)", (back+1)*50, time.Duration((back+1)*50)*step)
	if got := p.Node(0).Breaker().State(); got != Closed {
		t.Fatalf("recovered: a's breaker %s, want closed", got)
	}
	if share, _ := run(1000); share < 0.90 {
		t.Fatalf("recovered: a got %.3f of the traffic, want > 0.90", share)
	}
}
