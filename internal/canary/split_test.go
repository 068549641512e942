package canary

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

func fixed(v float64) func() float64 { return func() float64 { return v } }

func seeded(seed uint64) func() float64 {
	r := rand.New(rand.NewPCG(seed, seed+1))
	var mu sync.Mutex
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return r.Float64()
	}
}

func mustNew(t testing.TB, o Options) *Split {
	t.Helper()
	if o.Route == "" {
		o.Route = "claude-*"
	}
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// primaryCanary is the usual 95/5 split.
func primaryCanary() []Target {
	return []Target{{Name: "anthropic", Weight: 95}, {Name: "bedrock/claude", Weight: 5, Canary: true}}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		o    Options
		want string
	}{
		{Options{Route: "r"}, "canary r: no targets"},
		{Options{Route: "r", Targets: []Target{{Name: "a", Weight: -1}}}, "canary r: target a weight -1 is negative"},
		{Options{Route: "r", Targets: []Target{{Name: "a"}}, Guard: config.CanaryGuard{MaxErrorRate: -0.1}}, "canary r: negative guard setting"},
	}
	for _, tc := range tests {
		if _, err := New(tc.o); err == nil || err.Error() != tc.want {
			t.Errorf("New(%+v) = %v, want %q", tc.o, err, tc.want)
		}
	}
}

func TestOrderUnweighted(t *testing.T) {
	s := mustNew(t, Options{Targets: []Target{{Name: "a"}, {Name: "b"}, {Name: "c", Canary: true}}, Rand: seeded(1)})
	if s.Weighted() {
		t.Fatal("Weighted() = true without weights")
	}
	for _, key := range []string{"", "k1", "k2"} {
		if diff := cmp.Diff([]int{0, 1, 2}, s.Order(key, nil)); diff != "" {
			t.Errorf("Order(%q) (-want +got):\n%s", key, diff)
		}
	}
	s.Record(2, false, time.Second)
	if got := s.Snapshot().Targets[2].WindowRequests; got != 0 {
		t.Errorf("unweighted Record counted %d requests, want 0", got)
	}
}

func TestOrderWeighted(t *testing.T) {
	targets := []Target{{Name: "a", Weight: 95}, {Name: "b", Weight: 5}, {Name: "c"}}
	tests := []struct {
		rand float64
		want []int
	}{
		{0, []int{0, 1, 2}},
		{0.9499, []int{0, 1, 2}},
		{0.95, []int{1, 0, 2}},
		{0.9999999999, []int{1, 0, 2}},
	}
	for _, tc := range tests {
		s := mustNew(t, Options{Targets: targets, Rand: fixed(tc.rand)})
		if diff := cmp.Diff(tc.want, s.Order("", nil)); diff != "" {
			t.Errorf("rand %v: Order (-want +got):\n%s", tc.rand, diff)
		}
	}
}

func TestWeightZeroNeverFirst(t *testing.T) {
	s := mustNew(t, Options{Targets: []Target{{Name: "a"}, {Name: "b", Weight: 3}, {Name: "c"}, {Name: "d", Weight: 1}}, Rand: seeded(2)})
	firsts := map[int]int{}
	dst := make([]int, 0, 4)
	for i := range 20000 {
		key := ""
		if i%2 == 0 {
			key = fmt.Sprint("key-", i)
		}
		dst = s.Order(key, dst)
		firsts[dst[0]]++
		if len(dst) != 4 {
			t.Fatalf("Order = %v, want all 4 targets", dst)
		}
		// The fallback chain is the config order without the first.
		prev := -1
		for _, j := range dst[1:] {
			if j <= prev {
				t.Fatalf("Order = %v: fallback chain out of config order", dst)
			}
			prev = j
		}
	}
	if firsts[0] != 0 || firsts[2] != 0 {
		t.Fatalf("weight-0 targets went first: %v", firsts)
	}
	if share := float64(firsts[1]) / 20000; share < 0.73 || share > 0.77 {
		t.Errorf("weight-3 share = %.3f, want 0.75±0.02", share)
	}
}

func TestStickyStable(t *testing.T) {
	s := mustNew(t, Options{Targets: primaryCanary(), Rand: seeded(3)})
	again := mustNew(t, Options{Targets: primaryCanary(), Rand: seeded(4)}) // a restart, another instance
	var dst []int
	for i := range 1000 {
		key := fmt.Sprintf("sk-ant-%04d", i)
		dst = s.Order(key, dst)
		first := dst[0]
		for range 3 {
			if got := s.Order(key, dst)[0]; got != first {
				t.Fatalf("key %q went to %d then %d", key, first, got)
			}
		}
		if got := again.Order(key, dst)[0]; got != first {
			t.Fatalf("key %q: %d here, %d in another split with the same weights", key, first, got)
		}
	}
	// Random keys split 95/5 within 2 points.
	r := rand.New(rand.NewPCG(5, 6))
	canary := 0
	const n = 10000
	for range n {
		key := fmt.Sprintf("%016x%08x", r.Uint64(), r.Uint32())
		if s.Order(key, dst)[0] == 1 {
			canary++
		}
	}
	if share := float64(canary) / n; share < 0.03 || share > 0.07 {
		t.Errorf("canary share of %d random keys = %.4f, want 0.05±0.02", n, share)
	}
	// Similar short keys spread too.
	canary = 0
	for i := range n {
		if s.Order(fmt.Sprint(i), dst)[0] == 1 {
			canary++
		}
	}
	if share := float64(canary) / n; share < 0.03 || share > 0.07 {
		t.Errorf("canary share of keys 0..%d = %.4f, want 0.05±0.02", n-1, share)
	}
}

