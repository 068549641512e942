package upstream

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

func labels(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = string(rune('a'+i%26)) + ".example"
	}
	return out
}

func mustPool(t testing.TB, o PoolOptions) *Pool {
	t.Helper()
	if o.Provider == "" {
		o.Provider = "p"
	}
	p, err := NewPool(o)
	if err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	return p
}

// pick returns the index Pick chose and finishes the attempt at once.
func pick(t *testing.T, p *Pool, exclude uint64, o Outcome) int {
	t.Helper()
	n, ok := p.Pick(exclude)
	if !ok {
		return -1
	}
	n.Start()(o)
	return n.Index()
}

func TestNewPoolErrors(t *testing.T) {
	tests := []struct {
		name string
		o    PoolOptions
		want string
	}{
		{"no nodes", PoolOptions{Provider: "x"}, "upstream x: 0 nodes, want 1 to 64"},
		{"too many nodes", PoolOptions{Provider: "x", Labels: labels(65)}, "upstream x: 65 nodes, want 1 to 64"},
		{"bad policy", PoolOptions{Provider: "x", Labels: labels(1), Policy: "fastest"}, `upstream x: unknown policy "fastest"`},
		{"weights length", PoolOptions{Provider: "x", Labels: labels(2), Weights: []int{1}}, "upstream x: 1 weights for 2 nodes"},
		{"negative weight", PoolOptions{Provider: "x", Labels: labels(2), Weights: []int{1, -1}}, "upstream x: node 1 weight -1 is negative"},
		{"negative bulkhead", PoolOptions{Provider: "x", Labels: labels(1), Bulkhead: config.Bulkhead{MaxInflight: -1}}, "upstream x: negative bulkhead setting"},
		{"negative retry", PoolOptions{Provider: "x", Labels: labels(1), Retry: config.Retry{BaseDelay: -1}}, "upstream x: negative retry setting"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPool(tc.o)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	p := mustPool(t, PoolOptions{Labels: labels(64)})
	if p.Len() != 64 || p.Node(63).Index() != 63 || p.Node(1).Label() != "b.example" {
		t.Errorf("64-node pool: len %d, node 63 index %d, node 1 label %q", p.Len(), p.Node(63).Index(), p.Node(1).Label())
	}
	if got := p.Snapshot().Policy; got != config.PolicyPriority {
		t.Errorf("default policy = %q, want priority", got)
	}
}

func TestPickPriority(t *testing.T) {
	clk := testkit.NewClock()
	// Fail fast (panic_threshold 0): TestPanic covers the default.
	p := mustPool(t, PoolOptions{Labels: labels(3), Now: clk.Now, Breaker: config.Breaker{ConsecutiveFailures: 1, MinRequests: off, PanicThreshold: new(float64)}})
	ok := Outcome{Result: Success, TTFB: time.Millisecond}
	if got := pick(t, p, 0, ok); got != 0 {
		t.Fatalf("pick = %d, want 0", got)
	}
	if got := pick(t, p, 1, ok); got != 1 {
		t.Fatalf("pick excluding 0 = %d, want 1", got)
	}
	if got := pick(t, p, 0b111, ok); got != -1 {
		t.Fatalf("pick excluding all = %d, want none", got)
	}
	pick(t, p, 0, Outcome{Result: Failure}) // opens node 0
	if got := pick(t, p, 0, ok); got != 1 {
		t.Fatalf("pick with node 0 open = %d, want 1", got)
	}
	if got := pick(t, p, 0b10, ok); got != 2 {
		t.Fatalf("pick with 0 open, 1 excluded = %d, want 2", got)
	}
	p.MarkHealth(2, errors.New("probe: 503"))
	if got := pick(t, p, 0b10, ok); got != -1 {
		t.Fatalf("pick with 0 open, 1 excluded, 2 failing = %d, want none", got)
	}
	p.MarkHealth(2, nil)
	if got := pick(t, p, 0b10, ok); got != 2 {
		t.Fatalf("pick after 2 passed its check = %d, want 2", got)
	}
}

func TestPickHalfOpenAdmitsOneProbe(t *testing.T) {
	clk := testkit.NewClock()
	p := mustPool(t, PoolOptions{Labels: labels(2), Now: clk.Now,
		Breaker: config.Breaker{ConsecutiveFailures: 1, MinRequests: off, OpenTime: time.Second, HalfOpenProbes: 2}})
	pick(t, p, 0, Outcome{Result: Failure})
	clk.Advance(time.Second)

	probe, ok := p.Pick(0)
	if !ok || probe.Index() != 0 {
		t.Fatalf("first pick after the open time = %v, want the half-open node 0", probe)
	}
	finish := probe.Start()
	// While the probe is out, node 0 is not available.
	for range 3 {
		if got := pick(t, p, 0, Outcome{Result: Success}); got != 1 {
			t.Fatalf("pick during the probe = %d, want 1", got)
		}
	}
	finish(Outcome{Result: Success, TTFB: time.Millisecond})
	if got := pick(t, p, 0, Outcome{Result: Success}); got != 0 {
		t.Fatalf("pick after one good probe = %d, want 0 (second probe)", got)
	}
	if got := p.Node(0).Breaker().State(); got != Closed {
		t.Fatalf("node 0 after two good probes: %s, want closed", got)
	}
}

func TestPickLeastInflight(t *testing.T) {
	p := mustPool(t, PoolOptions{Labels: labels(3), Policy: config.PolicyLeastInflight})
	var finishes []func(Outcome)
	want := []int{0, 1, 2, 0, 1, 2, 0}
	for i, w := range want {
		n, ok := p.Pick(0)
		if !ok || n.Index() != w {
			t.Fatalf("pick %d = %v, want node %d", i, n, w)
		}
		finishes = append(finishes, n.Start())
	}
	// In flight: 3, 2, 2. Finishing two on node 2 makes it the least busy.
	finishes[2](Outcome{Result: Success})
	finishes[5](Outcome{Result: Success})
	if n, _ := p.Pick(0); n.Index() != 2 {
		t.Fatalf("pick = %d, want 2 (0 in flight)", n.Index())
	}
	if n, _ := p.Pick(1 << 2); n.Index() != 1 {
		t.Fatalf("pick excluding 2 = %d, want 1", n.Index())
	}
	if got := p.Snapshot().Inflight; got != 5 {
		t.Errorf("pool inflight = %d, want 5", got)
	}
}

func TestPickWeighted(t *testing.T) {
	p := mustPool(t, PoolOptions{Labels: labels(3), Policy: config.PolicyWeighted, Weights: []int{1, 3, 0}, Rand: seeded(1)})
	counts := make([]int, 3)
	const n = 20000
	for range n {
		counts[pick(t, p, 0, Outcome{Result: Success})]++
	}
	if counts[2] != 0 {
		t.Errorf("weight-0 node picked %d times", counts[2])
	}
	if share := float64(counts[1]) / n; share < 0.73 || share > 0.77 {
		t.Errorf("weight-3 node share = %.3f, want 0.75±0.02 (counts %v)", share, counts)
	}
	// With the weighted nodes excluded the weight-0 node is the backup.
	if got := pick(t, p, 0b011, Outcome{Result: Success}); got != 2 {
		t.Errorf("pick with only the weight-0 node left = %d, want 2", got)
	}
	// Rand at its upper edge still lands on a weighted node.
	p2 := mustPool(t, PoolOptions{Labels: labels(3), Policy: config.PolicyWeighted, Weights: []int{1, 3, 0}, Rand: fixed(0.9999999999)})
	if got := pick(t, p2, 0, Outcome{}); got != 1 {
		t.Errorf("pick with rand≈1 = %d, want 1", got)
	}
}

func TestPickLeastLatency(t *testing.T) {
	p := mustPool(t, PoolOptions{Labels: labels(3), Policy: config.PolicyLeastLatency, Rand: fixed(0.5)})
	// Unmeasured nodes count as fastest, so each is tried in turn.
	lat := []time.Duration{300 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}
	for i := range 3 {
		if got := pick(t, p, 0, Outcome{Result: Success, TTFB: lat[i]}); got != i {
			t.Fatalf("pick %d = %d, want the unmeasured node %d", i, got, i)
		}
	}
	if got := pick(t, p, 0, Outcome{Result: Success, TTFB: 100 * time.Millisecond}); got != 1 {
		t.Fatalf("pick = %d, want the fastest node 1", got)
	}
	if got := pick(t, p, 1<<1, Outcome{}); got != 2 {
		t.Fatalf("pick excluding 1 = %d, want 2", got)
	}
	// Neutral outcomes do not move the average.
	before := p.Node(1).Latency()
	pick(t, p, 0, Outcome{Result: Neutral, TTFB: time.Hour})
	if got := p.Node(1).Latency(); got != before {
		t.Errorf("neutral outcome moved latency %v -> %v", before, got)
	}
	// EWMA: 100ms, then a 1s sample: 100 + 0.3*(1000-100) = 370ms.
	pick(t, p, 0, Outcome{Result: Failure, TTFB: time.Second})
	if got := p.Node(1).Latency(); got != 370*time.Millisecond {
		t.Errorf("latency after a 1s failure = %v, want 370ms", got)
	}
}

func TestPickLeastLatencyExploration(t *testing.T) {
	p := mustPool(t, PoolOptions{Labels: labels(3), Policy: config.PolicyLeastLatency, Rand: seeded(7)})
	lat := []time.Duration{time.Second, 100 * time.Millisecond, 2 * time.Second}
	for i := range lat {
		p.Node(i).observe(lat[i], false)
	}
	counts := make([]int, 3)
	const n = 20000
	for range n {
		nd, _ := p.Pick(0)
		counts[nd.Index()]++
		nd.Start()(Outcome{}) // neutral: the averages stay put
	}
	// 5% exploration, split evenly between the two others.
	for i, want := range []float64{0.025, 0.95, 0.025} {
		if got := float64(counts[i]) / n; got < want-0.008 || got > want+0.008 {
			t.Errorf("node %d share = %.4f, want %.3f (counts %v)", i, got, want, counts)
		}
	}
}

func TestOnBreakerHook(t *testing.T) {
	clk := testkit.NewClock()
	var got []string
	p := mustPool(t, PoolOptions{Labels: []string{"a.example", "b.example"}, Now: clk.Now,
		Breaker:   config.Breaker{ConsecutiveFailures: 1, MinRequests: off, OpenTime: time.Second, HalfOpenProbes: 1},
		OnBreaker: func(node string, from, to State) { got = append(got, node+":"+from.String()+">"+to.String()) }})
	pick(t, p, 1, Outcome{Result: Failure})
	clk.Advance(time.Second)
	pick(t, p, 1, Outcome{Result: Success})
	want := "b.example:closed>open b.example:open>half_open b.example:half_open>closed"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("hook calls = %q, want %q", s, want)
	}
}
