package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

// op is one step of a scenario: move the clock, then admit a request or
// settle one.
type op struct {
	advance time.Duration
	admit   string // ticket name
	subj    Subject
	est     int64
	settle  string // ticket name
	actual  int64
	want    string // describe's output, for admits
}

// describe renders an admission: "ok" or the refusal's kind, retry-after
// and cause; then the request and token quotas as limit/remaining/reset-in.
func describe(now time.Time, t *Ticket, err error) string {
	var b strings.Builder
	if err == nil {
		b.WriteString("ok")
	} else {
		e := apierr.From(err)
		fmt.Fprintf(&b, "%s retry=%s (%v)", e.Kind, e.RetryAfter, e.Err)
	}
	if q, ok := t.Requests(); ok {
		fmt.Fprintf(&b, " req=%d/%d/%s", q.Limit, q.Remaining, q.Reset.Sub(now))
	}
	if q, ok := t.Tokens(); ok {
		fmt.Fprintf(&b, " tok=%d/%d/%s", q.Limit, q.Remaining, q.Reset.Sub(now))
	}
	return b.String()
}

var (
	keyA = Subject{Key: "a"}
	ip1  = Subject{IP: "192.0.2.1"}
)

// scenarios run unchanged on both stores, which must decide exactly alike.
var scenarios = []struct {
	name  string
	rules []config.RateRule
	ops   []op
}{
	{
		name:  "requests per minute",
		rules: []config.RateRule{{Scope: "key", RPM: 3, Burst: true}},
		ops: []op{
			{admit: "1", subj: keyA, want: "ok req=3/2/20s"},
			{admit: "2", subj: keyA, want: "ok req=3/1/40s"},
			{admit: "3", subj: keyA, want: "ok req=3/0/1m0s"},
			{admit: "4", subj: keyA, want: `rate_limit retry=20s (rpm key="a") req=3/0/1m0s`},
			// 19.999 s refill 2.999 requests' worth: 1 ms short.
			{advance: 19999 * time.Millisecond, admit: "5", subj: keyA, want: `rate_limit retry=1ms (rpm key="a") req=3/0/40.001s`},
			{advance: time.Millisecond, admit: "6", subj: keyA, want: "ok req=3/0/1m0s"},
			{admit: "7", subj: Subject{Key: "b"}, want: "ok req=3/2/20s"},
		},
	},
	{
		name:  "tokens are reserved, then settled",
		rules: []config.RateRule{{Scope: "ip", TPM: 1000, Burst: true}},
		ops: []op{
			{admit: "1", subj: ip1, est: 600, want: "ok tok=1000/400/36s"},
			{admit: "2", subj: ip1, est: 600, want: `rate_limit retry=12s (tpm ip="192.0.2.1") tok=1000/400/36s`},
			{settle: "1", actual: 100}, // 500 back
			{admit: "3", subj: ip1, est: 600, want: "ok tok=1000/300/42s"},
			{settle: "3", actual: 900}, // 300 more
			{admit: "4", subj: ip1, est: 1, want: `rate_limit retry=60ms (tpm ip="192.0.2.1") tok=1000/0/1m0s`},
			{settle: "1", actual: 0}, // settled already: nothing changes
			{admit: "5", subj: ip1, est: 1, want: `rate_limit retry=60ms (tpm ip="192.0.2.1") tok=1000/0/1m0s`},
		},
	},
	{
		name:  "a request larger than the limit reserves the whole bucket, no more (a huge max_tokens cannot sink it for days)",
		rules: []config.RateRule{{Scope: "ip", TPM: 1000, Burst: true}},
		ops: []op{
			{admit: "big", subj: ip1, est: 5000, want: "ok tok=1000/0/1m0s"},
			{admit: "small", subj: ip1, est: 1, want: `rate_limit retry=60ms (tpm ip="192.0.2.1") tok=1000/0/1m0s`},
			{settle: "big", actual: 200}, // 4800 back: 800 left
			{admit: "small2", subj: ip1, est: 1, want: "ok tok=1000/799/12.06s"},
		},
	},
	{
		name:  "concurrency",
		rules: []config.RateRule{{Scope: "route", Concurrency: 2}},
		ops: []op{
			{admit: "1", subj: Subject{Route: "claude-*"}, want: "ok"},
			{admit: "2", subj: Subject{Route: "claude-*"}, want: "ok"},
			{admit: "3", subj: Subject{Route: "claude-*"}, want: `rate_limit retry=1s (concurrency route="claude-*")`},
			{admit: "other", subj: Subject{Route: "gpt-*"}, want: "ok"},
			{settle: "1"},
			{admit: "4", subj: Subject{Route: "claude-*"}, want: "ok"},
			{settle: "1"}, // twice: releases nothing more
			{admit: "5", subj: Subject{Route: "claude-*"}, want: `rate_limit retry=1s (concurrency route="claude-*")`},
		},
	},
	{
		name:  "count_tokens (no estimate) is charged a request only",
		rules: []config.RateRule{{Scope: "key", RPM: 10, TPM: 100, Burst: true}},
		ops: []op{
			{admit: "1", subj: keyA, est: 500, want: "ok req=10/9/6s tok=100/0/1m0s"},
			{admit: "2", subj: keyA, est: 0, want: "ok req=10/8/12s tok=100/0/1m0s"},
			{admit: "3", subj: keyA, est: 1, want: `rate_limit retry=600ms (tpm key="a") req=10/8/12s tok=100/0/1m0s`},
		},
	},
	{
		name: "a single value's rule replaces the every-value rule; scopes combine",
		rules: []config.RateRule{
			{Scope: "key", RPM: 1, Burst: true},
			{Scope: "key", Match: "vip", RPM: 100, Burst: true},
			{Scope: "tag", RPM: 2, Burst: true},
		},
		ops: []op{
			{admit: "1", subj: Subject{Key: "vip", Tag: "batch"}, want: "ok req=2/1/30s"},
			{admit: "2", subj: Subject{Key: "vip", Tag: "batch"}, want: "ok req=2/0/1m0s"},
			{admit: "3", subj: Subject{Key: "vip", Tag: "batch"}, want: `rate_limit retry=30s (rpm tag="batch") req=2/0/1m0s`},
			{admit: "4", subj: Subject{Key: "std"}, want: "ok req=1/0/1m0s"},
			{admit: "5", subj: Subject{Key: "std", Tag: "other"}, want: `rate_limit retry=1m0s (rpm key="std") req=1/0/1m0s`},
			// The refusal took nothing from the tag's bucket.
			{admit: "6", subj: Subject{Key: "vip", Tag: "other"}, want: "ok req=2/1/30s"},
		},
	},
	{
		name:  "the longest refusal is the one reported",
		rules: []config.RateRule{{Scope: "key", RPM: 2, TPM: 100, Burst: true}, {Scope: "ip", RPM: 1, Concurrency: 1, Burst: true}},
		ops: []op{
			{admit: "1", subj: Subject{Key: "a", IP: "192.0.2.1"}, est: 10, want: "ok req=1/0/1m0s tok=100/90/6s"},
			{admit: "2", subj: Subject{Key: "a", IP: "192.0.2.1"}, est: 95, want: `rate_limit retry=1m0s (rpm ip="192.0.2.1") req=1/0/1m0s tok=100/90/6s`},
			{settle: "1", actual: 10},
			{advance: 59 * time.Second, admit: "3", subj: Subject{Key: "a", IP: "192.0.2.1"}, est: 200, want: `rate_limit retry=1s (rpm ip="192.0.2.1") req=1/0/1s tok=100/100/0s`},
		},
	},
	{
		name:  "an idle bucket refills to its limit, no further",
		rules: []config.RateRule{{Scope: "key", RPM: 2, Burst: true}},
		ops: []op{
			{admit: "1", subj: keyA, want: "ok req=2/1/30s"},
			{admit: "2", subj: keyA, want: "ok req=2/0/1m0s"},
			{advance: 240 * time.Hour, admit: "3", subj: keyA, want: "ok req=2/1/30s"},
		},
	},
	{
		name:  "no value, no rule: a request without a key or tag",
		rules: []config.RateRule{{Scope: "key", RPM: 1, Burst: true}, {Scope: "tag", RPM: 1, Burst: true}},
		ops: []op{
			{admit: "1", subj: Subject{IP: "192.0.2.1", Route: "*"}, want: "ok"},
			{admit: "2", subj: Subject{IP: "192.0.2.1", Route: "*"}, want: "ok"},
		},
	},
}

