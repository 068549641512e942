package relay

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/upstream"
)

const quota = `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`

// TestQuota429: a 429 is never a breaker failure and never waited out on
// the node that said it: with one node and one target the client gets it
// at once (retry-after kept); with another node that node serves at once,
// and the node that said 429 is passed over for its retry-after; with
// another target, that target serves.
func TestQuota429(t *testing.T) {
	t.Run("one node", func(t *testing.T) {
		p := &fakeProvider{answer: jsonAnswer(429, quota, "Retry-After", "7")}
		g := simple(t, map[string]Provider{"p": p}, []string{"p"})
		for range 10 {
			res, err := g.Do(context.Background(), plain(t))
			if err != nil {
				t.Fatal(err)
			}
			if body := readAll(t, res); res.Status != 429 || body != quota || res.Header.Get("Retry-After") != "7" {
				t.Fatalf("got %d %s (retry-after %q), want the vendor's 429", res.Status, body, res.Header.Get("Retry-After"))
			}
		}
		if p.count() != 10 || len(g.waits()) != 0 {
			t.Errorf("%d calls and waits %v for 10 requests, want 10 and none", p.count(), g.waits())
		}
		n := g.Pools()[0].Snapshot().Nodes[0]
		if n.State != upstream.Closed || n.ConsecutiveFailures != 0 || n.WindowRequests != 0 {
			t.Errorf("429s counted against the breaker: %+v", n)
		}
	})
	t.Run("two nodes", func(t *testing.T) {
		p := &fakeProvider{nodes: []string{"n0", "n1"}, answer: byNode(jsonAnswer(429, quota, "Retry-After", "2"), jsonAnswer(200, message))}
		g := simple(t, map[string]Provider{"p": p}, []string{"p"})
		res, err := g.Do(context.Background(), plain(t))
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(t, res); body != message || len(g.waits()) != 0 {
			t.Errorf("got %s after waits %v, want n1's answer at once", body, g.waits())
		}
		res, _ = g.Do(context.Background(), plain(t)) // n0 cools down: n1 first
		readAll(t, res)
		g.advance(2 * time.Second)
		res, _ = g.Do(context.Background(), plain(t)) // cooled: n0 again (priority)
		readAll(t, res)
		if diff := cmp.Diff([]int{0, 1, 1, 0, 1}, p.nodesCalled()); diff != "" {
			t.Errorf("nodes called (-want +got):\n%s", diff)
		}
	})
	t.Run("two targets", func(t *testing.T) {
		a := &fakeProvider{answer: jsonAnswer(429, quota)}
		b := &fakeProvider{answer: jsonAnswer(200, message)}
		g := simple(t, map[string]Provider{"a": a, "b": b}, []string{"a", "b"})
		res, err := g.Do(context.Background(), plain(t))
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(t, res); body != message || res.Provider != "b" || a.count() != 1 {
			t.Errorf("got %s from %s after %d calls to a", body, res.Provider, a.count())
		}
	})
}

// TestRetriesCountOnce: the three failed attempts of one request on a
// one-node provider are one failure toward consecutive_failures (default
// 5): five such requests do not open the breaker before the fifth.
func TestRetriesCountOnce(t *testing.T) {
	p := &fakeProvider{answer: jsonAnswer(500, serverErr)}
	g := simple(t, map[string]Provider{"p": p}, []string{"p"})
	for i := range 4 {
		res, err := g.Do(context.Background(), plain(t))
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, res)
		g.advance(time.Second)
		n := g.Pools()[0].Snapshot().Nodes[0]
		if n.State != upstream.Closed || n.ConsecutiveFailures != int64(i+1) {
			t.Fatalf("after request %d: breaker %v with %d consecutive failures, want closed with %d", i+1, n.State, n.ConsecutiveFailures, i+1)
		}
	}
	if p.count() != 12 {
		t.Errorf("%d calls, want 3 attempts for each of 4 requests", p.count())
	}
}

