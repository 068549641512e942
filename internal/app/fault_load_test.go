package app

// The fault-injection suite, load side: rate limits, overload storms and
// breakers, slow nodes, bulkheads, the retry budget, and the SDK's own
// retries on what the gateway passes back (see fault_test.go).

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
)

// TestFaultRateLimitRetryAfter: a 429 asking for 100 ms is retried after
// 100 ms; one asking for longer than max_delay goes back to the client at
// once, with its retry-after.
func TestFaultRateLimitRetryAfter(t *testing.T) {
	checkLeaks(t)
	fx := loadFaultFixtures(t)
	t.Run("100ms", func(t *testing.T) {
		// A 429 is the vendor's quota, not the node's health: with one
		// node the client gets it at once, retry-after-ms and all (the
		// SDK waits it out itself); with two, the other node serves at
		// once, and the limited one is passed over for its retry-after.
		limited := fx.e429.WithHeader("Retry-After", "").WithHeader("Retry-After-Ms", "100")
		a := newFakes(t, 1, fx.ok())[0]
		a.SetScript(fakeupstream.First(1, fakeupstream.Reply{Fixture: limited}, fx.ok()))
		g := startFaultGateway(t, []config.Provider{anthropicProvider("p", a.URL)}, route("p"))
		o := g.call(g.client(), false)
		e := assertAPIError(t, o.Err, 429, "rate_limit_error")
		if ra := e.Response.Header.Get("Retry-After-Ms"); ra != "100" || a.Count() != 1 || o.Elapsed > tBound {
			t.Errorf("retry-after-ms %q after %d upstream requests in %v, want the vendor's 100 after 1, at once", ra, a.Count(), o.Elapsed)
		}
		wantMetric(t, g.metrics(), 0, mRetries, "provider", "p", "reason", "upstream_429")
		single := o.Elapsed

		two := newFakes(t, 2, fx.ok())
		two[0].SetScript(fakeupstream.First(1, fakeupstream.Reply{Fixture: limited}, fx.ok()))
		g = startFaultGateway(t, []config.Provider{anthropicProvider("p", urlsOf(two...)...)}, route("p"))
		o = g.call(g.client(), false)
		wantServed(t, o, false, "p", two[1], 2, tBound)
		o2 := g.call(g.client(), false)
		wantServed(t, o2, false, "p", two[1], 1, tBound)
		wantMetric(t, g.metrics(), 1, mRetries, "provider", "p", "reason", "upstream_429")
		result(t, "429 retry-after-ms 100 | one node: passed back in %v with its retry-after; two nodes: the other served in %v, the limited one skipped for 100ms", single.Round(time.Millisecond), o.Elapsed.Round(time.Millisecond))
	})
	t.Run("over max_delay", func(t *testing.T) {
		a := newFakes(t, 1, fakeupstream.Reply{Fixture: fx.e429})[0] // Retry-After: 7 > max_delay 1s
		g := startFaultGateway(t, []config.Provider{anthropicProvider("p", a.URL)}, route("p"))
		o := g.call(g.client(), false)
		e := assertAPIError(t, o.Err, 429, "rate_limit_error")
		if ra := e.Response.Header.Get("Retry-After"); ra != "7" {
			t.Errorf("retry-after %q, want the upstream's 7", ra)
		}
		if o.Elapsed > 500*time.Millisecond || a.Count() != 1 {
			t.Errorf("answered after %v and %d upstream requests, want at once after 1", o.Elapsed, a.Count())
		}
		result(t, "429 retry-after 7s > max_delay | 429 passed back in %v, 1 upstream request", o.Elapsed.Round(time.Millisecond))
	})
}

