package relay

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
	anthropicp "github.com/ferrygw/ferry/internal/provider/anthropic"
	"github.com/ferrygw/ferry/internal/sse"
	"github.com/ferrygw/ferry/internal/upstream"
)

func TestRetryOn529ThenSuccess(t *testing.T) {
	p := &fakeProvider{nodes: []string{"n0", "n1"}, answer: script(jsonAnswer(529, overload), jsonAnswer(200, message))}
	g := simple(t, map[string]Provider{"p": p}, []string{"p"})
	res, err := g.Do(context.Background(), plain(t))
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, res); body != message || res.Provider != "p" || res.Node != "n1" {
		t.Errorf("served by %s@%s: %s", res.Provider, res.Node, body)
	}
	// The retry goes to the node not tried yet, after a backoff.
	if diff := cmp.Diff([]int{0, 1}, p.nodesCalled()); diff != "" {
		t.Errorf("nodes (-want +got):\n%s", diff)
	}
	w := g.waits()
	if len(w) != 1 || w[0] < 0 || w[0] >= 100*time.Millisecond {
		t.Errorf("backoffs %v, want one in [0, base_delay)", w)
	}
	want := []string{"p@n0:529 backoff=" + formatMs(w[0]), "p@n1:200"}
	if w[0] < time.Millisecond {
		want[0] = "p@n0:529"
	}
	if diff := cmp.Diff(want, attemptList(res)); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	if got := val(g.m.Retries.WithLabelValues("p", "upstream_529")); got != 1 {
		t.Errorf("retries metric %g", got)
	}
	if got := val(g.m.Attempts.WithLabelValues("p", "upstream_529")) + val(g.m.Attempts.WithLabelValues("p", "success")); got != 2 {
		t.Errorf("attempts metric %g", got)
	}
	snap := g.Pools()[0].Snapshot()
	if snap.Nodes[0].Failures != 1 || snap.Nodes[1].Failures != 0 || snap.Nodes[1].Requests != 1 {
		t.Errorf("node outcomes %+v", snap.Nodes)
	}
}

func formatMs(d time.Duration) string { return (Attempt{Backoff: d}).String()[len("@-: backoff="):] }

// TestRetryAfterHonoured: the upstream's retry-after-ms is the wait of an
// overload's retry (the injected sleep records it; nothing really waits);
// a 429 is never retried on the node that said it (TestQuota429), so it
// goes back to the client as is.
func TestRetryAfterHonoured(t *testing.T) {
	p := &fakeProvider{answer: script(jsonAnswer(529, overload, "Retry-After-Ms", "250"), jsonAnswer(200, message))}
	g := simple(t, map[string]Provider{"p": p}, []string{"p"})
	start := time.Now()
	res, err := g.Do(context.Background(), plain(t))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, res)
	if diff := cmp.Diff([]time.Duration{250 * time.Millisecond}, g.waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if time.Since(start) > 200*time.Millisecond {
		t.Errorf("the test really waited %v", time.Since(start))
	}
	if diff := cmp.Diff([]string{"p@n0:529 backoff=250ms", "p@n0:200"}, attemptList(res)); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}

	long := &fakeProvider{answer: jsonAnswer(429, overload, "Retry-After", "30")}
	g = simple(t, map[string]Provider{"p": long}, []string{"p"})
	res, err = g.Do(context.Background(), plain(t))
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, res); res.Status != 429 || body != overload || res.Header.Get("Retry-After") != "30" || long.count() != 1 {
		t.Errorf("got %d %q (retry-after %q) after %d calls", res.Status, body, res.Header.Get("Retry-After"), long.count())
	}
}

// TestBudgetStopsRetries: once the provider's retry budget is spent, a
// failure is not retried; the metric says so.
func TestBudgetStopsRetries(t *testing.T) {
	p := &fakeProvider{answer: jsonAnswer(503, serverErr)}
	g := simple(t, map[string]Provider{"p": p}, []string{"p"}, provCfg("p", func(p *config.Provider) {
		p.Retry = config.Retry{MaxAttempts: 3, Budget: 0.01, MinRetries: 1}
		p.Breaker.Disabled = true
	}))
	res, err := g.Do(context.Background(), plain(t))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, res)
	// One retry allowed in the window: 2 calls, then the budget says no.
	if res.Status != 503 || p.count() != 2 {
		t.Errorf("status %d after %d calls, want 503 after 2", res.Status, p.count())
	}
	res, _ = g.Do(context.Background(), plain(t))
	readAll(t, res)
	if p.count() != 3 {
		t.Errorf("second request: %d calls in all, want 3 (no retry left)", p.count())
	}
	if got := val(g.m.RetryBudgetExhausted.WithLabelValues("p")); got != 2 {
		t.Errorf("budget metric %g, want 2", got)
	}
	// A refusal because the budget is spent tells the SDKs not to add
	// their own retries to the load on a failing upstream.
	if got := res.Header.Get("X-Should-Retry"); got != "false" {
		t.Errorf("x-should-retry %q after the budget was spent, want false", got)
	}
}