// TestPanicRouting: when every node of every target has its breaker open,
// the route calls them anyway (the first target first), counts it and
// says so in the snapshot; a provider in a route with a healthy target is
// passed over instead. panic_threshold 0 is fail-fast: a 503 with the time
// to the next probe as retry-after, naming the provider and its last
// failure, and nothing called.
func TestPanicRouting(t *testing.T) {
	trip := func(p *config.Provider) { p.Breaker.ConsecutiveFailures = 1; p.Retry.MaxAttempts = 1 }
	t.Run("default", func(t *testing.T) {
		fail := true
		ans := func(ctx context.Context, c *provider.Call, i int) (*provider.Response, error) {
			if fail {
				return jsonAnswer(500, serverErr)(ctx, c, i)
			}
			return jsonAnswer(200, message)(ctx, c, i)
		}
		a, b := &fakeProvider{answer: ans}, &fakeProvider{answer: ans}
		g := simple(t, map[string]Provider{"a": a, "b": b}, []string{"a", "b"}, provCfg("a", trip), provCfg("b", trip))
		res, _ := g.Do(context.Background(), plain(t)) // opens a, then b
		readAll(t, res)
		fail = false
		res, err := g.Do(context.Background(), plain(t))
		if err != nil {
			t.Fatalf("every breaker open: %v, want a panic call", err)
		}
		if body := readAll(t, res); body != message || res.Provider != "a" {
			t.Errorf("got %s from %s, want a's answer", body, res.Provider)
		}
		if diff := cmp.Diff([]string{"a@-:no_available_node", "b@-:no_available_node", "a@n0:200"}, attemptList(res)); diff != "" {
			t.Errorf("attempts (-want +got):\n%s", diff)
		}
		if got := val(g.m.PanicRouting.WithLabelValues("a")); got != 1 {
			t.Errorf("ferry_panic_routing_total{a} = %g, want 1", got)
		}
		if s := g.Pools()[0].Snapshot(); !s.Panic || s.PanicRouted != 1 || s.LastFailure != "upstream_500" {
			t.Errorf("snapshot: panic %v, routed %d, last failure %q", s.Panic, s.PanicRouted, s.LastFailure)
		}
	})
	t.Run("fail fast", func(t *testing.T) {
		p := &fakeProvider{answer: jsonAnswer(529, overload)}
		cfg := provCfg("p", trip, func(p *config.Provider) { p.Breaker.PanicThreshold = new(float64) })
		g := simple(t, map[string]Provider{"p": p}, []string{"p"}, cfg)
		res, _ := g.Do(context.Background(), plain(t))
		readAll(t, res)
		g.advance(2 * time.Second)
		_, err := g.Do(context.Background(), plain(t))
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Kind != apierr.Unavailable {
			t.Fatalf("err = %v, want 503", err)
		}
		if ae.RetryAfter != 3*time.Second || !strings.Contains(ae.Public, "provider p") || !strings.Contains(ae.Public, "upstream_529") {
			t.Errorf("retry-after %v, message %q: want 3s, the provider and its last failure", ae.RetryAfter, ae.Public)
		}
		if p.count() != 1 {
			t.Errorf("%d calls, want 1 (none while open)", p.count())
		}
	})
}

