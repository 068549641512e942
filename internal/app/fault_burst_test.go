package app

// A vendor's short burst of 429s, 500s and 529s against a one-node
// provider with nothing configured but its URL and key: the defaults must
// carry the route through it, never leave it refusing with
// "no upstream node available".

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
)

// defaultProvider is a provider with only what a new user writes: every
// timeout, retry and breaker setting is the default.
func defaultProvider(name, url string) config.Provider {
	return config.Provider{Name: name, Type: config.TypeAnthropic, BaseURLs: []string{url}, APIKey: providerKey}
}

func e500() *fakeupstream.Fixture {
	return &fakeupstream.Fixture{
		Name: "anthropic 500", Status: 500,
		Header: map[string][]string{"Content-Type": {"application/json"}},
		Body:   []byte(`{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`),
	}
}

// seq answers request n with replies[n], then with after.
func seq(after fakeupstream.Reply, replies ...fakeupstream.Reply) fakeupstream.Script {
	return func(n int) fakeupstream.Reply {
		if n < len(replies) {
			return replies[n]
		}
		return after
	}
}

func times(n int, r fakeupstream.Reply) []fakeupstream.Reply {
	out := make([]fakeupstream.Reply, n)
	for i := range out {
		out[i] = r
	}
	return out
}

// status is what the client saw: 200, or the error's status.
func status(o outcome) int {
	var ae *anthropic.Error
	switch {
	case o.Err == nil:
		return 200
	case errors.As(o.Err, &ae):
		return ae.StatusCode
	}
	return -1
}

