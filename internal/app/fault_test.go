package app

// The fault-injection suite: each test gives the gateway upstream nodes
// (fakes on loopback) that misbehave in one way, sends requests through the
// real Anthropic Go SDK (WithMaxRetries(0): only the gateway retries), and
// checks what the client got, how long it took, which node served, what the
// metrics counted, and that no goroutine was left behind. Lines starting
// with "RESULT" are the measured figures the README's Reliability table
// quotes: go test -race -run TestFault -v ./internal/app/

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
)

func result(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("RESULT "+format, args...)
}

// wantServed checks a successful answer, served by node of provider after
// attempts attempts, within limit.
func wantServed(t *testing.T, o outcome, stream bool, provider string, node *fakeupstream.Server, attempts int, limit time.Duration) {
	t.Helper()
	if o.Err != nil {
		t.Fatalf("request failed: %v", o)
	}
	if stream {
		if !o.Stopped || o.Text != wantText {
			t.Errorf("stream incomplete: %v", o)
		}
	} else if o.MsgID != wantMsgID {
		t.Errorf("message %q, want %q", o.MsgID, wantMsgID)
	}
	if o.Provider != provider {
		t.Errorf("x-ferry-provider %q, want %q", o.Provider, provider)
	}
	if node != nil && (o.Node == "" || !strings.Contains(o.Node, node.Host())) {
		t.Errorf("x-ferry-node %q, want node %s", o.Node, node.Host())
	}
	if attempts > 0 && o.Attempts != attempts {
		t.Errorf("x-ferry-attempts %d, want %d", o.Attempts, attempts)
	}
	if o.Elapsed > limit {
		t.Errorf("answered after %v, want under %v", o.Elapsed, limit)
	}
}

func wantMetric(t *testing.T, m metricSet, want float64, name string, kv ...string) {
	t.Helper()
	if got := m.sum(name, kv...); got != want {
		t.Errorf("%s%v = %g, want %g; series:\n%s", name, kv, got, want, m.series(name))
	}
}

// wantStreamError checks a stream that broke after its first events: the
// client got an error event (a typed error from the SDK), never a silent
// end without message_stop.
func wantStreamError(t *testing.T, o outcome, typ string, minEvents int) {
	t.Helper()
	var ae *anthropic.Error
	if !errors.As(o.Err, &ae) {
		t.Fatalf("stream ended without an error event: %v", o)
	}
	if string(ae.Type()) != typ {
		t.Errorf("error event type %q, want %q (%s)", ae.Type(), typ, ae.RawJSON())
	}
	if o.Stopped {
		t.Errorf("message_stop after an error")
	}
	if o.Events < minEvents {
		t.Errorf("%d events before the error, want at least %d", o.Events, minEvents)
	}
}

// TestFaultRefusedNode: node A's port is closed; B serves, and A is then
// skipped while it is marked down.
func TestFaultRefusedNode(t *testing.T) {
	checkLeaks(t)
	fx := loadFaultFixtures(t)
	b := newFakes(t, 1, fx.ok())[0]
	dead, err := fakeupstream.ClosedURL()
	if err != nil {
		t.Fatal(err)
	}
	g := startFaultGateway(t, []config.Provider{anthropicProvider("p", dead, b.URL)}, route("p"))
	c := g.client()
	o := g.call(c, false)
	wantServed(t, o, false, "p", b, 2, tBound)
	m := g.metrics()
	wantMetric(t, m, 1, mUpstreamErrors, "provider", "p", "kind", "connect_refused")
	wantMetric(t, m, 1, mRetries, "provider", "p", "reason", "connect_refused")
	wantMetric(t, m, 2, mAttempts, "provider", "p")
	// The access log lists the attempts: provider@node:outcome.
	if want := `"attempts":["p@` + strings.TrimPrefix(dead, "http://") + `:connect_refused","p@` + b.Host() + `:200"]`; !strings.Contains(g.Logs.String(), want) {
		t.Errorf("access log lacks %s:\n%s", want, g.Logs.String())
	}
	// timeouts.node_down (default 10s): a node that refused a connection
	// is skipped, so the next request goes straight to B.
	o2 := g.call(c, true)
	wantServed(t, o2, true, "p", b, 1, tBound)
	if b.Count() != 2 {
		t.Errorf("B got %d requests, want 2", b.Count())
	}
	result(t, "refused node | %v, node B, attempts %d; next request %v, attempts %d", o.Elapsed.Round(time.Millisecond), o.Attempts, o2.Elapsed.Round(time.Millisecond), o2.Attempts)
}