// windowScenarios are the default limits, sliding windows: no rolling
// minute admits more than the limit.
var windowScenarios = []struct {
	name  string
	rules []config.RateRule
	ops   []op
}{
	{
		name:  "window: the limit at once, then nothing until the first slot is a minute old",
		rules: []config.RateRule{{Scope: "key", RPM: 3}},
		ops: []op{
			{admit: "1", subj: keyA, want: "ok req=3/2/1m1s"},
			{advance: 500 * time.Millisecond, admit: "2", subj: keyA, want: "ok req=3/1/1m0.5s"},
			{advance: 10 * time.Second, admit: "3", subj: keyA, want: "ok req=3/0/1m0.5s"},
			{admit: "4", subj: keyA, want: `rate_limit retry=50.5s (rpm key="a") req=3/0/1m0.5s`},
			// A token bucket would have refilled half the limit by now.
			{advance: 30 * time.Second, admit: "5", subj: keyA, want: `rate_limit retry=20.5s (rpm key="a") req=3/0/30.5s`},
			{advance: 20499 * time.Millisecond, admit: "6", subj: keyA, want: `rate_limit retry=1ms (rpm key="a") req=3/0/10.001s`},
			// Slot 0 (requests 1 and 2) is given back at 61 s.
			{advance: time.Millisecond, admit: "7", subj: keyA, want: "ok req=3/1/1m1s"},
			{admit: "8", subj: keyA, want: "ok req=3/0/1m1s"},
			{admit: "9", subj: keyA, want: `rate_limit retry=10s (rpm key="a") req=3/0/1m1s`},
		},
	},
	{
		name:  "window: an idle key gets the limit, never twice it",
		rules: []config.RateRule{{Scope: "key", RPM: 2}},
		ops: []op{
			{admit: "1", subj: keyA, want: "ok req=2/1/1m1s"},
			{admit: "2", subj: keyA, want: "ok req=2/0/1m1s"},
			{advance: 240 * time.Hour, admit: "3", subj: keyA, want: "ok req=2/1/1m1s"},
			{admit: "4", subj: keyA, want: "ok req=2/0/1m1s"},
			{advance: 59 * time.Second, admit: "5", subj: keyA, want: `rate_limit retry=2s (rpm key="a") req=2/0/2s`},
		},
	},
	{
		name:  "window: tokens refunded to the slot they were reserved in, debts taken at settlement",
		rules: []config.RateRule{{Scope: "ip", TPM: 1000}},
		ops: []op{
			{admit: "1", subj: ip1, est: 600, want: "ok tok=1000/400/1m1s"},
			{advance: 2 * time.Second, admit: "2", subj: ip1, est: 600, want: `rate_limit retry=59s (tpm ip="192.0.2.1") tok=1000/400/59s`},
			{settle: "1", actual: 100}, // 500 back, to slot 0
			{admit: "3", subj: ip1, est: 600, want: "ok tok=1000/300/1m1s"},
			{advance: 5 * time.Second, settle: "3", actual: 900}, // 300 more, in slot 7
			{admit: "4", subj: ip1, est: 1, want: `rate_limit retry=54s (tpm ip="192.0.2.1") tok=1000/0/1m1s`},
			{settle: "3", actual: 0}, // settled already
			// Slot 0's 100 given back; slot 2 holds 600, slot 7 300.
			{advance: 54 * time.Second, admit: "5", subj: ip1, est: 100, want: "ok tok=1000/0/1m1s"},
			{admit: "6", subj: ip1, est: 1, want: `rate_limit retry=2s (tpm ip="192.0.2.1") tok=1000/0/1m1s`},
		},
	},
	{
		name:  "window: a reservation larger than the limit takes the whole window",
		rules: []config.RateRule{{Scope: "ip", TPM: 1000}},
		ops: []op{
			{admit: "big", subj: ip1, est: 5000, want: "ok tok=1000/0/1m1s"},
			{admit: "small", subj: ip1, est: 1, want: `rate_limit retry=1m1s (tpm ip="192.0.2.1") tok=1000/0/1m1s`},
			{settle: "big", actual: 200},
			{admit: "small2", subj: ip1, est: 1, want: "ok tok=1000/799/1m1s"},
		},
	},
	{
		name:  "window and burst rules combine; the longest refusal is reported",
		rules: []config.RateRule{{Scope: "key", RPM: 2}, {Scope: "tag", RPM: 60, Burst: true}},
		ops: []op{
			{admit: "1", subj: Subject{Key: "a", Tag: "x"}, want: "ok req=2/1/1m1s"},
			{admit: "2", subj: Subject{Key: "a", Tag: "x"}, want: "ok req=2/0/1m1s"},
			{admit: "3", subj: Subject{Key: "a", Tag: "x"}, want: `rate_limit retry=1m1s (rpm key="a") req=2/0/1m1s`},
			{admit: "4", subj: Subject{Key: "b", Tag: "x"}, want: "ok req=2/1/1m1s"},
		},
	},
}