// TestNoRetryOn4xx: a 400 is the request's fault: one call, no fallback,
// the answer as is, and the node's breaker counts nothing.
func TestNoRetryOn4xx(t *testing.T) {
	a := &fakeProvider{nodes: []string{"n0", "n1"}, answer: jsonAnswer(400, badReq)}
	b := &fakeProvider{answer: jsonAnswer(200, message)}
	g := simple(t, map[string]Provider{"a": a, "b": b}, []string{"a", "b"})
	res, err := g.Do(context.Background(), plain(t))
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, res); res.Status != 400 || body != badReq || a.count() != 1 || b.count() != 0 {
		t.Errorf("%d %s after %d + %d calls", res.Status, body, a.count(), b.count())
	}
	if n := g.Pools()[0].Snapshot().Nodes[0]; n.Failures != 0 || n.WindowRequests != 0 {
		t.Errorf("a 400 counted against the node: %+v", n)
	}
}

// TestClientCancelIsNeutral: a client that goes away ends the loop, and
// its cancel never counts against the node.
func TestClientCancelIsNeutral(t *testing.T) {
	started := make(chan struct{})
	a := &fakeProvider{nodes: []string{"n0", "n1"}, answer: func(ctx context.Context, c *provider.Call, i int) (*provider.Response, error) {
		close(started)
		<-ctx.Done()
		return nil, provider.Classify(ctx, ctx.Err())
	}}
	b := &fakeProvider{answer: jsonAnswer(200, message)}
	g := simple(t, map[string]Provider{"a": a, "b": b}, []string{"a", "b"})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	_, err := g.Do(ctx, plain(t))
	if provider.Reason(err) != provider.ReasonCanceled {
		t.Errorf("err = %v, want canceled", err)
	}
	if a.count() != 1 || b.count() != 0 {
		t.Errorf("calls after a cancel: a %d, b %d", a.count(), b.count())
	}
	snap := g.Pools()[0].Snapshot()
	if n := snap.Nodes[0]; n.Failures != 0 || n.ConsecutiveFailures != 0 || n.Inflight != 0 {
		t.Errorf("a cancel counted against the node: %+v", n)
	}
}

// TestFallbackWhenBreakerOpen: once a's only node's breaker is open, a is
// passed over without a call (x@-:no_available_node) and b serves.
func TestFallbackWhenBreakerOpen(t *testing.T) {
	a := &fakeProvider{answer: jsonAnswer(500, serverErr)}
	b := &fakeProvider{answer: jsonAnswer(200, message)}
	g := simple(t, map[string]Provider{"a": a, "b": b}, []string{"a", "b"}, provCfg("a", func(p *config.Provider) {
		p.Retry.MaxAttempts = 1
		p.Breaker.ConsecutiveFailures = 1
	}))
	res, err := g.Do(context.Background(), plain(t))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, res)
	if diff := cmp.Diff([]string{"a@n0:500", "b@n0:200"}, attemptList(res)); diff != "" {
		t.Errorf("first request (-want +got):\n%s", diff)
	}
	if got := g.Pools()[0].Node(0).Breaker().State(); got != upstream.Open {
		t.Fatalf("a's breaker %s, want open", got)
	}
	if got := val(g.m.BreakerState.WithLabelValues("a", "n0")); got != 2 {
		t.Errorf("breaker_state %g, want 2 (open)", got)
	}
	res, err = g.Do(context.Background(), plain(t))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, res)
	if diff := cmp.Diff([]string{"a@-:no_available_node", "b@n0:200"}, attemptList(res)); diff != "" {
		t.Errorf("second request (-want +got):\n%s", diff)
	}
	if a.count() != 1 {
		t.Errorf("a called %d times, want 1", a.count())
	}
	if got := val(g.m.Fallbacks.WithLabelValues("*", "a", "b")); got != 2 {
		t.Errorf("fallbacks metric %g, want 2", got)
	}

	// Every target failing: the last answer, as is.
	g = simple(t, map[string]Provider{"a": a, "c": &fakeProvider{answer: jsonAnswer(529, overload)}}, []string{"a", "c"},
		provCfg("a", func(p *config.Provider) { p.Retry.MaxAttempts = 1 }), provCfg("c", func(p *config.Provider) { p.Retry.MaxAttempts = 1 }))
	res, err = g.Do(context.Background(), plain(t))
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, res); res.Status != 529 || body != overload || res.Provider != "c" {
		t.Errorf("%s %d %s", res.Provider, res.Status, body)
	}
}