// TestFaultResetBeforeHeaders: node A resets the connection (RST) after
// reading the request, before any answer: retried on B.
func TestFaultResetBeforeHeaders(t *testing.T) {
	checkLeaks(t)
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "message", true: "stream"}[stream], func(t *testing.T) {
			fx := loadFaultFixtures(t)
			n := newFakes(t, 2, fx.ok())
			a, b := n[0], n[1]
			a.SetScript(fakeupstream.Always(fakeupstream.Reply{Fault: fakeupstream.ResetBeforeHeaders}))
			g := startFaultGateway(t, []config.Provider{anthropicProvider("p", a.URL, b.URL)}, route("p"))
			o := g.call(g.client(), stream)
			wantServed(t, o, stream, "p", b, 2, tBound)
			if a.Count() != 1 || b.Count() != 1 {
				t.Errorf("A got %d, B %d requests; want 1 and 1", a.Count(), b.Count())
			}
			m := g.metrics()
			wantMetric(t, m, 1, mUpstreamErrors, "provider", "p", "kind", "connection_reset")
			wantMetric(t, m, 1, mRetries, "provider", "p", "reason", "connection_reset")
			result(t, "reset before headers (stream=%v) | %v, node B, attempts %d", stream, o.Elapsed.Round(time.Millisecond), o.Attempts)
		})
	}
}

// TestFaultResetMidStream: node A resets the connection after 3 events.
// The client already has the status and the first events: no retry, the
// stream ends with an error event, at once.
func TestFaultResetMidStream(t *testing.T) {
	checkLeaks(t)
	fx := loadFaultFixtures(t)
	n := newFakes(t, 2, fx.ok())
	a, b := n[0], n[1]
	a.SetScript(fakeupstream.Always(fakeupstream.Reply{Fixture: fx.stream, Fault: fakeupstream.ResetAfterEvents, Events: 3}))
	g := startFaultGateway(t, []config.Provider{anthropicProvider("p", a.URL, b.URL)}, route("p"))
	o := g.call(g.client(), true)
	// message_start and content_block_start (the third event is a ping,
	// which the SDK skips).
	wantStreamError(t, o, "api_error", 2)
	if o.Provider != "p" || !strings.Contains(o.Node, a.Host()) {
		t.Errorf("served by %q %q, want node A", o.Provider, o.Node)
	}
	if o.Elapsed > tBound {
		t.Errorf("error event after %v", o.Elapsed)
	}
	if b.Count() != 0 {
		t.Errorf("a stream already started was retried on B")
	}
	m := g.metrics()
	wantMetric(t, m, 1, mStreamBreaks, "provider", "p", "reason", "connection_reset")
	result(t, "reset after 3 events | error event after %v (%d events), no retry; %s", o.Elapsed.Round(time.Millisecond), o.Events, m.series(mStreamBreaks))
}

