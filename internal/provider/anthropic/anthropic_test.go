package anthropic_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/provider/anthropic"
	"github.com/ferrygw/ferry/internal/sse"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// ---- helpers ----

// upstream is an httptest server on loopback. Handlers that block should
// also select on stop, which is closed before the server is, so that Close
// never waits on them.
type upstream struct {
	*httptest.Server
	stop  chan struct{}
	count atomic.Int64
}

func newUpstream(t *testing.T, h func(u *upstream, w http.ResponseWriter, r *http.Request)) *upstream {
	t.Helper()
	u := &upstream{stop: make(chan struct{})}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.count.Add(1)
		h(u, w, r)
	}))
	t.Cleanup(u.Close)                  // runs last
	t.Cleanup(func() { close(u.stop) }) // unblocks handlers first
	return u
}

func (u *upstream) host() string {
	pu, _ := url.Parse(u.URL)
	return pu.Host
}

// okHandler answers every request with a small JSON body.
func okHandler(_ *upstream, w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"ok":true}`)
}

// deadURL returns the URL of a loopback port that nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// recorder wraps the real transport and records the host of every attempt.
type recorder struct {
	rt    *provider.Transport
	mu    sync.Mutex
	hosts []string
}

func newRecorder(t config.Timeouts) *recorder { return &recorder{rt: anthropic.NewTransport(t)} }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.hosts = append(r.hosts, req.URL.Host)
	r.mu.Unlock()
	return r.rt.RoundTrip(req)
}

func (r *recorder) CloseIdleConnections() { r.rt.CloseIdleConnections() }

// take returns the hosts attempted since the last take.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hosts
	r.hosts = nil
	return h
}

func newProvider(t *testing.T, o anthropic.Options) *anthropic.Provider {
	t.Helper()
	if o.Name == "" {
		o.Name = "test"
	}
	if o.APIKey == "" {
		o.APIKey = "sk-provider"
	}
	p, err := anthropic.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.CloseIdleConnections)
	return p
}

func call(body string) *provider.Call {
	return &provider.Call{Op: provider.OpMessages, Body: []byte(body), Model: "m", Header: http.Header{}}
}

// do calls p.Do and registers the response's Close.
func do(t *testing.T, ctx context.Context, p *anthropic.Provider, c *provider.Call) (*provider.Response, error) {
	t.Helper()
	resp, err := p.Do(ctx, c)
	if resp != nil {
		t.Cleanup(func() { resp.Close() })
	}
	return resp, err
}

func readBody(t *testing.T, resp *provider.Response) string {
	t.Helper()
	if resp.Body == nil {
		t.Fatalf("response has no Body (Events: %v)", resp.Events != nil)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return string(b)
}

// wantAPIErr checks that err is an *apierr.Error of kind with public message.
func wantAPIErr(t *testing.T, err error, kind apierr.Kind, public string) *apierr.Error {
	t.Helper()
	var ae *apierr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v (%T), want *apierr.Error", err, err)
	}
	if ae.Kind != kind {
		t.Errorf("kind = %s, want %s (err %v)", ae.Kind, kind, err)
	}
	if public != "" && ae.Public != public {
		t.Errorf("public = %q, want %q", ae.Public, public)
	}
	return ae
}

// waitClosed waits for ch to be closed.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// ---- New ----

func TestNewErrors(t *testing.T) {
	valid := anthropic.Options{Upstream: provider.Upstream{Name: "a", BaseURLs: []string{"http://127.0.0.1:1"}, APIKey: "k"}}
	tests := []struct {
		name    string
		mutate  func(*anthropic.Options)
		wantSub string
	}{
		{"no name", func(o *anthropic.Options) { o.Name = "" }, "name required"},
		{"no base urls", func(o *anthropic.Options) { o.BaseURLs = nil }, "no base_urls"},
		{"no api key", func(o *anthropic.Options) { o.APIKey = "" }, "no api_key"},
		{"bad scheme", func(o *anthropic.Options) { o.BaseURLs = []string{"ftp://host"} }, "bad base_url"},
		{"no host", func(o *anthropic.Options) { o.BaseURLs = []string{"http://"} }, "bad base_url"},
		{"not a url", func(o *anthropic.Options) { o.BaseURLs = []string{"http://a b/%zz"} }, "bad base_url"},
		{"second url bad", func(o *anthropic.Options) { o.BaseURLs = []string{"http://ok", "host:80"} }, "bad base_url"},
		{"unknown auth", func(o *anthropic.Options) { o.Auth = "basic" }, `unknown auth "basic"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := valid
			tc.mutate(&o)
			p, err := anthropic.New(o)
			if err == nil {
				p.CloseIdleConnections()
				t.Fatalf("New succeeded, want error containing %q", tc.wantSub)
			}
			if !strings.Contains(err.Error(), tc.wantSub) {
				t.Errorf("New error = %q, want it to contain %q", err, tc.wantSub)
			}
		})
	}
	p, err := anthropic.New(valid)
	if err != nil {
		t.Fatalf("New(valid): %v", err)
	}
	defer p.CloseIdleConnections()
	if p.Name() != "a" {
		t.Errorf("Name() = %q, want a", p.Name())
	}
}

