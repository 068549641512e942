package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

// A key's own limits (a managed key's) apply with no rules configured, on
// one instance and on two sharing Redis, and leave other keys alone.
func TestOwnLimitsWithoutRules(t *testing.T) {
	c, prefix := testkit.Redis(t)
	for _, backend := range []string{"memory", "redis"} {
		t.Run(backend, func(t *testing.T) {
			clk := newClock()
			var a, b *Limiter
			if backend == "memory" {
				a = newOwnLimiter(t, nil, clk, nil, "")
				b = a
			} else {
				a = newOwnLimiter(t, nil, clk, c, prefix)
				b = newOwnLimiter(t, nil, clk, c, prefix)
			}
			if !a.Enabled() || a.Applies(Own{}) || !a.Applies(Own{RPM: 3}) {
				t.Fatalf("Enabled %v, Applies(none) %v, Applies(rpm 3) %v; want true, false, true", a.Enabled(), a.Applies(Own{}), a.Applies(Own{RPM: 3}))
			}
			ctx := context.Background()
			own := Subject{Key: "mk-" + backend, Own: Own{RPM: 3}}
			for i, l := range []*Limiter{a, b, a} {
				tk, err := l.Admit(ctx, own, 10)
				if err != nil {
					t.Fatalf("request %d: %v", i+1, err)
				}
				tk.Settle(ctx, 10)
			}
			_, err := b.Admit(ctx, own, 10)
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Kind != apierr.RateLimit || ae.RetryAfter <= 0 || ae.RetryAfter > time.Minute+time.Second {
				t.Fatalf("4th request: %v, want a rate limit with retry-after within a minute (retry-after %v)", err, retryOf(ae))
			}
			// A key without limits of its own is not limited.
			for i := range 10 {
				tk, err := a.Admit(ctx, Subject{Key: "other-" + backend}, 10)
				if err != nil {
					t.Fatalf("unlimited key, request %d: %v", i+1, err)
				}
				tk.Settle(ctx, 10)
			}
			// A sliding minute later the key has room again.
			clk.Advance(61 * time.Second)
			if _, err := a.Admit(ctx, own, 10); err != nil {
				t.Fatalf("after a minute: %v", err)
			}
		})
	}
}

// A key's own limit replaces the configured key rule's for that key, and
// the rule's other limits still apply to it.
func TestOwnLimitsOverRule(t *testing.T) {
	clk := newClock()
	rules := []config.RateRule{{Scope: "key", RPM: 2, Concurrency: 1}}
	l := newOwnLimiter(t, rules, clk, nil, "")
	ctx := context.Background()
	own := Subject{Key: "big", Own: Own{RPM: 5}}
	for i := range 5 {
		tk, err := l.Admit(ctx, own, 1)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		if i == 0 {
			// The rule's concurrency 1 still holds for the key.
			if _, err := l.Admit(ctx, own, 1); err == nil {
				t.Fatal("a second concurrent request was admitted under concurrency 1")
			}
		}
		tk.Settle(ctx, 1)
	}
	if _, err := l.Admit(ctx, own, 1); err == nil {
		t.Fatal("6th request admitted over the key's own rpm 5")
	}
	// Other keys keep the rule's 2.
	for i := range 2 {
		tk, err := l.Admit(ctx, Subject{Key: "small"}, 1)
		if err != nil {
			t.Fatalf("small %d: %v", i+1, err)
		}
		tk.Settle(ctx, 1)
	}
	if _, err := l.Admit(ctx, Subject{Key: "small"}, 1); err == nil {
		t.Fatal("3rd request of a key without own limits admitted over the rule's rpm 2")
	}
}

func newOwnLimiter(t *testing.T, rules []config.RateRule, clk *testkit.Clock, c Redis, prefix string) *Limiter {
	t.Helper()
	return newTestLimiter(t, config.RateLimits{Rules: rules}, clk, c, prefix, nil, func(o *Options) { o.KeyLimits = true })
}

func retryOf(e *apierr.Error) time.Duration {
	if e == nil {
		return 0
	}
	return e.RetryAfter
}

// BenchmarkAdmitOwn: a managed key's own rpm (a rule made per request, in
// memory), and the check that lets a key without limits skip the limiter.
func BenchmarkAdmitOwn(b *testing.B) {
	clk := newClock()
	o := Options{Config: config.RateLimits{}, Now: clk.Now, Logger: discardLogger(), Heartbeat: -1, KeyLimits: true}
	l, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	b.Run("own-rpm", func(b *testing.B) {
		s := Subject{Key: "mk", Own: Own{RPM: config.MaxRate}}
		b.ReportAllocs()
		for range b.N {
			tk, err := l.Admit(ctx, s, 10)
			if err != nil {
				b.Fatal(err)
			}
			tk.Settle(ctx, 10)
		}
	})
	b.Run("skip", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for range b.N {
			if l.Applies(Own{}) {
				n++
			}
		}
		if n != 0 {
			b.Fatal(n)
		}
	})
}
