package upstream

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

// off is a threshold high enough that a rule never fires in a test.
const off = 1 << 30

func newTestBreaker(t *testing.T, cfg config.Breaker) (*Breaker, *testkit.Clock, *[]string) {
	t.Helper()
	clk := testkit.NewClock()
	b := NewBreaker(cfg, clk.Now)
	var log []string
	b.onChange = func(from, to State) { log = append(log, from.String()+">"+to.String()) }
	return b, clk, &log
}

func record(b *Breaker, rs ...Result) {
	for _, r := range rs {
		b.Allow()
		b.Record(r)
	}
}

func rep(r Result, n int) []Result {
	out := make([]Result, n)
	for i := range out {
		out[i] = r
	}
	return out
}

func wantState(t *testing.T, b *Breaker, want State) {
	t.Helper()
	if got := b.State(); got != want {
		t.Fatalf("state = %s, want %s", got, want)
	}
}

func TestBreakerErrorRateNeedsMinRequests(t *testing.T) {
	b, _, log := newTestBreaker(t, config.Breaker{ErrorRate: 0.5, MinRequests: 10, ConsecutiveFailures: off, Window: 10 * time.Second})
	// Nine failures: a 100% failure share, but below min_requests.
	record(b, rep(Failure, 9)...)
	wantState(t, b, Closed)
	// The tenth request reaches min_requests with a share of 100%.
	record(b, Failure)
	wantState(t, b, Open)
	if diff := cmp.Diff([]string{"closed>open"}, *log); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
}

func TestBreakerErrorRateIsStrictlyAbove(t *testing.T) {
	b, _, _ := newTestBreaker(t, config.Breaker{ErrorRate: 0.5, MinRequests: 10, ConsecutiveFailures: off, Window: 10 * time.Second})
	for range 5 {
		record(b, Success, Failure)
	}
	// 5 of 10 is not above 0.5.
	wantState(t, b, Closed)
	if s := b.Stats(); s.WindowRequests != 10 || s.WindowFailures != 5 {
		t.Fatalf("window = %d/%d, want 5/10", s.WindowFailures, s.WindowRequests)
	}
	record(b, Failure) // 6 of 11
	wantState(t, b, Open)
}

func TestBreakerConsecutiveFailures(t *testing.T) {
	b, _, _ := newTestBreaker(t, config.Breaker{MinRequests: off, ConsecutiveFailures: 5})
	record(b, rep(Failure, 4)...)
	record(b, Success) // resets the run
	record(b, rep(Failure, 4)...)
	wantState(t, b, Closed)
	if got := b.Stats().ConsecutiveFailures; got != 4 {
		t.Fatalf("consecutive = %d, want 4", got)
	}
	record(b, Failure)
	wantState(t, b, Open)
	if got := b.Stats().Opens; got != 1 {
		t.Errorf("opens = %d, want 1", got)
	}
}

func TestBreakerNeutralCountsNothing(t *testing.T) {
	b, _, _ := newTestBreaker(t, config.Breaker{MinRequests: 1, ErrorRate: 0.01, ConsecutiveFailures: 2})
	record(b, rep(Neutral, 50)...)
	if s := b.Stats(); s.WindowRequests != 0 || s.State != Closed {
		t.Fatalf("after neutral results: %+v", s)
	}
}

func TestBreakerHalfOpenProbes(t *testing.T) {
	b, clk, log := newTestBreaker(t, config.Breaker{MinRequests: off, ConsecutiveFailures: 1, OpenTime: 5 * time.Second, HalfOpenProbes: 2})
	record(b, Failure)
	wantState(t, b, Open)
	clk.Advance(5*time.Second - time.Nanosecond)
	if b.Allow() {
		t.Fatal("open breaker allowed a request before its open time was up")
	}
	clk.Advance(time.Nanosecond)
	wantState(t, b, HalfOpen)

	if !b.Allow() {
		t.Fatal("half-open breaker refused the first probe")
	}
	if b.Allow() {
		t.Fatal("half-open breaker admitted a second concurrent probe")
	}
	b.Record(Success)
	wantState(t, b, HalfOpen) // one success of two
	if !b.Allow() {
		t.Fatal("probe slot not freed by a finished probe")
	}
	b.Record(Neutral) // releases without counting
	wantState(t, b, HalfOpen)
	if !b.Allow() {
		t.Fatal("probe slot not freed by a neutral result")
	}
	b.Record(Success)
	wantState(t, b, Closed)
	if s := b.Stats(); s.WindowRequests != 0 || s.ConsecutiveFailures != 0 {
		t.Errorf("window not cleared on close: %+v", s)
	}
	want := []string{"closed>open", "open>half_open", "half_open>closed"}
	if diff := cmp.Diff(want, *log); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
}