// TestNeverSentFailsOverAtOnce: a refused connection moves to the next
// node without a backoff or the budget, and marks the node down for
// node_down, so that the next request goes straight to the live node.
func TestNeverSentFailsOverAtOnce(t *testing.T) {
	p := &fakeProvider{nodes: []string{"dead", "live"}, answer: byNode(failure(provider.ReasonConnectRefused), jsonAnswer(200, message))}
	g := simple(t, map[string]Provider{"p": p}, []string{"p"}, provCfg("p", func(p *config.Provider) {
		p.Retry.Budget, p.Retry.MinRetries = 0.0001, 1
	}))
	for range 2 {
		res, err := g.Do(context.Background(), plain(t))
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, res)
	}
	if diff := cmp.Diff([]int{0, 1, 1}, p.nodesCalled()); diff != "" {
		t.Errorf("nodes (-want +got):\n%s", diff)
	}
	if len(g.waits()) != 0 {
		t.Errorf("waited %v before trying another node", g.waits())
	}
	if s := g.Pools()[0].Snapshot(); s.RetryBudget.Retries != 0 {
		t.Errorf("budget spent: %+v", s.RetryBudget)
	}
	// After node_down, the dead node is tried first again.
	g.advance(11 * time.Second)
	res, _ := g.Do(context.Background(), plain(t))
	readAll(t, res)
	if diff := cmp.Diff([]int{0, 1, 1, 0, 1}, p.nodesCalled()); diff != "" {
		t.Errorf("nodes after node_down (-want +got):\n%s", diff)
	}
}

// TestBulkheadFull: a provider whose bulkhead is full is passed over; when
// it was the last target, the client gets the 529 with its retry-after.
func TestBulkheadFull(t *testing.T) {
	hold := make(chan struct{})
	inside := make(chan struct{}, 1)
	a := &fakeProvider{answer: func(ctx context.Context, c *provider.Call, i int) (*provider.Response, error) {
		if i == 0 {
			inside <- struct{}{}
			<-hold
		}
		return jsonAnswer(200, message)(ctx, c, i)
	}}
	b := &fakeProvider{answer: jsonAnswer(200, message)}
	full := provCfg("a", func(p *config.Provider) { p.Bulkhead.MaxInflight = 1 })
	g := newRig(t, []config.Route{
		routeTo("claude-*", config.Target{Provider: "a"}, config.Target{Provider: "b"}),
		routeTo("only-a", config.Target{Provider: "a"}),
	}, []config.Provider{full, provCfg("b")}, map[string]Provider{"a": a, "b": b})
	done := make(chan error, 1)
	go func() {
		res, err := g.Do(context.Background(), plain(t))
		if err == nil {
			res.Close()
		}
		done <- err
	}()
	<-inside
	res, err := g.Do(context.Background(), plain(t))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, res)
	if diff := cmp.Diff([]string{"a@-:bulkhead_full", "b@n0:200"}, attemptList(res)); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	_, err = g.Do(context.Background(), request(t, provider.FormatAnthropic, `{"model":"only-a","max_tokens":1}`))
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Kind != apierr.Overloaded || ae.RetryAfter <= 0 {
		t.Errorf("err = %v, want a 529 with retry-after", err)
	}
	if got := val(g.m.BulkheadRejected.WithLabelValues("a")); got != 2 {
		t.Errorf("bulkhead metric %g", got)
	}
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestCanaryOrderAndRecord: the split picks the canary first; its
// failures fall back to the primary, are recorded, and roll it back, after
// which the primary goes first.
func TestCanaryOrderAndRecord(t *testing.T) {
	primary := &fakeProvider{answer: jsonAnswer(200, message)}
	canary := &fakeProvider{answer: jsonAnswer(500, serverErr)}
	rt := routeTo("*", config.Target{Provider: "primary", Weight: 1}, config.Target{Provider: "canary", Weight: 1000, Canary: true})
	rt.Canary.MinRequests = 2
	g := newRig(t, []config.Route{rt},
		[]config.Provider{provCfg("primary"), provCfg("canary", func(p *config.Provider) { p.Retry.MaxAttempts = 1; p.Breaker.Disabled = true })},
		map[string]Provider{"primary": primary, "canary": canary})
	if got := val(g.m.CanaryWeight.WithLabelValues("*", "canary")); got != 1000 {
		t.Errorf("canary weight metric %g before the rollback, want 1000", got)
	}
	for i := range 2 {
		res, err := g.Do(context.Background(), plain(t))
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, res)
		if diff := cmp.Diff([]string{"canary@n0:500", "primary@n0:200"}, attemptList(res)); diff != "" {
			t.Errorf("request %d (-want +got):\n%s", i, diff)
		}
	}
	if got := val(g.m.CanaryRollbacks.WithLabelValues("*", "canary")); got != 1 {
		t.Errorf("rollbacks metric %g, want 1", got)
	}
	if got := val(g.m.CanaryWeight.WithLabelValues("*", "canary")); got != 0 {
		t.Errorf("canary weight metric %g after the rollback, want 0", got)
	}
	res, err := g.Do(context.Background(), plain(t))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, res)
	if diff := cmp.Diff([]string{"primary@n0:200"}, attemptList(res)); diff != "" {
		t.Errorf("after the rollback (-want +got):\n%s", diff)
	}
	snap := g.Splits()[0].Snapshot()
	if snap.Targets[1].Weight != 0 || snap.LastEvent == nil {
		t.Errorf("split after rollback: %+v", snap)
	}
}