// TestCredentialRefused: a 401 or 403 is the vendor refusing the gateway's
// own key: a 502 naming the provider, x-should-retry false, no retry on
// the provider, no breaker failure; another target serves when there is one.
func TestCredentialRefused(t *testing.T) {
	for _, status := range []int{401, 403} {
		a := &fakeProvider{nodes: []string{"n0", "n1"}, answer: jsonAnswer(status, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`)}
		g := simple(t, map[string]Provider{"a": a}, []string{"a"})
		_, err := g.Do(context.Background(), plain(t))
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Kind != apierr.BadGateway || !ae.NoRetry {
			t.Fatalf("%d: err = %#v, want a 502 with no retry", status, err)
		}
		if !strings.Contains(ae.Public, "provider a") || !strings.Contains(ae.Public, "credential refused") || strings.Contains(ae.Public, "x-api-key") {
			t.Errorf("%d: message %q", status, ae.Public)
		}
		if a.count() != 1 || g.Pools()[0].Snapshot().Nodes[0].WindowRequests != 0 {
			t.Errorf("%d: %d calls, node %+v", status, a.count(), g.Pools()[0].Snapshot().Nodes[0])
		}
	}
	a := &fakeProvider{answer: jsonAnswer(401, badReq)}
	b := &fakeProvider{answer: jsonAnswer(200, message)}
	g := simple(t, map[string]Provider{"a": a, "b": b}, []string{"a", "b"})
	res, err := g.Do(context.Background(), plain(t))
	if err != nil || res.Provider != "b" {
		t.Fatalf("err %v, provider %v: want b to serve", err, res)
	}
	readAll(t, res)
}

// TestRedirectIsBadGateway: a 3xx is never passed on as a bare redirect:
// a 502 that names the provider, tried on the other node.
func TestRedirectIsBadGateway(t *testing.T) {
	p := &fakeProvider{nodes: []string{"n0", "n1"}, answer: jsonAnswer(302, "", "Location", "http://elsewhere.example/")}
	g := simple(t, map[string]Provider{"p": p}, []string{"p"})
	_, err := g.Do(context.Background(), plain(t))
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Kind != apierr.BadGateway || !strings.Contains(ae.Public, "redirect") || !strings.Contains(ae.Public, "provider p") {
		t.Fatalf("err = %v, want a 502 about the redirect", err)
	}
	if diff := cmp.Diff([]int{0, 1}, p.nodesCalled()); diff != "" {
		t.Errorf("nodes called (-want +got):\n%s", diff)
	}
}

// TestLocalAnswerNotMeasured: an answer the provider made itself (a
// count_tokens estimate) feeds neither the node's latency nor its breaker.
func TestLocalAnswerNotMeasured(t *testing.T) {
	p := &fakeProvider{answer: func(ctx context.Context, c *provider.Call, i int) (*provider.Response, error) {
		time.Sleep(0)
		return &provider.Response{Status: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"input_tokens":3}`)), Local: true}, nil
	}}
	g := simple(t, map[string]Provider{"p": p}, []string{"p"})
	g.Relay.now = func() time.Time { g.advance(300 * time.Millisecond); return g.clock() } // every estimate "takes" 300ms
	req := plain(t)
	req.Op = provider.OpCountTokens
	res, err := g.Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, res)
	n := g.Pools()[0].Snapshot().Nodes[0]
	if n.EWMATTFBMs != 0 || n.WindowRequests != 0 {
		t.Errorf("an estimate was measured as an upstream call: %+v", n)
	}
}

// TestPartialPanic: with 2 of 3 nodes open (below the 50% threshold), a
// third of first attempts go to the open nodes (here, rand 0.9: node 1),
// and the retry goes to the healthy node, not to the other open one.
func TestPartialPanic(t *testing.T) {
	p := &fakeProvider{nodes: []string{"n0", "n1", "n2"}, answer: byNode(jsonAnswer(500, serverErr), jsonAnswer(500, serverErr), jsonAnswer(200, message))}
	cfg := provCfg("p", func(p *config.Provider) { p.Breaker.ConsecutiveFailures = 1 })
	g := newRig(t, []config.Route{routeTo("*", config.Target{Provider: "p"})}, []config.Provider{cfg}, map[string]Provider{"p": p},
		func(o *Options) { o.Rand = func() float64 { return 0.9 } })
	for range 2 {
		res, err := g.Do(context.Background(), plain(t))
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(t, res); body != message {
			t.Fatalf("got %s", body)
		}
	}
	if diff := cmp.Diff([]int{0, 1, 2, 1, 2}, p.nodesCalled()); diff != "" {
		t.Errorf("nodes called (-want +got):\n%s", diff)
	}
	if got := val(g.m.PanicRouting.WithLabelValues("p")); got != 1 {
		t.Errorf("ferry_panic_routing_total = %g, want 1", got)
	}
}

// TestBudgetSpentNoRetryOnOwnError: when the budget refuses the retry of
// a failure that had no answer, the gateway's own error says
// x-should-retry: false too.
func TestBudgetSpentNoRetryOnOwnError(t *testing.T) {
	p := &fakeProvider{answer: failure(provider.ReasonConnectionReset)}
	g := simple(t, map[string]Provider{"p": p}, []string{"p"}, provCfg("p", func(p *config.Provider) {
		p.Retry = config.Retry{MaxAttempts: 3, Budget: 0.01, MinRetries: 1}
		p.Breaker.Disabled = true
	}))
	g.Do(context.Background(), plain(t)) // spends the one retry
	_, err := g.Do(context.Background(), plain(t))
	var ae *apierr.Error
	if !errors.As(err, &ae) || !ae.NoRetry || ae.Kind != apierr.BadGateway {
		t.Errorf("err = %#v, want a 502 with NoRetry", err)
	}
}