// ---- (a) request headers, URL, body ----

type seenRequest struct {
	Method string
	Host   string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	Length int64
}

func recordingUpstream(t *testing.T) (*upstream, <-chan seenRequest) {
	ch := make(chan seenRequest, 16)
	u := newUpstream(t, func(_ *upstream, w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h := r.Header.Clone()
		// Added by Go's transport and server, not by the provider.
		h.Del("Accept-Encoding")
		h.Del("Content-Length")
		ch <- seenRequest{Method: r.Method, Host: r.Host, Path: r.URL.Path, Query: r.URL.RawQuery, Header: h, Body: b, Length: r.ContentLength}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	})
	return u, ch
}

func clientHeader() http.Header {
	h := http.Header{}
	h.Set("Anthropic-Version", "2024-01-01")
	h.Add("Anthropic-Beta", "prompt-caching-2024-07-31")
	h.Add("Anthropic-Beta", "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14")
	h.Set("Anthropic-Dangerous-Direct-Browser-Access", "true")
	h.Set("X-Stainless-Lang", "js")
	h.Set("X-Stainless-Package-Version", "0.60.0")
	h.Set("X-Stainless-Retry-Count", "0")
	h.Set("User-Agent", "claude-cli/2.0.0 (external, cli)")
	h.Set("X-App", "cli")
	h.Set("X-Claude-Code-Session-Id", "sess-123")
	h.Set("Accept", "application/json")
	// Everything below must not reach the upstream.
	h.Set("X-Api-Key", "sk-client-gateway-key")
	h.Set("Authorization", "Bearer sk-client-gateway-key")
	h.Set("Cookie", "session=abc")
	h.Set("X-Forwarded-For", "203.0.113.7")
	h.Set("X-Forwarded-Host", "gateway.example")
	h.Set("X-Forwarded-Proto", "https")
	h.Set("X-Real-Ip", "203.0.113.7")
	h.Set("Forwarded", "for=203.0.113.7")
	h.Set("Host", "gateway.example")
	h.Set("Origin", "https://evil.example")
	h.Set("Referer", "https://evil.example/page")
	h.Set("Proxy-Authorization", "Basic eHg6eXk=")
	h.Set("Connection", "keep-alive")
	h.Set("Content-Type", "text/plain")
	h.Set("X-Random-Header", "1")
	h.Set("Request-Id", "req_client")
	return h
}