// TestFaultOverloadFallbackAndBreaker: provider x (Anthropic format)
// answers 529 to everything; the route falls back to y (OpenAI format,
// translated). x's breaker opens, so that x is no longer tried; once x
// recovers and open_time has passed, half-open probes close it again.
func TestFaultOverloadFallbackAndBreaker(t *testing.T) {
	checkLeaks(t)
	fx := loadFaultFixtures(t)
	xa := newFakes(t, 1, fakeupstream.Reply{Fixture: fx.e529})[0]
	ya := newFakes(t, 1, fx.oaiOK())[0]
	x := anthropicProvider("x", xa.URL)
	x.Retry.MaxAttempts = 2
	const openTime = time.Second
	x.Breaker = config.Breaker{ConsecutiveFailures: 3, OpenTime: openTime, HalfOpenProbes: 2, MinRequests: 1000}
	g := startFaultGateway(t, []config.Provider{x, openaiProvider("y", ya.URL)}, route("x", "y"))
	c := g.client()

	var slowest time.Duration
	served := func(o outcome, stream bool, provider string) {
		t.Helper()
		if o.Err != nil {
			t.Fatalf("request failed: %v", o)
		}
		if o.Provider != provider {
			t.Errorf("x-ferry-provider %q, want %q", o.Provider, provider)
		}
		switch {
		case stream && !o.Stopped:
			t.Errorf("stream incomplete: %v", o)
		case !stream && provider == "y" && o.Text != wantOAIText:
			t.Errorf("text %q, want %q", o.Text, wantOAIText)
		case !stream && provider == "x" && o.MsgID != wantMsgID:
			t.Errorf("message %q", o.MsgID)
		}
		if o.Elapsed > 2*time.Second {
			t.Errorf("answered after %v", o.Elapsed)
		}
		slowest = max(slowest, o.Elapsed)
	}
	// The storm: every request falls back to y, until x's breaker opens
	// (opened: no later than the start of the request after which the
	// gauge first reads open).
	var opened time.Time
	for i := range 4 {
		before := time.Now()
		served(g.call(c, i%2 == 1), i%2 == 1, "y")
		if opened.IsZero() && g.metrics().sum(mBreakerState, "provider", "x") == stateOpen {
			opened = before
		}
	}
	m := g.metrics()
	wantMetric(t, m, stateOpen, mBreakerState, "provider", "x")
	if opened.IsZero() {
		t.Fatal("x's breaker never opened")
	}
	stormHits := xa.Count()
	// While open, x is not called at all: the relay records it as an
	// attempt refused before a node was chosen (x@-:no_available_node),
	// then y serves.
	var fast time.Duration
	for i := range 3 {
		o := g.call(c, i%2 == 1)
		served(o, i%2 == 1, "y")
		if o.Attempts != 2 {
			t.Errorf("x-ferry-attempts %d while x's breaker is open, want 2 (x refused without a call, y)", o.Attempts)
		}
		fast = max(fast, o.Elapsed)
	}
	if !strings.Contains(g.Logs.String(), `"attempts":["x@-:no_available_node","y@`+ya.Host()+`:200"]`) {
		t.Errorf("access log lacks the refused attempt on x:\n%s", g.Logs.String())
	}
	if xa.Count() != stormHits {
		t.Errorf("x got %d requests while its breaker was open", xa.Count()-stormHits)
	}
	m = g.metrics()
	wantMetric(t, m, 7, mFallbacks, "route", "claude-*", "from", "x", "to", "y")

	// x recovers; after open_time a probe goes to it.
	xa.SetScript(fakeupstream.Always(fx.ok()))
	var o outcome
	if !waitFor(openTime+2*time.Second, func() bool {
		o = g.call(c, false)
		return o.Err == nil && o.Provider == "x"
	}) {
		t.Fatalf("x never served again after recovering: %v", o)
	}
	recovered := time.Since(opened)
	if recovered < openTime {
		t.Errorf("x tried again %v after its breaker opened, before open_time %v", recovered, openTime)
	}
	served(o, false, "x")
	wantMetric(t, g.metrics(), stateHalfOpen, mBreakerState, "provider", "x")
	served(g.call(c, true), true, "x")
	m = g.metrics()
	wantMetric(t, m, stateClosed, mBreakerState, "provider", "x")
	for _, to := range []string{"open", "half_open", "closed"} {
		if m.sum("ferry_breaker_transitions_total", "provider", "x", "to", to) < 1 {
			t.Errorf("no breaker transition to %s:\n%s", to, m.series("ferry_breaker_transitions_total"))
		}
	}
	result(t, "529 storm on x, fallback to y | slowest fallback %v; breaker open after %d upstream 529s, then answers in <= %v without trying x; x serves again %v after opening (open_time %v), closed after 2 probes",
		slowest.Round(time.Millisecond), stormHits, fast.Round(time.Millisecond), recovered.Round(time.Millisecond), openTime)
}

// TestFaultSlowNodeLeastLatency: with least_latency, traffic leaves a node
// that answers 100 ms late for the fast one (least_latency explores about
// 5% of picks).
func TestFaultSlowNodeLeastLatency(t *testing.T) {
	checkLeaks(t)
	fx := loadFaultFixtures(t)
	n := newFakes(t, 2, fx.ok())
	slow, fast := n[0], n[1]
	slow.SetLatency(100 * time.Millisecond)
	p := anthropicProvider("p", slow.URL, fast.URL)
	p.Policy = config.PolicyLeastLatency
	g := startFaultGateway(t, []config.Provider{p}, route("p"))
	c := g.client()
	const total, tail = 60, 40
	slowInTail := 0
	start := time.Now()
	for i := range total {
		o := g.call(c, i%2 == 1)
		if o.Err != nil {
			t.Fatalf("request %d: %v", i, o)
		}
		if i >= total-tail && strings.Contains(o.Node, slow.Host()) {
			slowInTail++
		}
	}
	share := float64(tail-slowInTail) / tail
	if share < 0.8 {
		t.Errorf("fast node served %.0f%% of the last %d requests, want at least 80%%", share*100, tail)
	}
	if slow.Count() == 0 {
		t.Errorf("the slow node was never tried")
	}
	result(t, "one node +100ms, least_latency | fast node served %.0f%% of the last %d requests (slow node: %d of %d in all), %d requests in %v",
		share*100, tail, slow.Count(), total, total, time.Since(start).Round(time.Millisecond))
}