// TestStickyKey: with sticky: key the same key name always goes first to
// the same target.
func TestStickyKey(t *testing.T) {
	a := &fakeProvider{answer: jsonAnswer(200, message)}
	b := &fakeProvider{answer: jsonAnswer(200, message)}
	rt := routeTo("*", config.Target{Provider: "a", Weight: 1}, config.Target{Provider: "b", Weight: 1})
	rt.Sticky = "key"
	g := newRig(t, []config.Route{rt}, []config.Provider{provCfg("a"), provCfg("b")}, map[string]Provider{"a": a, "b": b})
	first := map[string]string{}
	for i := range 40 {
		key := []string{"team-a", "team-b", "team-c", "team-d"}[i%4]
		req := plain(t)
		req.KeyName = key
		res, err := g.Do(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, res)
		if prev, ok := first[key]; ok && prev != res.Provider {
			t.Fatalf("key %s went to %s, then %s", key, prev, res.Provider)
		}
		first[key] = res.Provider
	}
}

// TestStreamSettlesAtItsEnd: a stream's node outcome and bulkhead slot
// are settled when it is consumed: success after message_stop, failure on
// a break; and a stream has no total deadline once started.
func TestStreamSettlesAtItsEnd(t *testing.T) {
	for _, c := range []struct {
		name     string
		src      func() *events
		failures uint64
	}{
		{"clean", func() *events {
			return &events{evs: []sse.Event{ev("message_start"), ev("message_stop")}, err: io.EOF}
		}, 0},
		{"broken", func() *events {
			return &events{evs: []sse.Event{ev("message_start")}, err: provider.Classify(context.Background(), io.ErrUnexpectedEOF)}
		}, 1},
		{"truncated", func() *events { return &events{evs: []sse.Event{ev("message_start")}, err: io.EOF} }, 1},
		{"error event", func() *events { return &events{evs: []sse.Event{ev("message_start"), ev("error")}, err: io.EOF} }, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &fakeProvider{answer: streamAnswer(c.src)}
			g := simple(t, map[string]Provider{"p": p}, []string{"p"}, provCfg("p", func(p *config.Provider) {
				p.Bulkhead.MaxInflight = 1
				p.Timeouts.Total = 50 * time.Millisecond
			}))
			req := plain(t)
			req.Peek.Stream = true
			res, err := g.Do(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(80 * time.Millisecond) // past the total deadline: a started stream ignores it
			pool := g.Pools()[0]
			if s := pool.Snapshot(); s.Bulkhead.Held != 1 || s.Nodes[0].Inflight != 1 {
				t.Errorf("before the end: %+v", s)
			}
			for {
				if _, err := res.Events.Next(); err != nil {
					if provider.Reason(err) == provider.ReasonDeadline {
						t.Errorf("the stream hit the total deadline")
					}
					break
				}
			}
			res.Close()
			s := pool.Snapshot()
			if s.Bulkhead.Held != 0 || s.Nodes[0].Inflight != 0 || s.Nodes[0].Requests != 1 || s.Nodes[0].Failures != c.failures {
				t.Errorf("after the end: bulkhead %+v, node %+v; want %d failures", s.Bulkhead, s.Nodes[0], c.failures)
			}
		})
	}
}