func TestRequestForwarding(t *testing.T) {
	body := []byte("{\"model\":\"m\",\"messages\":[]}\n\x00\xff\xfe not json \r\n")
	tests := []struct {
		name       string
		auth       string
		static     map[string]string
		prefix     string // base URL path
		op         provider.Op
		query      string
		header     func() http.Header
		wantPath   string
		wantHeader http.Header
	}{
		{
			name:     "x-api-key auth, full allowlist",
			header:   clientHeader,
			wantPath: "/v1/messages",
			wantHeader: http.Header{
				"Anthropic-Version":                         {"2024-01-01"},
				"Anthropic-Beta":                            {"prompt-caching-2024-07-31", "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"},
				"Anthropic-Dangerous-Direct-Browser-Access": {"true"},
				"X-Stainless-Lang":                          {"js"},
				"X-Stainless-Package-Version":               {"0.60.0"},
				"X-Stainless-Retry-Count":                   {"0"},
				"User-Agent":                                {"claude-cli/2.0.0 (external, cli)"},
				"X-App":                                     {"cli"},
				"X-Claude-Code-Session-Id":                  {"sess-123"},
				"Accept":                                    {"application/json"},
				"Content-Type":                              {"application/json"},
				"X-Api-Key":                                 {"sk-provider"},
			},
		},
		{
			name:     "bearer auth",
			auth:     config.AuthBearer,
			header:   clientHeader,
			wantPath: "/v1/messages",
			wantHeader: http.Header{
				"Anthropic-Version":                         {"2024-01-01"},
				"Anthropic-Beta":                            {"prompt-caching-2024-07-31", "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"},
				"Anthropic-Dangerous-Direct-Browser-Access": {"true"},
				"X-Stainless-Lang":                          {"js"},
				"X-Stainless-Package-Version":               {"0.60.0"},
				"X-Stainless-Retry-Count":                   {"0"},
				"User-Agent":                                {"claude-cli/2.0.0 (external, cli)"},
				"X-App":                                     {"cli"},
				"X-Claude-Code-Session-Id":                  {"sess-123"},
				"Accept":                                    {"application/json"},
				"Content-Type":                              {"application/json"},
				"Authorization":                             {"Bearer sk-provider"},
			},
		},
		{
			name:     "explicit x-api-key auth, default version, static headers, no client user-agent",
			auth:     config.AuthXAPIKey,
			static:   map[string]string{"x-vendor-tag": "t1", "X-Other": "o"},
			header:   func() http.Header { return http.Header{"X-Random": {"r"}} },
			wantPath: "/v1/messages",
			wantHeader: http.Header{
				"Anthropic-Version": {anthropic.DefaultVersion},
				"Content-Type":      {"application/json"},
				"X-Api-Key":         {"sk-provider"},
				"X-Vendor-Tag":      {"t1"},
				"X-Other":           {"o"},
				// Go's transport sends its own User-Agent when none is set.
				"User-Agent": {"Go-http-client/1.1"},
			},
		},
		{
			name:     "nil client header",
			header:   func() http.Header { return nil },
			wantPath: "/v1/messages",
			wantHeader: http.Header{
				"Anthropic-Version": {"2023-06-01"},
				"Content-Type":      {"application/json"},
				"X-Api-Key":         {"sk-provider"},
				"User-Agent":        {"Go-http-client/1.1"},
			},
		},
		{
			name:     "query forwarded, path prefix",
			prefix:   "/api/anthropic",
			query:    "beta=true",
			header:   func() http.Header { return http.Header{"User-Agent": {"ua"}} },
			wantPath: "/api/anthropic/v1/messages",
			wantHeader: http.Header{
				"Anthropic-Version": {"2023-06-01"},
				"Content-Type":      {"application/json"},
				"X-Api-Key":         {"sk-provider"},
				"User-Agent":        {"ua"},
			},
		},
		{
			name:     "count_tokens with a path prefix and trailing slash",
			prefix:   "/api/anthropic/",
			op:       provider.OpCountTokens,
			query:    "beta=true",
			header:   func() http.Header { return http.Header{"User-Agent": {"ua"}} },
			wantPath: "/api/anthropic/v1/messages/count_tokens",
			wantHeader: http.Header{
				"Anthropic-Version": {"2023-06-01"},
				"Content-Type":      {"application/json"},
				"X-Api-Key":         {"sk-provider"},
				"User-Agent":        {"ua"},
			},
		},
		{
			name:     "count_tokens without prefix",
			op:       provider.OpCountTokens,
			header:   func() http.Header { return http.Header{"User-Agent": {"ua"}} },
			wantPath: "/v1/messages/count_tokens",
			wantHeader: http.Header{
				"Anthropic-Version": {"2023-06-01"},
				"Content-Type":      {"application/json"},
				"X-Api-Key":         {"sk-provider"},
				"User-Agent":        {"ua"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, seen := recordingUpstream(t)
			p := newProvider(t, anthropic.Options{
				Upstream: provider.Upstream{
					BaseURLs: []string{u.URL + tc.prefix},
					Headers:  tc.static,
				},
				Auth: tc.auth,
			})
			in := tc.header()
			before := in.Clone()
			c := &provider.Call{Op: tc.op, Body: body, Model: "m", Query: tc.query, Header: in}
			resp, err := do(t, context.Background(), p, c)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if got := readBody(t, resp); got != "{}" {
				t.Errorf("body = %q", got)
			}
			if resp.Node != u.host() {
				t.Errorf("Node = %q, want %q", resp.Node, u.host())
			}
			var r seenRequest
			select {
			case r = <-seen:
			default:
				t.Fatal("upstream saw no request")
			}
			want := seenRequest{
				Method: http.MethodPost,
				Host:   u.host(),
				Path:   tc.wantPath,
				Query:  tc.query,
				Header: tc.wantHeader,
				Body:   body,
				Length: int64(len(body)),
			}
			if diff := cmp.Diff(want, r); diff != "" {
				t.Errorf("upstream request mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, in); diff != "" {
				t.Errorf("Do modified the client's header (-before +after):\n%s", diff)
			}
		})
	}
}

func TestLargeBodyForwardedExactly(t *testing.T) {
	u, seen := recordingUpstream(t)
	p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{u.URL}}})
	body := make([]byte, 3<<20+17)
	for i := range body {
		body[i] = byte(i*7 + i>>9)
	}
	resp, err := do(t, context.Background(), p, &provider.Call{Op: provider.OpMessages, Body: body})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	readBody(t, resp)
	r := <-seen
	if !bytes.Equal(r.Body, body) || r.Length != int64(len(body)) {
		t.Errorf("upstream got %d bytes (Content-Length %d), want the %d sent, byte for byte", len(r.Body), r.Length, len(body))
	}
}