// TestFaultBulkheadFull: with max_inflight 1 and no queue, a second
// request while the first is in flight is refused at once with 529 and
// retry-after, without reaching the upstream.
func TestFaultBulkheadFull(t *testing.T) {
	checkLeaks(t)
	fx := loadFaultFixtures(t)
	a := newFakes(t, 1, fx.ok())[0]
	a.Enqueue(fakeupstream.Reply{Fixture: fx.msg, Fault: fakeupstream.StallBeforeHeaders})
	p := anthropicProvider("p", a.URL)
	p.Timeouts.ResponseHeader = 10 * time.Second // the stalled first request must stay in flight
	p.Bulkhead = config.Bulkhead{MaxInflight: 1}
	g := startFaultGateway(t, []config.Provider{p}, route("p"))
	c := g.client()
	first := make(chan outcome, 1)
	go func() { first <- g.call(c, false) }()
	if !waitFor(2*time.Second, func() bool { return a.Count() == 1 }) {
		t.Fatal("the first request never reached the upstream")
	}
	o := g.call(c, false)
	e := assertAPIError(t, o.Err, 529, "overloaded_error")
	if ra := e.Response.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("529 without retry-after: %v", e.Response.Header)
	}
	if o.Elapsed > 500*time.Millisecond {
		t.Errorf("refused after %v, want at once", o.Elapsed)
	}
	if a.Count() != 1 {
		t.Errorf("the refused request reached the upstream")
	}
	wantMetric(t, g.metrics(), 1, mBulkhead, "provider", "p")
	a.Release()
	o1 := <-first
	wantServed(t, o1, false, "p", a, 1, 5*time.Second)
	wantServed(t, g.call(c, false), false, "p", a, 1, tBound)
	result(t, "bulkhead full (max_inflight 1) | 529 overloaded_error with retry-after %s in %v; the upstream never saw it", e.Response.Header.Get("Retry-After"), o.Elapsed.Round(time.Millisecond))
}

// TestFaultRetryBudgetTotalOutage: every node answers 529. Retries are
// capped by the budget (20% of requests, at least 3 per window), not by
// max_attempts: 50 requests cost at most 50·1.2+3 upstream calls, where
// 3 attempts each would be 150.
func TestFaultRetryBudgetTotalOutage(t *testing.T) {
	checkLeaks(t)
	fx := loadFaultFixtures(t)
	n := newFakes(t, 2, fakeupstream.Reply{Fixture: fx.e529})
	p := anthropicProvider("p", urlsOf(n...)...)
	p.Breaker.Disabled = true // the budget alone bounds the load here
	p.Retry = config.Retry{MaxAttempts: 3, BaseDelay: tBaseDelay, MaxDelay: time.Second, Budget: 0.2, BudgetWindow: 10 * time.Second, MinRetries: 3}
	g := startFaultGateway(t, []config.Provider{p}, route("p"))
	c := g.client()
	const requests, workers = 50, 4
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		bad     []outcome
		slowest time.Duration
	)
	jobs := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				o := g.call(c, i%2 == 1)
				mu.Lock()
				slowest = max(slowest, o.Elapsed)
				var ae *anthropic.Error
				if !errors.As(o.Err, &ae) || ae.StatusCode != 529 || string(ae.Type()) != "overloaded_error" {
					bad = append(bad, o)
				}
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
	for i := range requests {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	for _, o := range bad {
		t.Errorf("want a 529 overloaded_error, got %v", o)
	}
	calls := n[0].Count() + n[1].Count()
	limit := requests + requests/5 + 3
	if calls < requests || calls > limit {
		t.Errorf("%d upstream calls for %d requests, want %d..%d", calls, requests, requests, limit)
	}
	m := g.metrics()
	if r := m.sum(mRetries, "provider", "p"); int(r) != calls-requests {
		t.Errorf("retries metric %g, upstream saw %d retries", r, calls-requests)
	}
	if m.sum(mBudget, "provider", "p") == 0 {
		t.Errorf("no retry refused by the budget:\n%s", m.series(mBudget))
	}
	if slowest > tBound {
		t.Errorf("slowest answer %v", slowest)
	}
	result(t, "total outage, retry budget 20%% + 3 | %d requests -> %d upstream calls (limit %d, without a budget %d), %v in all, slowest %v",
		requests, calls, limit, requests*3, elapsed.Round(time.Millisecond), slowest.Round(time.Millisecond))
}

