package upstream

import (
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

func retries(p *Pool, n int) int {
	got := 0
	for range n {
		if p.AllowRetry() {
			got++
		}
	}
	return got
}

func TestRetryBudget(t *testing.T) {
	clk := testkit.NewClock()
	p := mustPool(t, PoolOptions{Labels: labels(1), Now: clk.Now,
		Retry: config.Retry{Budget: 0.2, MinRetries: 3, BudgetWindow: 10 * time.Second}})

	// No traffic: min_retries still allows a few.
	if got := retries(p, 10); got != 3 {
		t.Fatalf("retries with no requests = %d, want 3 (min_retries)", got)
	}
	// 100 requests: 20% = 20 retries in the window, 3 of them spent.
	for range 100 {
		p.CountRequest()
	}
	if got := retries(p, 50); got != 17 {
		t.Fatalf("retries after 100 requests = %d more, want 17 (20 in all)", got)
	}
	if s := p.Snapshot().RetryBudget; s != (BudgetSnapshot{Requests: 100, Retries: 20}) {
		t.Fatalf("budget snapshot = %+v, want 100 requests, 20 retries", s)
	}

	// Sliding: 5s later 50 more requests. The window holds 150 requests:
	// 30 retries, 10 more.
	clk.Advance(5 * time.Second)
	for range 50 {
		p.CountRequest()
	}
	if got := retries(p, 50); got != 10 {
		t.Fatalf("retries after 150 requests = %d more, want 10", got)
	}
	// 10.5s after the start the first 100 requests and 20 retries have left
	// the window: 50 requests and 10 retries remain, so the budget is spent.
	clk.Advance(5500 * time.Millisecond)
	if s := p.Snapshot().RetryBudget; s != (BudgetSnapshot{Requests: 50, Retries: 10}) {
		t.Fatalf("budget snapshot after sliding = %+v, want 50 requests, 10 retries", s)
	}
	if p.AllowRetry() {
		t.Fatal("retry allowed with 10 retries over 50 requests")
	}
	// Everything expired: back to min_retries.
	clk.Advance(10 * time.Second)
	if got := retries(p, 10); got != 3 {
		t.Fatalf("retries after the window emptied = %d, want 3", got)
	}
}

func TestBackoffFullJitter(t *testing.T) {
	r := config.Retry{BaseDelay: 100 * time.Millisecond, MaxDelay: 5 * time.Second}
	ceilings := []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000}
	for i := range ceilings {
		ceilings[i] *= time.Millisecond
	}
	// Rand 0.5 lands in the middle of [0, ceiling).
	half := mustPool(t, PoolOptions{Labels: labels(1), Retry: r, Rand: fixed(0.5)})
	for retry, c := range ceilings {
		d, ok := half.Backoff(retry, 0)
		if !ok || d != c/2 {
			t.Errorf("Backoff(%d) = %v, %v; want %v, true", retry, d, ok, c/2)
		}
	}
	// Huge retry counts do not overflow the doubling.
	for _, retry := range []int{40, 62, 63, 64, 1000} {
		if d, _ := half.Backoff(retry, 0); d != 2500*time.Millisecond {
			t.Errorf("Backoff(%d) = %v, want the cap's half 2.5s", retry, d)
		}
	}
	if d, _ := half.Backoff(-1, 0); d != 50*time.Millisecond {
		t.Errorf("Backoff(-1) = %v, want 50ms (treated as 0)", d)
	}
	// With a real source every delay is in [0, ceiling).
	p := mustPool(t, PoolOptions{Labels: labels(1), Retry: r, Rand: seeded(3)})
	for retry, c := range ceilings {
		var lo, hi time.Duration = c, 0
		for range 2000 {
			d, _ := p.Backoff(retry, 0)
			if d < 0 || d >= c {
				t.Fatalf("Backoff(%d) = %v, outside [0, %v)", retry, d, c)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo > c/20 || hi < c*19/20 {
			t.Errorf("Backoff(%d) spans [%v, %v], want most of [0, %v)", retry, lo, hi, c)
		}
	}
}

func TestBackoffRetryAfter(t *testing.T) {
	p := mustPool(t, PoolOptions{Labels: labels(1), Retry: config.Retry{MaxDelay: 5 * time.Second}, Rand: fixed(0.5)})
	tests := []struct {
		retryAfter time.Duration
		want       time.Duration
		ok         bool
	}{
		{2 * time.Second, 2 * time.Second, true},
		{5 * time.Second, 5 * time.Second, true},
		{5*time.Second + 1, 0, false},
		{time.Minute, 0, false},
	}
	for _, tc := range tests {
		d, ok := p.Backoff(3, tc.retryAfter)
		if d != tc.want || ok != tc.ok {
			t.Errorf("Backoff(3, %v) = %v, %v; want %v, %v", tc.retryAfter, d, ok, tc.want, tc.ok)
		}
	}
}