func TestScenarios(t *testing.T) {
	for _, sc := range append(scenarios, windowScenarios...) {
		t.Run(sc.name, func(t *testing.T) {
			for _, backend := range []string{"memory", "redis"} {
				t.Run(backend, func(t *testing.T) {
					clk := newClock()
					var l *Limiter
					cfg := config.RateLimits{Rules: sc.rules}
					if backend == "redis" {
						c, prefix := testkit.Redis(t)
						l = newTestLimiter(t, cfg, clk, c, prefix, nil)
					} else {
						l = newTestLimiter(t, cfg, clk, nil, "", nil)
					}
					tickets := map[string]*Ticket{}
					for i, o := range sc.ops {
						clk.Advance(o.advance)
						if o.settle != "" {
							tickets[o.settle].Settle(context.Background(), o.actual)
							continue
						}
						tk, err := l.Admit(context.Background(), o.subj, o.est)
						tickets[o.admit] = &tk
						if got := describe(clk.Now(), &tk, err); got != o.want {
							t.Errorf("op %d (admit %s):\n got %s\nwant %s", i, o.admit, got, o.want)
						}
					}
					for _, tk := range tickets {
						tk.Settle(context.Background(), 0)
					}
				})
			}
		})
	}
}

func TestNoRules(t *testing.T) {
	l := newTestLimiter(t, config.RateLimits{}, newClock(), nil, "", nil)
	if l.Enabled() {
		t.Error("Enabled with no rules")
	}
	tk, err := l.Admit(context.Background(), Subject{Key: "a", IP: "192.0.2.1"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tk.Requests(); ok {
		t.Error("requests quota without rules")
	}
	if _, ok := tk.Tokens(); ok {
		t.Error("tokens quota without rules")
	}
	tk.Settle(context.Background(), 100) // no-op, no panic
	if n := l.mem.size(); n != 0 {
		t.Errorf("memory holds %d entries", n)
	}
}

func TestRejectionsCounted(t *testing.T) {
	cnt := newCounters()
	cfg := config.RateLimits{Rules: []config.RateRule{{Scope: "key", RPM: 1, TPM: 10, Concurrency: 1}}}
	l := newTestLimiter(t, cfg, newClock(), nil, "", cnt)
	ctx := context.Background()
	t1, err := l.Admit(ctx, keyA, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer t1.Settle(ctx, 1)
	_, err = l.Admit(ctx, keyA, 1)
	var e *apierr.Error
	if !errors.As(err, &e) || e.Kind != apierr.RateLimit {
		t.Fatalf("second admit: %v, want a rate_limit error", err)
	}
	if want := "Rate limit exceeded: 1 requests per minute for this gateway key."; e.Public != want {
		t.Errorf("message %q, want %q", e.Public, want)
	}
	if n := cnt.rejections("key/rpm"); n != 1 {
		t.Errorf("key/rpm rejections = %d, want 1", n)
	}
}

func TestEstimateBounded(t *testing.T) {
	// Bounded by the smallest tokens-per-minute limit that applies, and
	// without one by the largest rate the config allows.
	cfg := config.RateLimits{Rules: []config.RateRule{{Scope: "key", TPM: 100}, {Scope: "ip", RPM: 5}}}
	l := newTestLimiter(t, cfg, newClock(), nil, "", nil)
	tk, err := l.Admit(context.Background(), keyA, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.Estimate(); got != 100 {
		t.Errorf("estimate %d, want it bounded at the tpm limit 100", got)
	}
	if tk, _ := l.Admit(context.Background(), ip1, 1<<62); tk.Estimate() != config.MaxRate {
		t.Errorf("estimate %d without a tpm rule, want it bounded at %d", tk.Estimate(), config.MaxRate)
	}
	tk2, _ := l.Admit(context.Background(), keyA, -5)
	if got := tk2.Estimate(); got != 0 {
		t.Errorf("negative estimate became %d, want 0", got)
	}
}

func TestNewRefuses(t *testing.T) {
	log := discardLogger()
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no logger", Options{}, "ratelimit: a logger is required"},
		{"unknown backend", Options{Logger: log, Config: config.RateLimits{Backend: "etcd"}}, `ratelimit: unknown backend "etcd"`},
		{"redis without a client", Options{Logger: log, Config: config.RateLimits{Backend: config.BackendRedis}}, "ratelimit: the redis backend needs a Redis client"},
		{"bad proxy", Options{Logger: log, Config: config.RateLimits{TrustedProxies: []string{"nope"}}}, `ratelimit: trusted_proxies: "nope" is not an address or CIDR prefix`},
		{"unknown scope", Options{Logger: log, Config: config.RateLimits{Rules: []config.RateRule{{Scope: "org", RPM: 1}}}}, `ratelimit: rules[0]: unknown scope "org"`},
		{"two rules for every key", Options{Logger: log, Config: config.RateLimits{Rules: []config.RateRule{{Scope: "key", RPM: 1}, {Scope: "key", TPM: 1}}}}, "ratelimit: rules[1]: a second key rule for every value"},
		{"two rules for one key", Options{Logger: log, Config: config.RateLimits{Rules: []config.RateRule{{Scope: "key", Match: "a", RPM: 1}, {Scope: "key", Match: "a", TPM: 1}}}}, `ratelimit: rules[1]: a second key rule for "a"`},
		{"limit out of range", Options{Logger: log, Config: config.RateLimits{Rules: []config.RateRule{{Scope: "key", RPM: config.MaxRate + 1}}}}, "ratelimit: rules[0]: limits out of range"},
	}
	for _, tt := range tests {
		_, err := New(tt.o)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}