// TestMalformedAnswerRetried: a 200 whose body is not JSON is a failure:
// retried, and never passed on.
func TestMalformedAnswerRetried(t *testing.T) {
	p := &fakeProvider{answer: script(jsonAnswer(200, `{"id":"msg_1","con`), jsonAnswer(200, message))}
	g := simple(t, map[string]Provider{"p": p}, []string{"p"})
	res, err := g.Do(context.Background(), plain(t))
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, res); body != message || p.count() != 2 {
		t.Errorf("%s after %d calls", body, p.count())
	}
	if diff := cmp.Diff([]string{"p@n0:" + ReasonMalformed, "p@n0:200"}, stripBackoff(attemptList(res))); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}

	// An answer in memory is checked as well, unless the gateway wrote it
	// (a translation's: BytesBody.SetWritten).
	inMemory := func(body string) answerFunc {
		return func(context.Context, *provider.Call, int) (*provider.Response, error) {
			return &provider.Response{Status: 200, Header: http.Header{}, Body: provider.NewBytesBody([]byte(body))}, nil
		}
	}
	for _, answer := range []answerFunc{jsonAnswer(200, `<html>`), inMemory(`<html>`)} {
		bad := &fakeProvider{answer: answer}
		g = simple(t, map[string]Provider{"p": bad}, []string{"p"})
		_, err = g.Do(context.Background(), plain(t))
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Kind != apierr.BadGateway || provider.Reason(err) != ReasonMalformed || bad.count() != 3 {
			t.Errorf("err = %v after %d calls", err, bad.count())
		}
	}
	written := &fakeProvider{answer: func(context.Context, *provider.Call, int) (*provider.Response, error) {
		bb := &provider.BytesBody{}
		bb.SetWritten([]byte(message))
		return &provider.Response{Status: 200, Header: http.Header{}, Body: bb}, nil
	}}
	g = simple(t, map[string]Provider{"p": written}, []string{"p"})
	if res, err = g.Do(context.Background(), plain(t)); err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, res); body != message || written.count() != 1 {
		t.Errorf("written answer: %s after %d calls", body, written.count())
	}
}

func stripBackoff(list []string) []string {
	for i, s := range list {
		if j := strings.Index(s, " backoff="); j >= 0 {
			list[i] = s[:j]
		}
	}
	return list
}

// TestDeadlineBoundsRetries: with a real provider whose node never
// answers, each attempt ends at its first-byte timeout, and the route's
// total deadline ends the whole request, retries and backoffs included,
// with a 504 deadline_exceeded.
func TestDeadlineBoundsRetries(t *testing.T) {
	var calls atomic.Int32
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer srv.Close()
	defer close(stop)
	pc := provCfg("p", func(p *config.Provider) {
		p.Type, p.BaseURLs, p.APIKey = config.TypeAnthropic, []string{srv.URL}, "k"
		p.Retry = config.Retry{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}
	})
	ap, err := anthropicp.New(anthropicp.Options{Upstream: provider.Upstream{Name: "p", BaseURLs: pc.BaseURLs, APIKey: pc.APIKey, Timeouts: pc.Timeouts}})
	if err != nil {
		t.Fatal(err)
	}
	defer ap.CloseIdleConnections()
	rt := routeTo("*", config.Target{Provider: "p"})
	rt.Timeouts = config.RouteTimeouts{ResponseHeader: 100 * time.Millisecond, Total: 250 * time.Millisecond}
	g := newRig(t, []config.Route{rt}, []config.Provider{pc}, map[string]Provider{"p": ap}, func(o *Options) {
		o.Now, o.Sleep = nil, nil // real time: the deadline is a real timer
	})
	start := time.Now()
	res, err := g.Do(context.Background(), plain(t))
	elapsed := time.Since(start)
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Kind != apierr.GatewayTimeout || provider.Reason(err) != provider.ReasonDeadline {
		t.Errorf("err = %v (%s), want a 504 deadline_exceeded", err, provider.Reason(err))
	}
	if elapsed < 240*time.Millisecond || elapsed > time.Second {
		t.Errorf("took %v, want about the total deadline (250ms)", elapsed)
	}
	got := attemptList(res)
	if len(got) < 2 || !strings.HasPrefix(got[0], "p@") || !strings.Contains(got[0], provider.ReasonFirstByteTimeout) {
		t.Errorf("attempts %v: want first-byte timeouts, then the deadline", got)
	}
	if n := calls.Load(); n < 2 || n > 3 {
		t.Errorf("%d calls, want 2 or 3 in 250ms of 100ms attempts", n)
	}
}
