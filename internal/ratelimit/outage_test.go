package ratelimit

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
)

// sharedDown is a Redis that several instances reach, which one switch
// takes away from all of them.
type sharedDown struct {
	Redis
	down  *atomic.Bool
	calls atomic.Int64
}

func (f *sharedDown) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	f.calls.Add(1)
	if f.down.Load() {
		cmd := redis.NewCmd(ctx)
		cmd.SetErr(errDown)
		return cmd
	}
	return f.Redis.EvalSha(ctx, sha, keys, args...)
}

// TestOutageShare: three instances, Redis goes away. Each then admits its
// share of the limit, starting from what Redis last told it, so together
// they admit what Redis had left, not three fresh limits (before: each
// instance a fresh full bucket, 90 more where 24 were left). When Redis is
// back, the heartbeat hands it what they admitted meanwhile.
func TestOutageShare(t *testing.T) {
	c, prefix := testRedis(t)
	clk := newClock()
	var down atomic.Bool
	cfg := config.RateLimits{Rules: []config.RateRule{{Scope: "key", RPM: 30}}}
	var ls []*Limiter
	var fs []*sharedDown
	for range 3 {
		f := &sharedDown{Redis: c, down: &down}
		fs = append(fs, f)
		ls = append(ls, newTestLimiter(t, cfg, clk, f, prefix, nil))
	}
	ctx := context.Background()
	// The heartbeats: each instance registers, then all count three.
	for range 2 {
		for i, l := range ls {
			if _, err := l.red.beat(ctx); err != nil {
				t.Fatalf("instance %d heartbeat: %v", i, err)
			}
		}
	}
	for i, l := range ls {
		if n := l.share(); n != 3 {
			t.Fatalf("instance %d counts %d live instances, want 3", i, n)
		}
	}
	// Six requests through Redis, round robin: each instance last saw 4, 5
	// and 6 of 30 taken.
	for i := range 6 {
		tk, err := ls[i%3].Admit(ctx, keyA, 0)
		if err != nil {
			t.Fatal(err)
		}
		tk.Settle(ctx, 0)
	}
	down.Store(true)
	clk.Add(time.Second)
	admitted := 0
	for i := range 90 {
		tk, err := ls[i%3].Admit(ctx, keyA, 0)
		if err == nil {
			admitted++
			tk.Settle(ctx, 0)
		} else if apierr.From(err).Kind != apierr.RateLimit {
			t.Fatalf("outage admit %d: %v, want a decision in memory", i, err)
		}
	}
	if admitted != 24 {
		t.Errorf("admitted %d during the outage, want 24 (30 less the 6 Redis saw, split in three)", admitted)
	}
	// Back: the heartbeats hand Redis the outage's 24, so it refuses.
	down.Store(false)
	for i, l := range ls {
		if _, err := l.red.beat(ctx); err != nil {
			t.Fatalf("instance %d heartbeat: %v", i, err)
		}
		l.beaten(nil)
	}
	clk.Add(time.Second)
	calls := fs[0].calls.Load()
	_, err := ls[0].Admit(ctx, keyA, 0)
	if apierr.From(err).Kind != apierr.RateLimit {
		t.Errorf("after recovery: %v, want Redis's refusal (30 taken in the window)", err)
	}
	if fs[0].calls.Load() == calls {
		t.Error("after recovery the decision was not Redis's")
	}
	// A failed heartbeat keeps its debts for the next one.
	down.Store(true)
	ls[1].mem.restoreDebts([]debt{{a: applied{rule: ls[1].rules[scopeKey].each, value: "z"}, r: 5}})
	if _, err := ls[1].red.beat(ctx); !errors.Is(err, errDown) {
		t.Fatalf("heartbeat while down: %v", err)
	}
	if ds := ls[1].mem.takeDebts(); len(ds) != 1 || ds[0].r != 5 {
		t.Errorf("debts after a failed heartbeat: %+v, want the 5 requests kept", ds)
	}
}

// hanging is a Redis that, when frozen, holds every call until released
// and then fails it: a Redis stopped with SIGSTOP, as a client sees it
// until its timeout.
type hanging struct {
	Redis
	failing atomic.Bool // fail at once
	frozen  atomic.Bool // hold, then fail
	calls   atomic.Int64
	entered chan struct{}
	release chan struct{}
}

func (h *hanging) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	h.calls.Add(1)
	cmd := redis.NewCmd(ctx)
	switch {
	case h.frozen.Load():
		h.entered <- struct{}{}
		<-h.release
		cmd.SetErr(context.DeadlineExceeded)
	case h.failing.Load():
		cmd.SetErr(errDown)
	default:
		return h.Redis.EvalSha(ctx, sha, keys, args...)
	}
	return cmd
}

// TestStoreBreakerOneProbe: once the store has failed, one decision per
// StoreRetry probes it; the others decide in memory at once instead of
// each waiting for the frozen store's timeout.
func TestStoreBreakerOneProbe(t *testing.T) {
	c, prefix := testRedis(t)
	clk := newClock()
	h := &hanging{Redis: c, entered: make(chan struct{}), release: make(chan struct{})}
	l := newTestLimiter(t, config.RateLimits{Rules: []config.RateRule{{Scope: "key", RPM: 1000}}}, clk, h, prefix, nil)
	ctx := context.Background()
	h.failing.Store(true)
	if _, err := l.Admit(ctx, keyA, 0); err != nil {
		t.Fatal(err)
	}
	h.frozen.Store(true)
	clk.Add(time.Second) // StoreRetry: the next decision probes
	probed := make(chan error)
	go func() {
		_, err := l.Admit(ctx, keyA, 0)
		probed <- err
	}()
	<-h.entered // the probe is in the store
	calls := h.calls.Load()
	for i := range 100 {
		if _, err := l.Admit(ctx, keyA, 0); err != nil {
			t.Fatalf("decision %d during the probe: %v", i, err)
		}
	}
	if n := h.calls.Load() - calls; n != 0 {
		t.Errorf("%d calls to the store while a probe was in it, want 0", n)
	}
	h.release <- struct{}{}
	if err := <-probed; err != nil {
		t.Fatal(err)
	}
	// The probe failed: the store is left alone for another StoreRetry.
	for range 10 {
		if _, err := l.Admit(ctx, keyA, 0); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.calls.Load() - calls; n != 0 {
		t.Errorf("%d calls to the store after the failed probe, want 0", n)
	}
	// Another StoreRetry, and the store is back: the probe brings it back.
	h.frozen.Store(false)
	h.failing.Store(false)
	clk.Add(time.Second)
	for range 3 {
		if _, err := l.Admit(ctx, keyA, 0); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.calls.Load() - calls; n != 3 {
		t.Errorf("%d calls to the store once back, want 3", n)
	}
}

// TestHeartbeatLoop: instances count each other through the registry on
// their own, and stop when closed.
func TestHeartbeatLoop(t *testing.T) {
	c, prefix := testRedis(t)
	cfg := config.RateLimits{Backend: config.BackendRedis, Rules: []config.RateRule{{Scope: "key", RPM: 10}}}
	var ls []*Limiter
	for range 2 {
		l, err := New(Options{Config: cfg, Redis: c, Prefix: prefix, Logger: discardLogger(), Heartbeat: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ls = append(ls, l)
		if _, err := l.Admit(context.Background(), keyA, 0); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for ls[0].share() != 2 || ls[1].share() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("live instances counted: %d and %d, want 2", ls[0].share(), ls[1].share())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
