package ratelimit

import (
	"context"
	"errors"
	"testing"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
)

// A reload that lowers a limit counts what the minute already took; one
// that raises it admits at once; a change of backend is refused.
func TestReconfigureKeepsCounters(t *testing.T) {
	ctx := context.Background()
	rpm := func(n int64) config.RateLimits {
		return config.RateLimits{Rules: []config.RateRule{{Scope: "key", RPM: n}}}
	}
	l := newTestLimiter(t, rpm(10), newClock(), nil, "", nil)
	for range 5 {
		tk, err := l.Admit(ctx, keyA, 0)
		if err != nil {
			t.Fatal(err)
		}
		tk.Settle(ctx, 0)
	}
	if err := l.Reconfigure(rpm(5)); err != nil {
		t.Fatal(err)
	}
	_, err := l.Admit(ctx, keyA, 0)
	var e *apierr.Error
	if !errors.As(err, &e) || e.Kind != apierr.RateLimit {
		t.Fatalf("admit after lowering to 5 with 5 taken: %v, want a rate_limit error", err)
	}
	if err := l.Reconfigure(rpm(6)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Admit(ctx, keyA, 0); err != nil {
		t.Fatalf("admit after raising to 6: %v", err)
	}
	if err := l.Reconfigure(config.RateLimits{Backend: config.BackendRedis}); !errors.Is(err, ErrBackendChange) {
		t.Errorf("backend change: %v, want ErrBackendChange", err)
	}
	if err := l.Reconfigure(config.RateLimits{TrustedProxies: []string{"nonsense"}}); err == nil {
		t.Error("a bad trusted proxy was accepted")
	}
	if got := l.pol.Load().rules.each(0); got != 6 {
		t.Errorf("after refused reconfigures the rpm is %d, want 6 still", got)
	}
}

// each is the every-value rpm of scope s (0: none), for tests.
func (rs *rules) each(s int) int64 {
	if rs[s].each == nil {
		return 0
	}
	return rs[s].each.rpm
}