func TestBreakerOpenTimeDoublesCapsAndResets(t *testing.T) {
	b, clk, _ := newTestBreaker(t, config.Breaker{
		MinRequests: off, ConsecutiveFailures: 1, HalfOpenProbes: 1,
		OpenTime: time.Second, MaxOpenTime: 5 * time.Second,
	})
	record(b, Failure)
	// Each failed probe doubles the open period: 1s, then 2s, 4s, 5s (cap), 5s.
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		until := b.Stats().OpenUntil
		if got := until.Sub(clk.Now()); got != want {
			t.Fatalf("open period %d = %v, want %v", i, got, want)
		}
		clk.Advance(want - time.Millisecond)
		wantState(t, b, Open)
		clk.Advance(time.Millisecond)
		if !b.Allow() {
			t.Fatalf("period %d: no probe admitted after the open time", i)
		}
		b.Record(Failure)
		wantState(t, b, Open)
	}
	if got := b.Stats().Opens; got != 6 {
		t.Errorf("opens = %d, want 6", got)
	}
	// A successful probe closes it; the next opening is back to OpenTime.
	clk.Advance(5 * time.Second)
	record(b, Success)
	wantState(t, b, Closed)
	record(b, Failure)
	if got := b.Stats().OpenUntil.Sub(clk.Now()); got != time.Second {
		t.Errorf("open period after close = %v, want 1s", got)
	}
}

func TestBreakerWindowForgetsOldFailures(t *testing.T) {
	b, clk, _ := newTestBreaker(t, config.Breaker{ErrorRate: 0.5, MinRequests: 4, ConsecutiveFailures: off, Window: 10 * time.Second})
	record(b, Success, Failure, Failure) // 3 requests: below min_requests
	clk.Advance(11 * time.Second)
	// Counting the old ones this would be 3 of 5, above 0.5; the window
	// only holds 1 of 2.
	record(b, Success, Failure)
	wantState(t, b, Closed)
	if s := b.Stats(); s.WindowRequests != 2 || s.WindowFailures != 1 {
		t.Fatalf("window = %d/%d, want 1/2", s.WindowFailures, s.WindowRequests)
	}
	// Inside the window they count: a few seconds on, 3 of 4 opens it.
	clk.Advance(3 * time.Second)
	record(b, Success, Failure)
	wantState(t, b, Closed) // 2 of 4: not above
	record(b, Failure)
	wantState(t, b, Open) // 3 of 5
}

func TestBreakerIgnoresStaleResults(t *testing.T) {
	b, clk, _ := newTestBreaker(t, config.Breaker{MinRequests: off, ConsecutiveFailures: 1, OpenTime: time.Second, HalfOpenProbes: 1})
	n := &Node{breaker: b}
	slow := n.Start() // admitted while closed
	record(b, Failure)
	clk.Advance(time.Second)
	if !b.Allow() {
		t.Fatal("no probe after the open time")
	}
	// The slow request from before the opening fails now: it is not the
	// probe, so the breaker stays half-open with its probe in flight.
	slow(Outcome{Result: Failure, TTFB: time.Minute})
	wantState(t, b, HalfOpen)
	if b.Allow() {
		t.Fatal("stale result released the probe slot")
	}
	b.Record(Success)
	wantState(t, b, Closed)
}

func TestBreakerDisabled(t *testing.T) {
	b, _, log := newTestBreaker(t, config.Breaker{Disabled: true, MinRequests: 1, ConsecutiveFailures: 1})
	for range 100 {
		if !b.Allow() {
			t.Fatal("disabled breaker refused a request")
		}
		b.Record(Failure)
	}
	wantState(t, b, Closed)
	if len(*log) != 0 {
		t.Errorf("disabled breaker changed state: %v", *log)
	}
	if got := b.Stats().WindowFailures; got != 100 {
		t.Errorf("disabled breaker counted %d failures, want 100 (stats still kept)", got)
	}
}

func TestBreakerZeroConfigTakesDefaults(t *testing.T) {
	b := NewBreaker(config.Breaker{}, testkit.NewClock().Now)
	// Defaults: 5 consecutive failures open it; min_requests 20 keeps the
	// rate rule quiet until then.
	record(b, rep(Failure, 4)...)
	wantState(t, b, Closed)
	record(b, Failure)
	wantState(t, b, Open)
}

func TestStateAndResultStrings(t *testing.T) {
	got := []string{Closed.String(), Open.String(), HalfOpen.String(), State(9).String(),
		Neutral.String(), Success.String(), Failure.String(), Result(9).String()}
	want := []string{"closed", "open", "half_open", "unknown", "neutral", "success", "failure", "unknown"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("strings (-want +got):\n%s", diff)
	}
}