// TestFaultStallBeforeFirstByte: node A accepts the request and never
// answers; after response_header the gateway gives up on it and B serves.
func TestFaultStallBeforeFirstByte(t *testing.T) {
	checkLeaks(t)
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "message", true: "stream"}[stream], func(t *testing.T) {
			fx := loadFaultFixtures(t)
			n := newFakes(t, 2, fx.ok())
			a, b := n[0], n[1]
			a.SetScript(fakeupstream.Always(fakeupstream.Reply{Fixture: fx.msg, Stream: fx.stream, Fault: fakeupstream.StallBeforeHeaders}))
			p := anthropicProvider("p", a.URL, b.URL)
			p.Timeouts.ResponseHeader = tFirstByte
			g := startFaultGateway(t, []config.Provider{p}, route("p"))
			o := g.call(g.client(), stream)
			wantServed(t, o, stream, "p", b, 2, tFirstByte+tBound)
			if o.Elapsed < tFirstByte {
				t.Errorf("answered after %v, before the first-byte timeout %v", o.Elapsed, tFirstByte)
			}
			select {
			case <-a.Canceled():
			case <-time.After(tBound):
				t.Errorf("the stalled request to A was not cancelled")
			}
			m := g.metrics()
			wantMetric(t, m, 1, mUpstreamErrors, "provider", "p", "kind", "first_byte_timeout")
			wantMetric(t, m, 1, mRetries, "provider", "p", "reason", "first_byte_timeout")
			result(t, "stall before first byte (stream=%v) | %v (timeout %v), node B, attempts %d", stream, o.Elapsed.Round(time.Millisecond), tFirstByte, o.Attempts)
		})
	}
}

// TestFaultStallMidStream: node A goes silent after 2 events; after
// stream_idle the client gets an error event and A's request is cancelled.
func TestFaultStallMidStream(t *testing.T) {
	checkLeaks(t)
	fx := loadFaultFixtures(t)
	a := newFakes(t, 1, fakeupstream.Reply{Fixture: fx.stream, Fault: fakeupstream.StallAfterEvents, Events: 2})[0]
	p := anthropicProvider("p", a.URL)
	p.Timeouts.StreamIdle = tStreamIdle
	g := startFaultGateway(t, []config.Provider{p}, route("p"))
	o := g.call(g.client(), true)
	wantStreamError(t, o, "api_error", 2)
	if o.Elapsed < tStreamIdle || o.Elapsed > tStreamIdle+tBound {
		t.Errorf("error event after %v, want just after stream_idle %v", o.Elapsed, tStreamIdle)
	}
	select {
	case <-a.Canceled():
	case <-time.After(tBound):
		t.Errorf("the stalled upstream request was not cancelled")
	}
	// A failure after the first byte is a stream break (the attempt had
	// an answer), counted with its reason.
	m := g.metrics()
	wantMetric(t, m, 1, mStreamBreaks, "provider", "p", "reason", "stream_idle_timeout")
	result(t, "stall after 2 events | error event after %v (stream_idle %v)", o.Elapsed.Round(time.Millisecond), tStreamIdle)
}

// TestFaultMalformedJSON: a 200 whose JSON is cut short is never passed on
// as an answer: the client gets a 502 api_error in Anthropic's shape.
func TestFaultMalformedJSON(t *testing.T) {
	checkLeaks(t)
	fx := loadFaultFixtures(t)
	a := newFakes(t, 1, fakeupstream.Reply{Fixture: fakeupstream.Malformed(fx.msg)})[0]
	g := startFaultGateway(t, []config.Provider{anthropicProvider("p", a.URL)}, route("p"))
	o := g.call(g.client(), false)
	e := assertAPIError(t, o.Err, 502, "api_error")
	if !strings.Contains(e.RawJSON(), `"type":"error"`) {
		t.Errorf("not Anthropic's error shape: %s", e.RawJSON())
	}
	if o.Elapsed > tBound || a.Count() > 3 {
		t.Errorf("answered after %v and %d upstream requests", o.Elapsed, a.Count())
	}
	result(t, "malformed JSON 200 | 502 api_error in %v after %d upstream requests", o.Elapsed.Round(time.Millisecond), a.Count())
}

