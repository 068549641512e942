package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/ratelimit"
)

func TestEstimate(t *testing.T) {
	if got := estimate(provider.OpMessages, 4000, 1024); got != 2024 {
		t.Errorf("messages: %d, want 1000 input + 1024 output", got)
	}
	if got := estimate(provider.OpCountTokens, 4000, 1024); got != 0 {
		t.Errorf("count_tokens: %d, want 0 (charged as a request only)", got)
	}
}

// ticketAt admits one request on a memory limiter whose clock reads now.
func ticketAt(t *testing.T, now time.Time, rules []config.RateRule, est int64) (*Server, *ratelimit.Ticket) {
	t.Helper()
	l, err := ratelimit.New(ratelimit.Options{
		Config: config.RateLimits{Rules: rules},
		Now:    func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := l.Admit(context.Background(), ratelimit.Subject{Key: "a"}, est)
	if err != nil {
		t.Fatal(err)
	}
	return &Server{limiter: l}, &tk
}

func TestRateHeaders(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 250e6, time.UTC)
	s, tk := ticketAt(t, now, []config.RateRule{{Scope: "key", RPM: 50, TPM: 40000, Burst: true}}, 1000)
	// Token buckets: requests 49 left, full in 1.2 s; tokens 39,000 left,
	// full in 1.5 s. (TestRateHeadersWindow: the default's.)
	tests := []struct {
		format provider.Format
		want   http.Header
	}{
		{provider.FormatAnthropic, http.Header{
			"Anthropic-Ratelimit-Requests-Limit":     {"50"},
			"Anthropic-Ratelimit-Requests-Remaining": {"49"},
			"Anthropic-Ratelimit-Requests-Reset":     {"2026-11-20T12:00:02Z"}, // 12:00:01.45, rounded up
			"Anthropic-Ratelimit-Tokens-Limit":       {"40000"},
			"Anthropic-Ratelimit-Tokens-Remaining":   {"39000"},
			"Anthropic-Ratelimit-Tokens-Reset":       {"2026-11-20T12:00:02Z"}, // 12:00:01.75
		}},
		{provider.FormatOpenAI, http.Header{
			"X-Ratelimit-Limit-Requests":     {"50"},
			"X-Ratelimit-Remaining-Requests": {"49"},
			"X-Ratelimit-Reset-Requests":     {"1.2s"},
			"X-Ratelimit-Limit-Tokens":       {"40000"},
			"X-Ratelimit-Remaining-Tokens":   {"39000"},
			"X-Ratelimit-Reset-Tokens":       {"1.5s"},
		}},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		x := &exchange{ResponseWriter: rec, format: tt.format}
		s.rateHeaders(x, tk)
		if diff := cmp.Diff(tt.want, rec.Header()); diff != "" {
			t.Errorf("format %v headers (-want +got):\n%s", tt.format, diff)
		}
	}
}

// The upstream's own rate-limit headers (about the provider's account)
// never reach a client whose requests our limits govern, not even the
// kinds our rules do not set.
func TestUpstreamRateHeadersReplaced(t *testing.T) {
	s, tk := ticketAt(t, time.Now(), []config.RateRule{{Scope: "key", RPM: 50}}, 10)
	rec := httptest.NewRecorder()
	rec.Header().Set("Anthropic-Ratelimit-Tokens-Remaining", "123")
	rec.Header().Set("Anthropic-Ratelimit-Input-Tokens-Limit", "456")
	rec.Header().Set("Anthropic-Ratelimit-Requests-Limit", "4000")
	s.rateHeaders(&exchange{ResponseWriter: rec}, tk)
	h := rec.Header()
	if h.Get("Anthropic-Ratelimit-Tokens-Remaining") != "" || h.Get("Anthropic-Ratelimit-Input-Tokens-Limit") != "" {
		t.Errorf("upstream rate-limit headers passed through: %v", h)
	}
	if got := h.Get("Anthropic-Ratelimit-Requests-Limit"); got != "50" {
		t.Errorf("requests limit %q, want ours, 50", got)
	}
}

// TestRateHeadersWindow: a sliding window's reset is when all it holds is
// given back, the start of the slot 61 s after the request's.
func TestRateHeadersWindow(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 250e6, time.UTC)
	s, tk := ticketAt(t, now, []config.RateRule{{Scope: "key", RPM: 50, TPM: 40000}}, 1000)
	rec := httptest.NewRecorder()
	s.rateHeaders(&exchange{ResponseWriter: rec, format: provider.FormatOpenAI}, tk)
	want := http.Header{
		"X-Ratelimit-Limit-Requests":     {"50"},
		"X-Ratelimit-Remaining-Requests": {"49"},
		"X-Ratelimit-Reset-Requests":     {"1m0.75s"},
		"X-Ratelimit-Limit-Tokens":       {"40000"},
		"X-Ratelimit-Remaining-Tokens":   {"39000"},
		"X-Ratelimit-Reset-Tokens":       {"1m0.75s"},
	}
	if diff := cmp.Diff(want, rec.Header()); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
}

func TestRateHeadersOnlyForLimitsThatApply(t *testing.T) {
	s, tk := ticketAt(t, time.Now(), []config.RateRule{{Scope: "key", Concurrency: 3}}, 10)
	rec := httptest.NewRecorder()
	s.rateHeaders(&exchange{ResponseWriter: rec}, tk)
	if len(rec.Header()) != 0 {
		t.Errorf("headers for a concurrency-only rule: %v", rec.Header())
	}
}

func TestSettleActual(t *testing.T) {
	// The tokens bucket after settling shows what was charged.
	tests := []struct {
		name string
		x    exchange
		want int64 // tokens remaining of 10,000 after settling a 1,000 reservation
	}{
		{"usage seen: input, output and cache tokens", exchange{status: 200, usageSeen: true, usage: anthropic.Totals{Input: 100, Output: 50, CacheRead: 30, CacheCreation: 20}}, 9800},
		{"an error answered without usage: nothing", exchange{status: 529}, 10000},
		{"a success without usage: the reservation", exchange{status: 200}, 9000},
		// 2,000 bytes of frames carrying 80 ASCII characters and 10 CJK
		// ones: 20 + 10 tokens relayed, not 2,000/4.
		{"a stream cut short: at least the input and the output relayed, from the deltas' text", exchange{status: 200, usageSeen: true, usage: anthropic.Totals{Input: 100, Output: 1}, streamErr: errClientGone, bytesOut: 2000, relayed: relayedText{narrow: 80, wide: 10}}, 9870},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			s, tk := ticketAt(t, now, []config.RateRule{{Scope: "key", TPM: 10000}}, 1000)
			r := httptest.NewRequest("POST", "/v1/messages", nil)
			s.settle(&tt.x, r, tk)
			next, err := s.limiter.Admit(context.Background(), ratelimit.Subject{Key: "a"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if q, _ := next.Tokens(); q.Remaining != tt.want {
				t.Errorf("remaining %d, want %d", q.Remaining, tt.want)
			}
		})
	}
}
