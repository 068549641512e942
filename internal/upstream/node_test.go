package upstream

import (
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

// A node that fails fast (an instant 529) must look slower, not faster:
// failures count at least twice the average.
func TestFastFailuresRaiseLatency(t *testing.T) {
	clk := testkit.NewClock()
	p, err := NewPool(PoolOptions{Provider: "p", Labels: []string{"a"}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	n := p.Node(0)
	n.Start()(Outcome{Result: Success, TTFB: 700 * time.Millisecond})
	prev := n.Latency()
	for i := range 3 {
		n.Start()(Outcome{Result: Failure, TTFB: 5 * time.Millisecond})
		if got := n.Latency(); got <= prev {
			t.Fatalf("failure %d in 5ms: average %v, was %v: want it to rise", i+1, got, prev)
		}
		prev = n.Latency()
	}
}

// A stream held after its headers keeps the node in flight but not its
// half-open probe slot; a break recorded at its end counts as a failure
// without counting a second request.
func TestHoldReleasesProbeSlot(t *testing.T) {
	clk := testkit.NewClock()
	p, err := NewPool(PoolOptions{Provider: "p", Labels: []string{"a"}, Now: clk.Now,
		Breaker: config.Breaker{ConsecutiveFailures: 1, OpenTime: time.Second, HalfOpenProbes: 2}})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := p.Pick(0)
	n.Start()(Outcome{Result: Failure, TTFB: time.Millisecond})
	if n.Breaker().State() != Open {
		t.Fatalf("state %v, want open", n.Breaker().State())
	}
	clk.Advance(2 * time.Second)
	probe, ok := p.Pick(0) // the one probe slot
	if !ok {
		t.Fatal("no probe admitted after the open time")
	}
	probe.Start()(Outcome{Result: Success, TTFB: time.Millisecond}) // headers of a stream
	end := probe.Hold()
	if _, ok := p.Pick(0); !ok {
		t.Fatal("a held stream kept the half-open probe slot: no second probe")
	}
	if probe.Inflight() != 1 {
		t.Errorf("inflight %d during the stream, want 1", probe.Inflight())
	}
	before := p.Snapshot().Nodes[0].Requests
	end(true)
	s := p.Snapshot().Nodes[0]
	if s.Inflight != 0 || s.Requests != before || s.Failures != 2 {
		t.Errorf("after a broken stream: inflight %d, requests %d (was %d), failures %d; want 0, unchanged, 2", s.Inflight, s.Requests, before, s.Failures)
	}
}