// TestFaultTruncatedStream: the upstream ends its stream cleanly but
// without message_stop: the client gets an error event, not a silent end.
func TestFaultTruncatedStream(t *testing.T) {
	checkLeaks(t)
	fx := loadFaultFixtures(t)
	n := newFakes(t, 2, fx.ok())
	a, b := n[0], n[1]
	a.SetScript(fakeupstream.Always(fakeupstream.Reply{Fixture: fx.stream, Fault: fakeupstream.TruncateAfterEvents, Events: 5}))
	g := startFaultGateway(t, []config.Provider{anthropicProvider("p", a.URL, b.URL)}, route("p"))
	o := g.call(g.client(), true)
	wantStreamError(t, o, "api_error", 4)
	if o.Elapsed > tBound || b.Count() != 0 {
		t.Errorf("after %v, B got %d requests (want no retry)", o.Elapsed, b.Count())
	}
	// The same at the byte level: whole events, then the error event.
	resp, body := postRaw(t, g, `{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	s := string(body)
	if resp.StatusCode != 200 || !strings.HasPrefix(s, string(fx.stream.Body[:fakeupstream.EventEnds(fx.stream.Body)[4]])) {
		t.Errorf("status %d, the first 5 events were not passed on whole:\n%s", resp.StatusCode, s)
	}
	if !strings.HasSuffix(s, "\n\n") || !strings.Contains(s, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"") || strings.Contains(s, "message_stop") {
		t.Errorf("no error event at the end:\n%s", s)
	}
	wantMetric(t, g.metrics(), 2, mStreamBreaks, "provider", "p")
	result(t, "truncated stream | error event after %v (%d events), no retry", o.Elapsed.Round(time.Millisecond), o.Events)
}

func postRaw(t *testing.T, g *faultGateway, body string) (*http.Response, []byte) {
	t.Helper()
	gw := &gateway{URL: g.URL, HTTP: g.HTTP}
	return gw.rawPost(t, "/v1/messages", body, nil)
}

// TestFaultTotalDeadline: both nodes stall; timeouts.total ends the
// request with a 504 even though attempts remain.
func TestFaultTotalDeadline(t *testing.T) {
	checkLeaks(t)
	fx := loadFaultFixtures(t)
	n := newFakes(t, 2, fakeupstream.Reply{Fixture: fx.msg, Fault: fakeupstream.StallBeforeHeaders})
	p := anthropicProvider("p", urlsOf(n...)...)
	p.Timeouts.ResponseHeader, p.Timeouts.Total = tFirstByte, 300*time.Millisecond
	g := startFaultGateway(t, []config.Provider{p}, route("p"))
	o := g.call(g.client(), false)
	assertAPIError(t, o.Err, 504, "api_error")
	if o.Elapsed < p.Timeouts.Total || o.Elapsed > p.Timeouts.Total+tBound {
		t.Errorf("answered after %v, want just after the total deadline %v", o.Elapsed, p.Timeouts.Total)
	}
	wantMetric(t, g.metrics(), 1, mUpstreamErrors, "provider", "p", "kind", "deadline_exceeded")
	result(t, "both nodes stall, total 300ms | 504 after %v", o.Elapsed.Round(time.Millisecond))
}

// TestFaultTLSHandshakeTimeout: node A accepts TCP but never completes the
// TLS handshake; after tls_handshake B serves.
func TestFaultTLSHandshakeTimeout(t *testing.T) {
	checkLeaks(t)
	fx := loadFaultFixtures(t)
	silent, err := fakeupstream.NewSilent()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(silent.Close)
	b := newFakes(t, 1, fx.ok())[0]
	p := anthropicProvider("p", "https://"+silent.Addr(), b.URL)
	p.Timeouts.TLSHandshake = 150 * time.Millisecond
	p.Timeouts.ResponseHeader = time.Second // longer than the handshake's own timeout
	g := startFaultGateway(t, []config.Provider{p}, route("p"))
	o := g.call(g.client(), false)
	wantServed(t, o, false, "p", b, 2, tBound)
	if o.Elapsed < p.Timeouts.TLSHandshake {
		t.Errorf("answered after %v, before the handshake timeout", o.Elapsed)
	}
	wantMetric(t, g.metrics(), 1, mUpstreamErrors, "provider", "p", "kind", "tls_handshake_timeout")
	result(t, "TLS handshake never completes | %v (tls_handshake %v), node B", o.Elapsed.Round(time.Millisecond), p.Timeouts.TLSHandshake)
}