// TestFaultBurstRecovery: one node, default settings, the SDK without
// retries. The node answers 429×3, 500×3, 529×2, then recovers. The
// 429s go back to the client at once with the vendor's retry-after (a
// quota is not the node's health); the 500s are retried and, spent, go
// back as the vendor's 500; the 529s are retried through. Every request
// after the burst is served, none is refused by an open breaker. Then a
// longer 5xx storm that does open the breaker: the next request is served
// at once all the same (panic routing), and the admin API says so.
func TestFaultBurstRecovery(t *testing.T) {
	checkLeaks(t)
	fx := loadFaultFixtures(t)
	ok := fx.ok()
	r429, r500, r529 := fakeupstream.Reply{Fixture: fx.e429}, fakeupstream.Reply{Fixture: e500()}, fakeupstream.Reply{Fixture: fx.e529}
	cat := func(parts ...[]fakeupstream.Reply) (out []fakeupstream.Reply) {
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	bursts := []struct {
		name   string
		script []fakeupstream.Reply
		want   string // the statuses the client sees, compacted
	}{
		// Back to back: the 529s are retried through by the request the
		// third 500 left with its last attempts.
		{"429x3 500x3 529x2", cat(times(3, r429), times(3, r500), times(2, r529)), "429x3 500 200x16"},
		// Each burst followed by a recovery: the request right after each
		// is served.
		{"429x3 ok 500x3 ok 529x2", cat(times(3, r429), times(1, ok), times(3, r500), times(1, ok), times(2, r529)), "429x3 200 500 200x15"},
	}
	for _, bc := range bursts {
		t.Run(bc.name, func(t *testing.T) {
			a := newFakes(t, 1, ok)[0]
			a.SetScript(seq(ok, bc.script...))
			g := startFaultGateway(t, []config.Provider{defaultProvider("p", a.URL)}, route("p"))
			c := g.client()
			var got []int
			for i := range 20 {
				o := g.call(c, i%2 == 1)
				got = append(got, status(o))
				if st := status(o); st == 429 {
					if ra := o.Header.Get("Retry-After"); ra != "7" || o.Elapsed > tBound {
						t.Errorf("request %d: 429 with retry-after %q after %v, want the vendor's 7 at once", i, ra, o.Elapsed)
					}
				}
			}
			if compact(got) != bc.want {
				t.Errorf("statuses %s, want %s", compact(got), bc.want)
			}
			wantMetric(t, g.metrics(), 0, "ferry_breaker_transitions_total", "provider", "p", "to", "open")
			result(t, "one node, default settings, %s | statuses %s: the 429s passed back at once with retry-after, 5xx retried, every request after each burst served, breaker never opened", bc.name, compact(got))
		})
	}
	t.Run("5xx storm opens the breaker", func(t *testing.T) {
		a := newFakes(t, 1, ok)[0]
		// 4 requests × 3 attempts, then the fifth request's first attempt:
		// consecutive_failures (5) is reached, the breaker opens.
		a.SetScript(seq(ok, times(13, fakeupstream.Reply{Fixture: e500()})...))
		g := startFaultGateway(t, []config.Provider{defaultProvider("p", a.URL)}, route("p"))
		c := g.client()
		for i := range 5 {
			if st := status(g.call(c, false)); st != 500 {
				t.Fatalf("storm request %d: %d, want the vendor's 500", i, st)
			}
		}
		m := g.metrics()
		wantMetric(t, m, 1, "ferry_breaker_transitions_total", "provider", "p", "to", "open")
		for i := range 4 {
			o := g.call(c, i%2 == 1)
			// Two attempts: p@-:no_available_node, then the panic call.
			wantServed(t, o, i%2 == 1, "p", a, 2, tBound)
		}
		wantMetric(t, g.metrics(), 4, "ferry_panic_routing_total", "provider", "p")
		resp, err := g.HTTP.Get(g.Admin + "/admin/upstreams")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var ups struct {
			Upstreams []struct {
				Panic       bool   `json:"panic"`
				PanicRouted uint64 `json:"panic_routed"`
				LastFailure string `json:"last_failure"`
			} `json:"upstreams"`
		}
		if err := json.Unmarshal(b, &ups); err != nil || len(ups.Upstreams) != 1 {
			t.Fatalf("upstreams: %v: %s", err, b)
		}
		if u := ups.Upstreams[0]; !u.Panic || u.PanicRouted != 4 || u.LastFailure != "upstream_500" {
			t.Errorf("admin upstreams: %s", b)
		}
		if !strings.Contains(g.Logs.String(), "panic routing") {
			t.Error("panic routing was not logged")
		}
		result(t, "one node, default settings, 500x13 (breaker opens) | the next 4 requests served at once by panic routing, ferry_panic_routing_total 4; /admin/upstreams panic=%v panic_routed=%d last_failure=%s",
			ups.Upstreams[0].Panic, ups.Upstreams[0].PanicRouted, ups.Upstreams[0].LastFailure)
	})
	t.Run("fail fast", func(t *testing.T) {
		a := newFakes(t, 1, fakeupstream.Reply{Fixture: e500()})[0]
		p := defaultProvider("p", a.URL)
		p.Breaker.PanicThreshold = new(float64)
		g := startFaultGateway(t, []config.Provider{p}, route("p"))
		c := g.client()
		for range 5 {
			g.call(c, false)
		}
		o := g.call(c, false)
		e := assertAPIError(t, o.Err, http.StatusServiceUnavailable, "api_error")
		if ra := e.Response.Header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("503 without retry-after")
		}
		if msg := string(e.RawJSON()); !strings.Contains(msg, "provider p") || !strings.Contains(msg, "upstream_500") {
			t.Errorf("503 message %s: want the provider and its last failure", msg)
		}
		result(t, "panic_threshold 0 (fail fast), breaker open | 503 in %v, retry-after %s: %s", o.Elapsed.Round(time.Millisecond),
			e.Response.Header.Get("Retry-After"), e.RawJSON())
	})
}

// compact prints statuses as 429x3 500 200x16.
func compact(s []int) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] == s[i] {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d", s[i])
		if j-i > 1 {
			fmt.Fprintf(&b, "x%d", j-i)
		}
		i = j
	}
	return b.String()
}

// TestFaultCredentialRefused: the vendor refuses the gateway's own key.
// The client gets a 502 naming the provider, never a 401 on its own key
// (Claude Code would ask its user to log in again), with x-should-retry:
// false; the log names the provider whose key to fix, and never the key.
func TestFaultCredentialRefused(t *testing.T) {
	checkLeaks(t)
	refused := &fakeupstream.Fixture{
		Name: "401", Status: 401, Header: map[string][]string{"Content-Type": {"application/json"}},
		Body: []byte(`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`),
	}
	a := newFakes(t, 1, fakeupstream.Reply{Fixture: refused})[0]
	g := startFaultGateway(t, []config.Provider{defaultProvider("relay-hk", a.URL)}, route("relay-hk"))
	for _, stream := range []bool{false, true} {
		o := g.call(g.client(), stream)
		e := assertAPIError(t, o.Err, http.StatusBadGateway, "api_error")
		if got := e.Response.Header.Get("X-Should-Retry"); got != "false" {
			t.Errorf("x-should-retry %q, want false", got)
		}
		if msg := string(e.RawJSON()); !strings.Contains(msg, "relay-hk") || !strings.Contains(msg, "credential refused") {
			t.Errorf("message %s", msg)
		}
	}
	if a.Count() != 2 {
		t.Errorf("%d upstream requests, want one per client request (no retries)", a.Count())
	}
	logs := g.Logs.String()
	if !strings.Contains(logs, "fix this provider's api_key") || !strings.Contains(logs, `"provider":"relay-hk"`) {
		t.Errorf("the log does not say which key to fix:\n%s", logs)
	}
	if strings.Contains(logs, providerKey) {
		t.Error("the provider key is in the log")
	}
}

