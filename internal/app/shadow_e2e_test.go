package app

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/shadow"
)

// TestShadowTraffic mirrors every request of a route to a slow shadow
// provider: the client's answers come from the primary without waiting
// for the shadow, the shadow sees the same request with its own model
// name, and /admin/shadow reports the pairs and their agreement.
func TestShadowTraffic(t *testing.T) {
	checkLeaks(t)
	f := loadFaultFixtures(t)
	primary := newFakes(t, 1, f.ok())[0]
	cand := newFakes(t, 1, f.ok())[0]
	const shadowDelay = 600 * time.Millisecond
	cand.SetLatency(shadowDelay)

	g := shadowGateway(t, anthropicProvider("primary", primary.URL), anthropicProvider("cand", cand.URL), "claude-candidate-1")
	c := g.client()

	const n = 6
	for i := range n {
		stream := i%2 == 1
		o := g.call(c, stream)
		if o.Err != nil {
			t.Fatalf("request %d (stream %v): %v", i, stream, o.Err)
		}
		if o.Provider != "primary" {
			t.Errorf("request %d served by %q, want primary", i, o.Provider)
		}
		// The shadow answers after 600ms; the client must not wait for it.
		if o.Elapsed >= shadowDelay {
			t.Errorf("request %d took %v: the client waited for the shadow (%v)", i, o.Elapsed, shadowDelay)
		}
	}

	var sum shadow.Summary
	if !waitFor(10*time.Second, func() bool {
		sum = adminShadow(t, g)
		return len(sum.Targets) == 1 && sum.Targets[0].Pairs == n
	}) {
		t.Fatalf("shadow summary never reached %d pairs: %+v", n, sum)
	}
	ts := sum.Targets[0]
	if ts.Route != "claude-*" || ts.Provider != "cand" || ts.Model != "claude-candidate-1" {
		t.Errorf("target = %q %q %q", ts.Route, ts.Provider, ts.Model)
	}
	// Both sides replay the same fixtures: everything agrees.
	if ts.Errors != 0 || ts.Agreement == nil || *ts.Agreement != 1 || ts.Similarity == nil || *ts.Similarity != 1 {
		t.Errorf("errors=%d agreement=%v similarity=%v, want 0, 1, 1", ts.Errors, deref(ts.Agreement), deref(ts.Similarity))
	}
	// The shadow was slower: its latency ratio is above 1.
	if ts.LatencyRatio == nil || ts.LatencyRatio.P50 <= 1 {
		t.Errorf("latency ratio = %+v, want p50 > 1", ts.LatencyRatio)
	}
	if cand.Count() != n {
		t.Errorf("shadow provider got %d requests, want %d (one attempt each)", cand.Count(), n)
	}
	for _, r := range cand.Requests() {
		if !strings.Contains(string(r.Body), `"model":"claude-candidate-1"`) {
			t.Errorf("shadow request model not rewritten: %.120s", r.Body)
		}
	}
	m := g.metrics()
	if got := m.sum("ferry_shadow_completed_total", "route", "claude-*", "result", "agree"); got != n {
		t.Errorf("ferry_shadow_completed_total{result=agree} = %v, want %d", got, n)
	}
	// Shadow calls are not primary attempts.
	if got := m.sum("ferry_upstream_attempts_total", "provider", "cand"); got != 0 {
		t.Errorf("shadow calls counted as attempts: %v", got)
	}
}

// shadowGateway routes claude-* to primary and mirrors every request to
// cand, as model.
func shadowGateway(t *testing.T, primary, cand config.Provider, model string) *faultGateway {
	rt := route(primary.Name)
	rt.Shadow = config.RouteShadow{Provider: cand.Name, Model: model, Sample: 1}
	return startFaultGateway(t, []config.Provider{primary, cand}, rt)
}

func adminShadow(t *testing.T, g *faultGateway) shadow.Summary {
	t.Helper()
	resp, err := g.HTTP.Get(g.Admin + "/admin/shadow")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/shadow: %d %s", resp.StatusCode, b)
	}
	var s shadow.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("GET /admin/shadow: %v: %s", err, b)
	}
	return s
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestShadowToOpenAICompatible: a shadow target whose upstream speaks
// Chat Completions gets the mirrored call translated for it (the relay
// prepares it, as it does every target's), and its answer is compared.
func TestShadowToOpenAICompatible(t *testing.T) {
	checkLeaks(t)
	f := loadFaultFixtures(t)
	primary := newFakes(t, 1, f.ok())[0]
	cand := newFakes(t, 1, f.oaiOK())[0]

	g := shadowGateway(t, anthropicProvider("primary", primary.URL), openaiProvider("cand", cand.URL), "deepseek-chat")
	if o := g.call(g.client(), false); o.Err != nil {
		t.Fatal(o.Err)
	}
	var sum shadow.Summary
	if !waitFor(10*time.Second, func() bool {
		sum = adminShadow(t, g)
		return len(sum.Targets) == 1 && sum.Targets[0].Pairs+sum.Targets[0].Errors >= 1
	}) {
		t.Fatalf("shadow summary never reached a pair: %+v", sum)
	}
	if ts := sum.Targets[0]; ts.Errors != 0 || ts.Pairs != 1 {
		t.Errorf("shadow pairs %d errors %d, want 1 and 0", ts.Pairs, ts.Errors)
	}
	if cand.Count() != 1 {
		t.Fatalf("shadow upstream got %d requests, want 1", cand.Count())
	}
	if body := string(cand.Requests()[0].Body); !strings.Contains(body, `"messages"`) || !strings.Contains(body, `"model":"deepseek-chat"`) {
		t.Errorf("shadow request is not a Chat Completions request for deepseek-chat: %.200s", body)
	}
}
