package upstream

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/testkit"
)

func TestRunHealthChecks(t *testing.T) {
	ft := newFakeTimer()
	p := mustPool(t, PoolOptions{Labels: labels(2), After: ft.After, Now: testkit.NewClock().Now})
	type call struct {
		node     int
		deadline time.Duration
	}
	calls := make(chan call, 16)
	fail := make([]error, 2)
	fail[0] = errors.New("GET /health: 503")
	probe := func(ctx context.Context, node int) error {
		dl, _ := ctx.Deadline()
		calls <- call{node, time.Until(dl)}
		return fail[node]
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		p.RunHealthChecks(ctx, 10*time.Second, 2*time.Second, probe)
		close(done)
	}()

	// The first round runs at once; the wait for the next is an interval.
	if d := <-ft.started; d != 10*time.Second {
		t.Fatalf("wait between rounds = %v, want 10s", d)
	}
	seen := map[int]bool{}
	for range 2 {
		c := <-calls
		seen[c.node] = true
		if c.deadline <= 0 || c.deadline > 2*time.Second {
			t.Errorf("probe of node %d has %v left, want a 2s timeout", c.node, c.deadline)
		}
	}
	if !seen[0] || !seen[1] {
		t.Fatalf("first round probed %v, want both nodes", seen)
	}
	if h0, h1 := p.Node(0).Health(), p.Node(1).Health(); h0 != HealthFailing || h1 != HealthOK {
		t.Fatalf("health after round 1 = %s, %s; want failing, ok", h0, h1)
	}
	if n, ok := p.Pick(0); !ok || n.Index() != 1 {
		t.Fatalf("Pick with node 0 failing = %v, want node 1", n)
	}
	if s := p.Snapshot().Nodes[0]; s.LastError != "GET /health: 503" {
		t.Errorf("last_error = %q", s.LastError)
	}

	// Node 0 recovers; the next round marks it ok.
	fail[0] = nil
	ft.fire <- time.Time{}
	<-calls
	<-calls
	<-ft.started // round 2 done
	if h := p.Node(0).Health(); h != HealthOK {
		t.Fatalf("health after round 2 = %s, want ok", h)
	}
	if s := p.Snapshot().Nodes[0]; s.LastError != "" {
		t.Errorf("last_error after recovery = %q, want none", s.LastError)
	}
	cancel()
	<-done
}

func TestRunHealthChecksOff(t *testing.T) {
	p := mustPool(t, PoolOptions{Labels: labels(1)})
	called := false
	p.RunHealthChecks(context.Background(), 0, time.Second, func(context.Context, int) error { called = true; return nil })
	if called {
		t.Error("interval 0 probed a node")
	}
	if h := p.Node(0).Health(); h != HealthUnknown {
		t.Errorf("health = %s, want unknown", h)
	}
}

func TestRunHealthChecksCancelMarksNothing(t *testing.T) {
	p := mustPool(t, PoolOptions{Labels: labels(1)})
	ctx, cancel := context.WithCancel(context.Background())
	p.RunHealthChecks(ctx, time.Hour, time.Hour, func(ctx context.Context, _ int) error {
		cancel()
		return ctx.Err()
	})
	if h := p.Node(0).Health(); h != HealthUnknown {
		t.Errorf("health after a probe cut short by shutdown = %s, want unknown", h)
	}
}

func TestRunHealthChecksIntervalFromRoundStart(t *testing.T) {
	clk := testkit.NewClock()
	ft := newFakeTimer()
	p := mustPool(t, PoolOptions{Labels: labels(1), After: ft.After, Now: clk.Now})
	took := make(chan time.Duration, 1)
	took <- 4 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		p.RunHealthChecks(ctx, 10*time.Second, time.Second, func(context.Context, int) error {
			clk.Advance(<-took)
			return nil
		})
		close(done)
	}()
	if d := <-ft.started; d != 6*time.Second {
		t.Errorf("wait after a 4s round = %v, want 6s", d)
	}
	took <- 15 * time.Second
	ft.fire <- time.Time{}
	if d := <-ft.started; d != 0 {
		t.Errorf("wait after a 15s round = %v, want 0", d)
	}
	cancel()
	<-done
}