func TestUnsupportedOp(t *testing.T) {
	u := newUpstream(t, okHandler)
	p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{u.URL}}})
	resp, err := do(t, context.Background(), p, &provider.Call{Op: provider.Op(99), Body: []byte("{}")})
	if resp != nil {
		t.Errorf("got a response for an unsupported op")
	}
	wantAPIErr(t, err, apierr.NotFound, "")
	if n := u.count.Load(); n != 0 {
		t.Errorf("upstream got %d requests, want 0", n)
	}
}

// ---- (b) response headers ----

func TestResponseHeaderFilter(t *testing.T) {
	u := newUpstream(t, func(_ *upstream, w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Retry-After", "3")
		h.Set("Retry-After-Ms", "2500")
		h.Set("X-Should-Retry", "true")
		h.Set("Anthropic-Ratelimit-Requests-Limit", "50")
		h.Set("Anthropic-Ratelimit-Requests-Remaining", "49")
		h.Set("Anthropic-Ratelimit-Tokens-Reset", "2025-01-01T00:00:00Z")
		h.Set("Request-Id", "req_upstream_1")
		h.Add("Set-Cookie", "a=b")
		h.Add("Set-Cookie", "c=d")
		h.Set("Server", "cloudflare")
		h.Set("Cf-Ray", "abc-LHR")
		h.Set("Anthropic-Organization-Id", "org-secret")
		h.Set("Via", "1.1 proxy")
		h.Set("Strict-Transport-Security", "max-age=1")
		h.Set("X-Random", "r")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"id":"msg_1"}`)
	})
	p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{u.URL}}})
	resp, err := do(t, context.Background(), p, call(`{}`))
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	want := http.Header{
		"Content-Type":                           {"application/json"},
		"Retry-After":                            {"3"},
		"Retry-After-Ms":                         {"2500"},
		"X-Should-Retry":                         {"true"},
		"Anthropic-Ratelimit-Requests-Limit":     {"50"},
		"Anthropic-Ratelimit-Requests-Remaining": {"49"},
		"Anthropic-Ratelimit-Tokens-Reset":       {"2025-01-01T00:00:00Z"},
		"Upstream-Request-Id":                    {"req_upstream_1"},
	}
	if diff := cmp.Diff(want, resp.Header); diff != "" {
		t.Errorf("response header mismatch (-want +got):\n%s", diff)
	}
	if got := readBody(t, resp); got != `{"id":"msg_1"}` {
		t.Errorf("body = %q", got)
	}
}

// ---- (c) one attempt on the named node ----

// The provider makes exactly one attempt, on Call.Node: failover is the
// relay's (its loop chooses the next node).
func TestOneAttemptOnNamedNode(t *testing.T) {
	a, b := newUpstream(t, okHandler), newUpstream(t, okHandler)
	dead := deadURL(t)
	rec := newRecorder(config.Timeouts{Connect: 2 * time.Second})
	p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{dead, a.URL, b.URL}, Transport: rec}})
	if diff := cmp.Diff([]string{strings.TrimPrefix(dead, "http://"), a.host(), b.host()}, p.Nodes()); diff != "" {
		t.Errorf("Nodes (-want +got):\n%s", diff)
	}
	for _, node := range []int{2, 1, 2} {
		c := call(`{}`)
		c.Node = node
		resp, err := do(t, context.Background(), p, c)
		if err != nil {
			t.Fatalf("node %d: %v", node, err)
		}
		readBody(t, resp)
		if resp.Node != p.Nodes()[node] {
			t.Errorf("answered by %q, want %q", resp.Node, p.Nodes()[node])
		}
	}
	if diff := cmp.Diff([]string{b.host(), a.host(), b.host()}, rec.take()); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}

	// A dead node is an error, with no attempt elsewhere.
	resp, err := do(t, context.Background(), p, call(`{}`))
	if resp != nil {
		t.Fatal("got a response from a dead node")
	}
	wantAPIErr(t, err, apierr.BadGateway, "upstream unreachable")
	if r := provider.Reason(err); r != provider.ReasonConnectRefused || !provider.NeverSent(err) {
		t.Errorf("reason %q (never sent %v), want connect_refused", r, provider.NeverSent(err))
	}
	if diff := cmp.Diff([]string{strings.TrimPrefix(dead, "http://")}, rec.take()); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}

	// An index the provider does not have is the gateway's bug.
	c := call(`{}`)
	c.Node = 3
	_, err = do(t, context.Background(), p, c)
	wantAPIErr(t, err, apierr.Internal, "")
}

// TestNodeLabelsUnique: nodes are named by host[:port], with their
// position when two share a host, or by their configured names: never by
// the URL's path, query or userinfo, where relays keep tokens.
func TestNodeLabelsUnique(t *testing.T) {
	p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{"https://relay.example/tok-SECRET1/v1", "https://relay.example/tok-SECRET2/", "https://user:SECRET3@other.example:8443/x?key=SECRET4"}}})
	if diff := cmp.Diff([]string{"relay.example#1", "relay.example#2", "other.example:8443"}, p.Nodes()); diff != "" {
		t.Errorf("Nodes (-want +got):\n%s", diff)
	}
	for _, l := range p.Nodes() {
		if strings.Contains(l, "SECRET") || strings.Contains(l, "/") {
			t.Errorf("label %q carries part of the URL", l)
		}
	}
	named := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{"https://relay.example/a", "https://relay.example/b"}, NodeNames: []string{"hk", "sg"}}})
	if diff := cmp.Diff([]string{"hk", "sg"}, named.Nodes()); diff != "" {
		t.Errorf("named Nodes (-want +got):\n%s", diff)
	}
	if _, err := anthropic.New(anthropic.Options{Upstream: provider.Upstream{Name: "x", APIKey: "k", BaseURLs: []string{"https://a.example"}, NodeNames: []string{"a", "b"}}}); err == nil {
		t.Error("two names for one base URL accepted")
	}
}

func TestNoRetryAfterRequestSent(t *testing.T) {
	// A timeout waiting for headers is not a connect failure: the request
	// may have been processed. The error says so (NeverSent false).
	hang := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		// The server notices a client going away only once the request
		// body has been read.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-u.stop:
		}
	})
	p := newProvider(t, anthropic.Options{
		Upstream: provider.Upstream{
			BaseURLs: []string{hang.URL},
			Timeouts: config.Timeouts{ResponseHeader: 100 * time.Millisecond},
		},
	})
	resp, err := do(t, context.Background(), p, call(`{}`))
	if resp != nil {
		t.Fatal("got a response")
	}
	wantAPIErr(t, err, apierr.GatewayTimeout, "upstream timed out")
	if provider.NeverSent(err) || provider.Reason(err) != provider.ReasonFirstByteTimeout {
		t.Errorf("reason %q, never sent %v", provider.Reason(err), provider.NeverSent(err))
	}
	if n := hang.count.Load(); n != 1 {
		t.Errorf("hanging node got %d requests, want 1", n)
	}
}

// ---- (d) upstream HTTP errors ----

func TestUpstreamErrorIsResponse(t *testing.T) {
	const errBody = `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`
	tests := []struct {
		name   string
		status int
		stream bool
	}{
		{"429", http.StatusTooManyRequests, false},
		{"429 to a stream call", http.StatusTooManyRequests, true},
		{"529", 529, true},
		{"500", http.StatusInternalServerError, false},
		{"400", http.StatusBadRequest, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newUpstream(t, func(_ *upstream, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "7")
				w.Header().Set("X-Should-Retry", "true")
				w.WriteHeader(tc.status)
				io.WriteString(w, errBody)
			})
			p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{u.URL}}})
			c := call(`{}`)
			c.Stream = tc.stream
			resp, err := do(t, context.Background(), p, c)
			if err != nil {
				t.Fatalf("Do returned an error for an upstream %d: %v", tc.status, err)
			}
			if resp.Status != tc.status {
				t.Errorf("Status = %d, want %d", resp.Status, tc.status)
			}
			if resp.Events != nil {
				t.Errorf("an error answer has Events")
			}
			want := http.Header{"Content-Type": {"application/json"}, "Retry-After": {"7"}, "X-Should-Retry": {"true"}}
			if diff := cmp.Diff(want, resp.Header); diff != "" {
				t.Errorf("header mismatch (-want +got):\n%s", diff)
			}
			if got := readBody(t, resp); got != errBody {
				t.Errorf("body = %q, want %q", got, errBody)
			}
		})
	}
}

// ---- (e) streaming ----

var frames = []string{
	"event: message_start\ndata: {\"type\":\"message_start\"}\n\n",
	": ping\n\n",
	"event: content_block_delta\ndata: {\"a\":1}\ndata: {\"b\":2}\n\n",
	"data: no name\r\n\r\n",
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
}

type gotEvent struct{ Name, Data, Raw string }

func wantEvents() []gotEvent {
	return []gotEvent{
		{"message_start", `{"type":"message_start"}`, frames[0]},
		{"", "", frames[1]},
		{"content_block_delta", "{\"a\":1}\n{\"b\":2}", frames[2]},
		{"", "no name", frames[3]},
		{"message_stop", `{"type":"message_stop"}`, frames[4]},
	}
}

func streamHandler(ct string, gap time.Duration) func(*upstream, http.ResponseWriter, *http.Request) {
	return func(u *upstream, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(http.StatusOK)
		for _, f := range frames {
			io.WriteString(w, f)
			w.(http.Flusher).Flush()
			if gap > 0 {
				select {
				case <-time.After(gap):
				case <-r.Context().Done():
					return
				case <-u.stop:
					return
				}
			}
		}
	}
}

func collect(t *testing.T, src sse.Source) ([]gotEvent, error) {
	t.Helper()
	var evs []gotEvent
	for {
		ev, err := src.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, gotEvent{string(ev.Name), string(ev.Data), string(ev.Raw)})
	}
}

func TestStreaming(t *testing.T) {
	tests := []struct {
		name       string
		ct         string
		stream     bool
		gap        time.Duration
		idle       time.Duration
		wantEvents bool
	}{
		{name: "event stream to a stream call", ct: "text/event-stream", stream: true, wantEvents: true},
		{name: "event stream with charset, mixed case", ct: "Text/Event-Stream; charset=utf-8", stream: true, wantEvents: true},
		{name: "events slower than nothing but faster than idle", ct: "text/event-stream", stream: true, gap: 40 * time.Millisecond, idle: 400 * time.Millisecond, wantEvents: true},
		{name: "json to a stream call", ct: "application/json", stream: true},
		{name: "event stream to a non-stream call", ct: "text/event-stream", stream: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newUpstream(t, streamHandler(tc.ct, tc.gap))
			p := newProvider(t, anthropic.Options{
				Upstream: provider.Upstream{
					BaseURLs: []string{u.URL},
					Timeouts: config.Timeouts{StreamIdle: tc.idle},
				},
			})
			c := call(`{"stream":true}`)
			c.Stream = tc.stream
			resp, err := do(t, context.Background(), p, c)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if resp.Status != 200 {
				t.Errorf("Status = %d", resp.Status)
			}
			if !tc.wantEvents {
				if resp.Events != nil {
					t.Fatalf("got Events, want Body")
				}
				if got, want := readBody(t, resp), strings.Join(frames, ""); got != want {
					t.Errorf("body = %q, want %q", got, want)
				}
				return
			}
			if resp.Body != nil || resp.Events == nil {
				t.Fatalf("Body set: %v, Events set: %v; want only Events", resp.Body != nil, resp.Events != nil)
			}
			evs, err := collect(t, resp.Events)
			if err != io.EOF {
				t.Errorf("stream ended with %v, want io.EOF", err)
			}
			if diff := cmp.Diff(wantEvents(), evs); diff != "" {
				t.Errorf("events mismatch (-want +got):\n%s", diff)
			}
			if err := resp.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

func TestStreamBrokenMidFrame(t *testing.T) {
	u := newUpstream(t, func(_ *upstream, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, frames[0]+"event: content_block_delta\ndata: {\"trunc")
	})
	p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{u.URL}}})
	c := call(`{}`)
	c.Stream = true
	resp, err := do(t, context.Background(), p, c)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if resp.Events == nil {
		t.Fatal("no Events")
	}
	evs, err := collect(t, resp.Events)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	if diff := cmp.Diff(wantEvents()[:1], evs); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
}

// ---- (f) idle timeout ----

func stallingUpstream(t *testing.T, ct, first string) (*upstream, <-chan struct{}) {
	cancelled := make(chan struct{})
	var once sync.Once
	u := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		// The server notices a client going away only once the request
		// body has been read.
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", ct)
		io.WriteString(w, first)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			once.Do(func() { close(cancelled) })
		case <-u.stop:
		}
	})
	return u, cancelled
}

func TestStreamIdleTimeout(t *testing.T) {
	u, cancelled := stallingUpstream(t, "text/event-stream", frames[0])
	p := newProvider(t, anthropic.Options{
		Upstream: provider.Upstream{
			BaseURLs: []string{u.URL},
			Timeouts: config.Timeouts{StreamIdle: 100 * time.Millisecond},
		},
	})
	c := call(`{}`)
	c.Stream = true
	resp, err := do(t, context.Background(), p, c)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if resp.Events == nil {
		t.Fatal("no Events")
	}
	ev, err := resp.Events.Next()
	if err != nil {
		t.Fatalf("first event: %v", err)
	}
	if string(ev.Raw) != frames[0] {
		t.Errorf("first event = %q", ev.Raw)
	}
	start := time.Now()
	_, err = resp.Events.Next()
	elapsed := time.Since(start)
	wantAPIErr(t, err, apierr.GatewayTimeout, "upstream stream idle timeout")
	if !errors.Is(err, anthropic.ErrIdle) {
		t.Errorf("err = %v, want it to wrap ErrIdle", err)
	}
	if elapsed > time.Second || elapsed < 80*time.Millisecond {
		t.Errorf("idle error after %v, want about 100ms", elapsed)
	}
	waitClosed(t, cancelled, "the upstream request's context to be cancelled")
	// The error sticks.
	if _, err := resp.Events.Next(); err == nil {
		t.Errorf("Next after the idle error succeeded")
	}
	resp.Close()
}

func TestBodyIdleTimeout(t *testing.T) {
	u, cancelled := stallingUpstream(t, "application/json", `{"partial":`)
	p := newProvider(t, anthropic.Options{
		Upstream: provider.Upstream{
			BaseURLs: []string{u.URL},
			Timeouts: config.Timeouts{StreamIdle: 100 * time.Millisecond},
		},
	})
	resp, err := do(t, context.Background(), p, call(`{}`))
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if resp.Body == nil {
		t.Fatal("no Body")
	}
	start := time.Now()
	got, err := io.ReadAll(resp.Body)
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("idle error after %v", elapsed)
	}
	if string(got) != `{"partial":` {
		t.Errorf("read %q before the error", got)
	}
	wantAPIErr(t, err, apierr.GatewayTimeout, "upstream stream idle timeout")
	waitClosed(t, cancelled, "the upstream request's context to be cancelled")
	resp.Close()
}

// ---- (g) response header timeout ----

func TestResponseHeaderTimeout(t *testing.T) {
	u := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		// The server notices a client going away only once the request
		// body has been read.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-u.stop:
		}
	})
	p := newProvider(t, anthropic.Options{
		Upstream: provider.Upstream{
			BaseURLs: []string{u.URL},
			Timeouts: config.Timeouts{ResponseHeader: 100 * time.Millisecond},
		},
	})
	start := time.Now()
	resp, err := do(t, context.Background(), p, call(`{}`))
	elapsed := time.Since(start)
	if resp != nil {
		t.Fatal("got a response")
	}
	wantAPIErr(t, err, apierr.GatewayTimeout, "upstream timed out")
	if elapsed > 2*time.Second || elapsed < 80*time.Millisecond {
		t.Errorf("timed out after %v, want about 100ms", elapsed)
	}
}

// ---- (h) cancelled context ----

func TestCancelledContext(t *testing.T) {
	t.Run("cancelled before the call", func(t *testing.T) {
		live := newUpstream(t, okHandler)
		other := newUpstream(t, okHandler)
		rec := newRecorder(config.Timeouts{})
		p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{live.URL, other.URL}, Transport: rec}})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		resp, err := do(t, ctx, p, call(`{}`))
		if resp != nil {
			t.Fatal("got a response with a cancelled context")
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v", d)
		}
		ae := wantAPIErr(t, err, apierr.BadGateway, "request canceled")
		if !errors.Is(ae, context.Canceled) {
			t.Errorf("err = %v, want it to wrap context.Canceled", err)
		}
		if n := live.count.Load() + other.count.Load(); n != 0 {
			t.Errorf("upstreams got %d requests", n)
		}
		// A cancelled call says nothing about the node: it is not marked
		// down, and the next call goes to it first.
		rec.take()
		resp, err = do(t, context.Background(), p, call(`{}`))
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		readBody(t, resp)
		if diff := cmp.Diff([]string{live.host()}, rec.take()); diff != "" {
			t.Errorf("attempts after a cancelled call (-want +got):\n%s", diff)
		}
	})
	t.Run("cancelled while waiting for headers", func(t *testing.T) {
		cancelled := make(chan struct{})
		u := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
				close(cancelled)
			case <-u.stop:
			}
		})
		live := newUpstream(t, okHandler)
		p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{u.URL, live.URL}}})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		resp, err := do(t, ctx, p, call(`{}`))
		elapsed := time.Since(start)
		if resp != nil {
			t.Fatal("got a response with a cancelled context")
		}
		wantAPIErr(t, err, apierr.BadGateway, "request canceled")
		if elapsed > time.Second {
			t.Errorf("returned %v after the call, want promptly after the cancel at 100ms", elapsed)
		}
		waitClosed(t, cancelled, "the upstream request's context to be cancelled")
		if n := live.count.Load(); n != 0 {
			t.Errorf("second node got %d requests after a cancel", n)
		}
	})
	t.Run("cancelled mid-stream", func(t *testing.T) {
		u, cancelled := stallingUpstream(t, "text/event-stream", frames[0])
		p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{u.URL}}})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := call(`{}`)
		c.Stream = true
		resp, err := do(t, ctx, p, c)
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		if _, err := resp.Events.Next(); err != nil {
			t.Fatalf("first event: %v", err)
		}
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err = resp.Events.Next()
		if err == nil {
			t.Fatal("Next succeeded after cancel")
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Next returned %v after the cancel", d)
		}
		var ae *apierr.Error
		if errors.As(err, &ae) && ae.Kind == apierr.GatewayTimeout {
			t.Errorf("a client cancel was reported as an idle timeout: %v", err)
		}
		waitClosed(t, cancelled, "the upstream request's context to be cancelled")
		resp.Close()
	})
}

// ---- (i) Close cancels the upstream request ----

func TestCloseCancelsUpstream(t *testing.T) {
	tests := []struct {
		name   string
		ct     string
		first  string
		stream bool
	}{
		{"events", "text/event-stream", frames[0], true},
		{"body", "application/json", `{"partial":`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, cancelled := stallingUpstream(t, tc.ct, tc.first)
			// No idle timeout: only Close may end the request.
			p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{u.URL}}})
			c := call(`{}`)
			c.Stream = tc.stream
			resp, err := do(t, context.Background(), p, c)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if tc.stream {
				if resp.Events == nil {
					t.Fatal("no Events")
				}
				if _, err := resp.Events.Next(); err != nil {
					t.Fatalf("first event: %v", err)
				}
			} else {
				buf := make([]byte, len(tc.first))
				if _, err := io.ReadFull(resp.Body, buf); err != nil {
					t.Fatalf("reading: %v", err)
				}
			}
			select {
			case <-cancelled:
				t.Fatal("upstream request cancelled before Close")
			case <-time.After(50 * time.Millisecond):
			}
			if err := resp.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			waitClosed(t, cancelled, "Close to cancel the upstream request")
		})
	}
}

func TestCloseWhileNextBlocked(t *testing.T) {
	u, cancelled := stallingUpstream(t, "text/event-stream", frames[0])
	p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{u.URL}}})
	c := call(`{}`)
	c.Stream = true
	resp, err := do(t, context.Background(), p, c)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if _, err := resp.Events.Next(); err != nil {
		t.Fatalf("first event: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := resp.Events.Next()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	resp.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("blocked Next returned an event after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Next")
	}
	waitClosed(t, cancelled, "the upstream request's context to be cancelled")
}
