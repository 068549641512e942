package ratelimit

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

func TestMemorySweepWindows(t *testing.T) {
	clk := newClock()
	cfg := config.RateLimits{Rules: []config.RateRule{{Scope: "ip", RPM: 60, TPM: 600}}}
	l := newTestLimiter(t, cfg, clk, nil, "", nil)
	ctx := context.Background()
	done, err := l.Admit(ctx, Subject{IP: "192.0.2.1"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	done.Settle(ctx, 10)
	// A minute on, its request is still held (given back at 61 s): kept.
	clk.Advance(sweepEvery)
	second, err := l.Admit(ctx, Subject{IP: "192.0.2.2"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	second.Settle(ctx, 0)
	if n := l.mem.size(); n != 2 {
		t.Errorf("%d entries after the first sweep, want 2", n)
	}
	clk.Advance(2 * sweepEvery)
	if _, err := l.Admit(ctx, Subject{IP: "192.0.2.3"}, 0); err != nil {
		t.Fatal(err)
	}
	if n := l.mem.size(); n != 1 {
		t.Errorf("%d entries once both windows are empty, want 1 (the new one)", n)
	}
}

func TestMemorySweep(t *testing.T) {
	clk := newClock()
	cfg := config.RateLimits{Rules: []config.RateRule{{Scope: "ip", RPM: 60, TPM: 600, Burst: true}}}
	l := newTestLimiter(t, cfg, clk, nil, "", nil)
	ctx := context.Background()
	// Three clients: one done long ago, one in debt, one still running.
	done, err := l.Admit(ctx, Subject{IP: "192.0.2.1"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	done.Settle(ctx, 10)
	debt, err := l.Admit(ctx, Subject{IP: "192.0.2.2"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	debt.Settle(ctx, 6000) // 5,990 tokens owed: ten minutes to refill
	running, err := l.Admit(ctx, Subject{IP: "192.0.2.3"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if n := l.mem.size(); n != 3 {
		t.Fatalf("%d entries, want 3", n)
	}
	clk.Advance(sweepEvery)
	fresh, err := l.Admit(ctx, Subject{IP: "192.0.2.4"}, 0) // sweeps first
	if err != nil {
		t.Fatal(err)
	}
	// 192.0.2.1 is full and idle: gone. .2 is still in debt (forgetting
	// it would forgive the debt), .3 still runs, .4 is new.
	if n := l.mem.size(); n != 3 {
		t.Errorf("%d entries after the sweep, want 3", n)
	}
	running.Settle(ctx, 10)
	fresh.Settle(ctx, 0)
	clk.Advance(time.Hour)
	if _, err := l.Admit(ctx, Subject{IP: "192.0.2.5"}, 0); err != nil {
		t.Fatal(err)
	}
	if n := l.mem.size(); n != 1 {
		t.Errorf("%d entries an hour later, want 1 (the new one)", n)
	}
}

func TestLongValuesAreHashed(t *testing.T) {
	long := strings.Repeat("x", maxValue+1)
	cfg := config.RateLimits{Rules: []config.RateRule{{Scope: "tag", RPM: 1}, {Scope: "tag", Match: long + "y", RPM: 5}}}
	l := newTestLimiter(t, cfg, newClock(), nil, "", nil)
	tk, err := l.Admit(context.Background(), Subject{Tag: long}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v := tk.scopes[0].value; len(v) != len("xxh3:")+32 || !strings.HasPrefix(v, "xxh3:") {
		t.Errorf("stored value %q, want the hash", v)
	}
	// A rule for one long value still matches it (before hashing).
	tk2, err := l.Admit(context.Background(), Subject{Tag: long + "y"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := tk2.Requests(); q.Limit != 5 {
		t.Errorf("long single-value rule not applied: limit %d", q.Limit)
	}
}

// TestMirrorSwept: under the Redis backend, the memory keeps Redis's last
// state of each scope value for outages; values gone quiet are dropped, or
// a gateway seeing many client IPs would grow without end.
func TestMirrorSwept(t *testing.T) {
	c, prefix := testkit.Redis(t)
	clk := newClock()
	l := newTestLimiter(t, config.RateLimits{Rules: []config.RateRule{{Scope: "ip", RPM: 60}}}, clk, c, prefix, nil)
	ctx := context.Background()
	for i := range 50 {
		tk, err := l.Admit(ctx, Subject{IP: fmt.Sprintf("192.0.2.%d", i)}, 0)
		if err != nil {
			t.Fatal(err)
		}
		tk.Settle(ctx, 0)
	}
	if n := l.mem.size(); n != 50 {
		t.Fatalf("%d mirrored entries, want 50", n)
	}
	clk.Advance(2 * sweepEvery)
	if _, err := l.Admit(ctx, Subject{IP: "198.51.100.1"}, 0); err != nil {
		t.Fatal(err)
	}
	if n := l.mem.size(); n != 1 {
		t.Errorf("%d mirrored entries two minutes on, want 1 (the new one)", n)
	}
}

// TestSettleCancelledContext: the server settles with the request's own
// context, cancelled when the client has gone; on Redis the settlement is
// still made (the concurrency slot comes back).
func TestSettleCancelledContext(t *testing.T) {
	c, prefix := testkit.Redis(t)
	cnt := newCounters()
	l := newTestLimiter(t, config.RateLimits{Rules: []config.RateRule{{Scope: "key", Concurrency: 1}}}, newClock(), c, prefix, cnt)
	ctx, cancel := context.WithCancel(context.Background())
	tk, err := l.Admit(ctx, keyA, 1)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	tk.Settle(ctx, 1)
	again, err := l.Admit(context.Background(), keyA, 1)
	if err != nil {
		t.Fatalf("the slot was not given back: %v", err)
	}
	again.Settle(context.Background(), 1)
	cnt.mu.Lock()
	defer cnt.mu.Unlock()
	if len(cnt.store) != 0 {
		t.Errorf("store errors %v, want none", cnt.store)
	}
}