// TestFaultSDKRetries: with the SDK's own retries on, what the gateway
// passes back tells it what to do: a 429 with x-should-retry: true and
// retry-after-ms is retried after that delay; a 529 with x-should-retry:
// false is not retried at all.
func TestFaultSDKRetries(t *testing.T) {
	checkLeaks(t)
	fx := loadFaultFixtures(t)
	t.Run("429 retried by the SDK", func(t *testing.T) {
		limited := fx.e429.WithHeader("Retry-After", "").WithHeader("Retry-After-Ms", "20")
		a := newFakes(t, 1, fx.ok())[0]
		a.SetScript(fakeupstream.First(2, fakeupstream.Reply{Fixture: limited}, fx.ok()))
		p := anthropicProvider("p", a.URL)
		p.Retry.MaxAttempts = 1 // the gateway passes the 429 back
		g := startFaultGateway(t, []config.Provider{p}, route("p"))
		o := g.call(g.client(option.WithMaxRetries(2)), false)
		// The SDK's own backoff would take 0.5 s + 1 s, less up to 25%
		// jitter (at least 1.125 s): honouring retry-after-ms is what
		// makes this fast.
		wantServed(t, o, false, "p", a, 1, time.Second)
		if a.Count() != 3 {
			t.Errorf("upstream got %d requests, want 3", a.Count())
		}
		result(t, "SDK retries on, 429 retry-after-ms 20 x2 | success after 3 upstream requests in %v", o.Elapsed.Round(time.Millisecond))
	})
	t.Run("x-should-retry false", func(t *testing.T) {
		final := fx.e529.WithHeader("X-Should-Retry", "false")
		a := newFakes(t, 1, fakeupstream.Reply{Fixture: final})[0]
		p := anthropicProvider("p", a.URL)
		p.Retry.MaxAttempts = 1
		g := startFaultGateway(t, []config.Provider{p}, route("p"))
		o := g.call(g.client(option.WithMaxRetries(2)), false)
		e := assertAPIError(t, o.Err, 529, "overloaded_error")
		if e.Response.Header.Get("X-Should-Retry") != "false" {
			t.Errorf("x-should-retry %q", e.Response.Header.Get("X-Should-Retry"))
		}
		if a.Count() != 1 {
			t.Errorf("upstream got %d requests, want 1: the SDK retried despite x-should-retry: false", a.Count())
		}
		result(t, "SDK retries on, 529 x-should-retry false | 1 request, error in %v", o.Elapsed.Round(time.Millisecond))
	})
}

// TestFaultOverloadShare: node A answers every other request with 529 (a
// partial overload), B is healthy, priority policy, default breaker
// (error_rate 0.05 over min_requests 20) and retry budget (20% + 3). The
// retries B could absorb are bounded by the budget, so some 529s reach
// clients until A's breaker opens on its error rate; from then on A is
// not called and every request succeeds.
func TestFaultOverloadShare(t *testing.T) {
	checkLeaks(t)
	fx := loadFaultFixtures(t)
	n := newFakes(t, 2, fx.ok())
	a, b := n[0], n[1]
	a.SetScript(fakeupstream.Share(0.5, fakeupstream.Reply{Fixture: fx.e529}, fx.ok()))
	g := startFaultGateway(t, []config.Provider{anthropicProvider("p", a.URL, b.URL)}, route("p"))
	c := g.client()
	const requests = 60
	opened, failed, failedAfter := -1, 0, 0
	for i := range requests {
		o := g.call(c, i%2 == 1)
		if o.Err != nil {
			failed++
			var ae *anthropic.Error
			if !errors.As(o.Err, &ae) || ae.StatusCode != 529 {
				t.Errorf("request %d: want the upstream's 529 when it fails, got %v", i, o)
			}
			if opened >= 0 {
				failedAfter++
			}
		}
		if opened < 0 && g.metrics().sum(mBreakerState, "provider", "p", "node", a.Host()) == stateOpen {
			opened = i
		}
	}
	if opened < 0 || opened > 25 {
		t.Fatalf("A's breaker opened at request %d, want by request 25 (error rate 50%% over min_requests 20)", opened)
	}
	if failedAfter != 0 {
		t.Errorf("%d requests failed after A's breaker opened", failedAfter)
	}
	aCalls := a.Count()
	if aCalls > opened+1 {
		t.Errorf("A got %d requests, %d after its breaker opened", aCalls, aCalls-opened-1)
	}
	m := g.metrics()
	result(t, "every other answer of node A a 529, default breaker and budget | A's breaker open after request %d (%d calls to A); %d of %d requests got the 529 before that (retries refused by the budget: %g), none after",
		opened+1, aCalls, failed, requests, m.sum(mBudget, "provider", "p"))
}