// TestFaultRedirect: a node that answers 302 (a base_url behind a login
// page, a moved relay) is a 502 that says so; the redirect is never
// followed.
func TestFaultRedirect(t *testing.T) {
	checkLeaks(t)
	elsewhere := newFakes(t, 1, fakeupstream.Reply{Fixture: loadFaultFixtures(t).msg})[0]
	moved := &fakeupstream.Fixture{Name: "302", Status: 302, Header: map[string][]string{"Location": {elsewhere.URL + "/v1/messages"}}}
	a := newFakes(t, 1, fakeupstream.Reply{Fixture: moved})[0]
	g := startFaultGateway(t, []config.Provider{defaultProvider("p", a.URL)}, route("p"))
	o := g.call(g.client(), false)
	e := assertAPIError(t, o.Err, http.StatusBadGateway, "api_error")
	if msg := string(e.RawJSON()); !strings.Contains(msg, "redirect") {
		t.Errorf("message %s", msg)
	}
	if elsewhere.Count() != 0 {
		t.Errorf("the redirect was followed: %d requests to its target", elsewhere.Count())
	}
}

// TestTokenizerWarmsAtStart: with an OpenAI-format provider, the
// count_tokens tokenizer loads at start, before any request needs it.
func TestTokenizerWarmsAtStart(t *testing.T) {
	a := newFakes(t, 1, loadFaultFixtures(t).oaiOK())[0]
	g := startFaultGateway(t, []config.Provider{openaiProvider("o", a.URL)}, route("o"))
	if !waitFor(20*time.Second, func() bool { return strings.Contains(g.Logs.String(), "count_tokens tokenizer loaded") }) {
		t.Error("the tokenizer did not load at start")
	}
}

// TestNodeNamesNeverLeakURL: a relay token kept in a base URL's path
// (userinfo and queries are refused by config validation) never reaches a client, the logs, the metrics or the
// admin API: nodes are named host:port#N, or by node_names.
func TestNodeNamesNeverLeakURL(t *testing.T) {
	checkLeaks(t)
	f := newFakes(t, 1, loadFaultFixtures(t).ok())[0]
	host := strings.TrimPrefix(f.URL, "http://")
	leaky := defaultProvider("relay", f.URL+"/tok-SECRET1")
	leaky.BaseURLs = append(leaky.BaseURLs, f.URL+"/tok-SECRET2")
	named := defaultProvider("named", f.URL+"/tok-SECRET4")
	named.NodeNames = []string{"hk-1"}
	g := startFaultGateway(t, []config.Provider{leaky, named}, route("relay"), config.Route{Match: "named-*", Targets: []config.Target{{Provider: "named"}}})
	o := g.call(g.client(), true)
	if o.Err != nil || o.Node != host+"#1" {
		t.Errorf("x-ferry-node %q (%v), want %s#1", o.Node, o.Err, host)
	}
	var resp *http.Response
	c := g.client()
	_, err := c.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "named-x", MaxTokens: 8, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}, option.WithResponseInto(&resp))
	if err != nil || resp.Header.Get("X-Ferry-Node") != "hk-1" {
		t.Errorf("named node: %v, x-ferry-node %q, want hk-1", err, resp.Header.Get("X-Ferry-Node"))
	}
	var seen []string
	for _, path := range []string{"/admin/upstreams", "/metrics"} {
		r, err := g.HTTP.Get(g.Admin + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		seen = append(seen, string(b))
	}
	seen = append(seen, g.Logs.String())
	for i, s := range seen {
		if strings.Contains(s, "SECRET") || strings.Contains(s, "tok-") {
			t.Errorf("source %d shows part of a base URL's path, userinfo or query", i)
		}
	}
	if !strings.Contains(seen[0], `"hk-1"`) || !strings.Contains(seen[0], host+"#2") {
		t.Errorf("/admin/upstreams does not name the nodes: %s", seen[0])
	}
}
