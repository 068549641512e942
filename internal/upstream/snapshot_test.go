package upstream

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

func TestSnapshotJSON(t *testing.T) {
	clk := testkit.NewClock() // 2025-03-01T12:00:00Z
	p := mustPool(t, PoolOptions{
		Provider: "anthropic",
		Labels:   []string{"api-1.example", "api-2.example"},
		Policy:   config.PolicyLeastLatency,
		Now:      clk.Now,
		Rand:     fixed(0.5),
		Breaker:  config.Breaker{ConsecutiveFailures: 2, MinRequests: off, OpenTime: 5 * time.Second},
		Bulkhead: config.Bulkhead{MaxInflight: 8, Queue: 4},
	})
	rel, err := p.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer rel()
	p.CountRequest()
	p.CountRequest()
	p.AllowRetry()
	// Node 1: two failures (500ms, then 1s) open its breaker.
	p.Node(1).Start()(Outcome{Result: Failure, TTFB: 500 * time.Millisecond})
	p.Node(1).Start()(Outcome{Result: Failure, TTFB: time.Second})
	p.MarkHealth(1, errors.New("dial tcp: connection refused"))
	// Node 0: a success and one in flight.
	p.Node(0).Start()(Outcome{Result: Success, TTFB: 200 * time.Millisecond})
	p.Node(0).Start()

	got, err := json.MarshalIndent(p.Snapshot(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "provider": "anthropic",
  "policy": "least_latency",
  "inflight": 1,
  "bulkhead": {
    "max": 8,
    "held": 1,
    "waiting": 0
  },
  "retry_budget": {
    "requests": 2,
    "retries": 1
  },
  "panic_threshold": 0.5,
  "panic": false,
  "panic_routed": 0,
  "nodes": [
    {
      "label": "api-1.example",
      "state": "closed",
      "error_rate": 0,
      "window_requests": 1,
      "consecutive_failures": 0,
      "opens": 0,
      "ewma_ttfb_ms": 200,
      "inflight": 1,
      "health": "unknown",
      "requests": 1,
      "failures": 0
    },
    {
      "label": "api-2.example",
      "state": "open",
      "error_rate": 1,
      "window_requests": 2,
      "consecutive_failures": 2,
      "open_until": "2025-03-01T12:00:05.000Z",
      "opens": 1,
      "ewma_ttfb_ms": 650,
      "inflight": 0,
      "health": "failing",
      "last_error": "dial tcp: connection refused",
      "requests": 2,
      "failures": 2
    }
  ]
}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("snapshot JSON (-want +got):\n%s", diff)
	}

	// After the open time the node reports half_open and no open_until.
	clk.Advance(5 * time.Second)
	s := p.Snapshot().Nodes[1]
	if s.State != HalfOpen || s.OpenUntil != "" {
		t.Errorf("after the open time: state %s, open_until %q; want half_open, none", s.State, s.OpenUntil)
	}
}