func TestPromoteAndRollback(t *testing.T) {
	clk := testkit.NewClock()
	s := mustNew(t, Options{Targets: []Target{{Name: "a", Weight: 90}, {Name: "b", Weight: 10}, {Name: "c", Weight: 5, Canary: true}},
		Now: clk.Now, Rand: seeded(7), Guard: config.CanaryGuard{MinRequests: 5}})
	firsts := func() map[int]int {
		m := map[int]int{}
		for i := range 2000 {
			m[s.Order(fmt.Sprint(i), nil)[0]]++
		}
		return m
	}
	if err := s.Promote(); err != nil {
		t.Fatal(err)
	}
	if got := firsts(); got[2] != 2000 {
		t.Fatalf("after promote firsts = %v, want all on the canary", got)
	}
	if diff := cmp.Diff([]int{2, 0, 1}, s.Order("x", nil)); diff != "" {
		t.Errorf("after promote Order (-want +got):\n%s", diff)
	}
	// The guard is off for a promoted canary.
	for range 50 {
		s.Record(2, false, time.Second)
	}
	snap := s.Snapshot()
	if snap.Targets[2].Weight != 5 || snap.Targets[0].Weight != 0 || snap.LastEvent.Action != ActionPromote {
		t.Fatalf("after promote and failures: %+v", snap)
	}

	clk.Advance(time.Minute)
	if err := s.Rollback(); err != nil {
		t.Fatal(err)
	}
	got := firsts()
	if got[2] != 0 || got[0] == 0 || got[1] == 0 {
		t.Fatalf("after rollback firsts = %v, want a and b only", got)
	}
	snap = s.Snapshot()
	want := []int{90, 10, 0}
	for i, w := range want {
		if snap.Targets[i].Weight != w {
			t.Errorf("after rollback target %d weight %d, want %d", i, snap.Targets[i].Weight, w)
		}
	}
	if e := snap.LastEvent; e.Action != ActionRollback || !e.Time.Equal(clk.Now()) {
		t.Errorf("last event = %+v, want a rollback now", e)
	}

	noCanary := mustNew(t, Options{Targets: []Target{{Name: "a", Weight: 1}}})
	if err := noCanary.Promote(); err == nil || err.Error() != "canary claude-*: promote: route has no canary target" {
		t.Errorf("Promote without canary = %v", err)
	}
	if err := noCanary.Rollback(); err == nil || err.Error() != "canary claude-*: rollback: route has no canary target" {
		t.Errorf("Rollback without canary = %v", err)
	}
}

func TestPromoteUnweightedCanary(t *testing.T) {
	// A canary flag without weights: the route is unweighted until the
	// canary is promoted, and again after a rollback.
	s := mustNew(t, Options{Targets: []Target{{Name: "a"}, {Name: "b", Canary: true}}})
	if s.Weighted() {
		t.Fatal("weighted before promote")
	}
	if err := s.Promote(); err != nil {
		t.Fatal(err)
	}
	if !s.Weighted() || s.Order("k", nil)[0] != 1 {
		t.Fatalf("after promote: weighted %v, order %v; want the canary first", s.Weighted(), s.Order("k", nil))
	}
	if err := s.Rollback(); err != nil {
		t.Fatal(err)
	}
	if s.Weighted() || s.Order("k", nil)[0] != 0 {
		t.Fatalf("after rollback: weighted %v, order %v; want config order", s.Weighted(), s.Order("k", nil))
	}
}

func TestCarryFrom(t *testing.T) {
	targets := []Target{{Name: "a", Weight: 90}, {Name: "b", Weight: 10, Canary: true}}
	prev, err := New(Options{Route: "r", Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	if err := prev.Promote(); err != nil {
		t.Fatal(err)
	}
	same, _ := New(Options{Route: "r", Targets: targets})
	if !same.CarryFrom(prev) || !slices.Equal(same.Weights(), []int{0, 10}) {
		t.Errorf("same targets: weights %v, want the promoted [0 10]", same.Weights())
	}
	if same.Snapshot().LastEvent == nil {
		t.Error("last event not carried")
	}
	changed, _ := New(Options{Route: "r", Targets: []Target{{Name: "a", Weight: 80}, {Name: "b", Weight: 20, Canary: true}}})
	if changed.CarryFrom(prev) || !slices.Equal(changed.Weights(), []int{80, 20}) {
		t.Errorf("changed weights: %v, want the configured [80 20]", changed.Weights())
	}
}
