package provider

// Upstream plumbing the HTTP providers share: the transport, the node
// list, one attempt's timers (first byte, then idle) and the body they
// watch, and active health-check probes.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
)

// NewTransport builds the HTTP transport for one provider. It never uses a
// proxy from the environment: outbound traffic goes only to the configured
// base URLs.
//
// A provider uses it directly, not through an http.Client: there are no
// redirects to follow (an API answer is never a redirect worth following
// with the provider's key) and no client-level timeout (a stream may
// legitimately last an hour). The transport bounds connect and TLS; the
// wait for the response headers is each attempt's own timer (a route may
// lengthen or shorten it, which a transport-wide ResponseHeaderTimeout
// could not), and the idle guard bounds the gaps between reads.
//
// Measured choices (figures in the transport tests and scripts/bench.sh):
//   - Idle connections per host are as many as in all: a provider has one
//     host per node, and a burst above the per-host bound closed every
//     connection beyond it on return and dialled it again on the next burst.
//   - No transparent gzip: the answers Ferry relays are small JSON bodies
//     and event streams, which it parses; asking for gzip costs a
//     decompressor (tens of KB allocated per answer) and CPU per answer to
//     save little bandwidth, and an event stream must reach the parser as
//     the upstream flushed it.
//   - HTTP/2 is attempted over TLS even with a custom TLS config (ca_file,
//     pin_sha256 set TLSClientConfig later, before first use), so a TLS
//     upstream that offers h2 carries concurrent calls on one connection.
//     Since one connection then carries every call, a silent one (a NAT or
//     load balancer that dropped it) is found by a ping and closed rather
//     than handed every new call until each one's first-byte timer fires.
//   - The request body is a bytes.Reader with its ContentLength (the
//     providers build it so): headers and a body that fits the 4 KB write
//     buffer leave in one write(2); a larger body follows in few writes.
//   - Plain-HTTP upstreams (a local relay, a sidecar, the benchmarks' mock)
//     go through H1Transport, at a third of net/http's CPU per round trip;
//     TLS ones through net/http's, for HTTP/2 and its TLS options.
func NewTransport(t config.Timeouts) *Transport {
	tr := &Transport{HTTP: newHTTPTransport(t)}
	if plainViaH1 {
		tr.H1 = NewH1Transport(t)
	}
	return tr
}

// plainViaH1 sends plain-HTTP upstreams' requests through H1Transport
// rather than net/http's (see h1transport.go for why).
const plainViaH1 = true

// Transport is a provider's upstream transport: http:// requests go
// through H1 when it is set, everything else (https://, with HTTP/2 when
// the upstream offers it) through HTTP.
type Transport struct {
	// HTTP is net/http's transport; UpstreamTLS sets its TLS.
	HTTP *http.Transport
	// H1, when set, carries the http:// requests.
	H1 *H1Transport
}

// RoundTrip sends req through the transport its scheme calls for.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.H1 != nil && req.URL != nil && req.URL.Scheme == "http" {
		return t.H1.RoundTrip(req)
	}
	return t.HTTP.RoundTrip(req)
}

// CloseIdleConnections closes both transports' idle connections.
func (t *Transport) CloseIdleConnections() {
	t.HTTP.CloseIdleConnections()
	if t.H1 != nil {
		t.H1.CloseIdleConnections()
	}
}

// newHTTPTransport is net/http's transport with the settings above.
func newHTTPTransport(t config.Timeouts) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         dialer(t),
		TLSHandshakeTimeout: t.TLSHandshake,
		ForceAttemptHTTP2:   true,
		HTTP2: &http.HTTP2Config{
			SendPingTimeout:  h2PingAfter,
			PingTimeout:      h2PingTimeout,
			WriteByteTimeout: h2PingTimeout,
		},
		DisableCompression:    true,
		MaxIdleConns:          maxIdleConns,
		MaxIdleConnsPerHost:   maxIdleConns,
		IdleConnTimeout:       idleConnTimeout,
		ExpectContinueTimeout: time.Second,
	}
}

// dialer dials within timeouts.connect and marks a failure as a
// connectError: the request never left.
func dialer(t config.Timeouts) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, &connectError{err}
		}
		return c, nil
	}
}

// idleConnTimeout closes an upstream connection idle for longer.
const idleConnTimeout = 90 * time.Second

// An HTTP/2 connection silent for h2PingAfter is pinged, and closed when
// no answer comes in h2PingTimeout (or a write makes no progress for as
// long).
const (
	h2PingAfter   = 30 * time.Second
	h2PingTimeout = 15 * time.Second
)

// maxIdleConns bounds a provider's idle upstream connections, per host and
// in all: about the concurrency one gateway instance sustains.
const maxIdleConns = 1024

// maxNodes bounds a provider's base URLs: the relay keeps the nodes it
// tried in a 64-bit set.
const maxNodes = 64

// Node is one base URL of a provider.
type Node struct {
	// URLs are the base URL joined with each of the paths given to
	// NewNodes, in their order, built once. They are shared: copy one
	// before changing it.
	URLs []*url.URL
	// Label names the node in logs, metrics, X-Ferry-Node and the admin
	// API: its configured name, else its host[:port] (with "#N", its
	// position in base_urls, when two nodes share a host). Never the
	// URL's path, query or userinfo: a relay's token is often kept there.
	Label string
}

// Nodes are a provider's base URLs, in configuration order.
type Nodes struct {
	list   []*Node
	labels []string
}

// NewNodes parses bases, each an http or https URL, and joins each with
// every one of paths; names, when given, name the nodes (one per base);
// what names the provider in errors ("anthropic provider x").
func NewNodes(what string, bases, names, paths []string) (*Nodes, error) {
	if len(bases) > maxNodes {
		return nil, fmt.Errorf("%s: at most %d base_urls", what, maxNodes)
	}
	if len(names) > 0 && len(names) != len(bases) {
		return nil, fmt.Errorf("%s: %d node_names for %d base_urls", what, len(names), len(bases))
	}
	ns := &Nodes{}
	hosts := map[string]int{}
	for _, raw := range bases {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%s: bad base_url %q", what, raw)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath, u.RawQuery, u.Fragment, u.User = "", "", "", nil
		hosts[u.Host]++
		n := &Node{URLs: make([]*url.URL, len(paths)), Label: u.Host}
		for i, path := range paths {
			pu := *u
			pu.Path += path
			n.URLs[i] = &pu
		}
		ns.list = append(ns.list, n)
	}
	seen := make(map[string]bool, len(ns.list))
	for i, n := range ns.list {
		switch {
		case len(names) > 0:
			n.Label = names[i]
		case hosts[n.Label] > 1:
			// Labels must be unique; the path that tells the nodes apart
			// may hold a token, so the position does instead.
			n.Label += "#" + strconv.Itoa(i+1)
		}
		if seen[n.Label] {
			return nil, fmt.Errorf("%s: node name %q is used twice", what, n.Label)
		}
		seen[n.Label] = true
		ns.labels = append(ns.labels, n.Label)
	}
	return ns, nil
}

// Labels are the nodes' labels, in order. The slice is shared.
func (ns *Nodes) Labels() []string { return ns.labels }

// Get returns node i, or an internal error when there is none: the relay
// chose an index the provider does not have.
func (ns *Nodes) Get(i int) (*Node, error) {
	if i < 0 || i >= len(ns.list) {
		return nil, apierr.New(apierr.Internal, "internal error: no upstream node %d", i)
	}
	return ns.list[i], nil
}

// Probe is one active health check: GET u with header h. Any answer below
// 500 means the node is up (a 401 or 404 still proves it serves HTTP); a
// 5xx, or no answer, is an error.
func Probe(ctx context.Context, rt http.RoundTripper, u *url.URL, h http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return Classify(ctx, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return &Failure{Reason: HTTPReason(resp.StatusCode), Err: fmt.Errorf("health check answered %d", resp.StatusCode)}
	}
	return nil
}

// IsEventStream reports whether a Content-Type is text/event-stream.
func IsEventStream(ct string) bool {
	return strings.HasPrefix(strings.TrimSpace(strings.ToLower(ct)), "text/event-stream")
}

// IdleGuard times one attempt with a single timer: until the response
// headers it is the first-byte timeout, whose expiry cancels the attempt
// with cause ErrFirstByte; after them, the idle timeout, reset by every
// read, whose expiry cancels it with cause ErrIdle.
type IdleGuard struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	idle    time.Duration
	timer   *time.Timer
	headers atomic.Bool // the response headers arrived: the timer is the idle one
	body    guardedBody // GuardBody's first
}

// NewGuard starts a guard for an attempt made under ctx, which cancel
// cancels, before the request is sent. firstByte <= 0: no first-byte limit;
// idle <= 0: no idle limit.
func NewGuard(ctx context.Context, cancel context.CancelCauseFunc, firstByte, idle time.Duration) *IdleGuard {
	g := new(IdleGuard)
	g.start(ctx, cancel, firstByte, idle)
	return g
}

// start is NewGuard for a zero guard g.
func (g *IdleGuard) start(ctx context.Context, cancel context.CancelCauseFunc, firstByte, idle time.Duration) {
	g.ctx, g.cancel, g.idle = ctx, cancel, idle
	if firstByte > 0 {
		g.timer = time.AfterFunc(firstByte, g.fire)
	}
}

func (g *IdleGuard) fire() {
	if g.headers.Load() {
		g.cancel(ErrIdle)
		return
	}
	g.cancel(ErrFirstByte)
}

// Headers ends the first-byte phase with the round trip's result. On
// success the idle phase begins; on failure (err, or the first-byte timer
// that fired just as the headers came) the attempt is over and the error,
// classified, is returned: the caller closes any body it got.
func (g *IdleGuard) Headers(err error) error {
	if err != nil {
		err = Classify(g.ctx, err) // before Stop, whose cancel would hide the cause
		g.Stop()
		return err
	}
	if g.timer != nil && !g.timer.Stop() {
		err = Classify(g.ctx, context.Cause(g.ctx))
		g.Stop()
		return err
	}
	g.headers.Store(true) // the timer is stopped: it cannot fire as first-byte now
	if g.idle > 0 {
		if g.timer == nil {
			g.timer = time.AfterFunc(g.idle, g.fire)
		} else {
			g.timer.Reset(g.idle)
		}
	}
	return nil
}

// Touch restarts the idle timer: the upstream was heard from.
func (g *IdleGuard) Touch() {
	if g.timer != nil && g.idle > 0 {
		g.timer.Reset(g.idle)
	}
}

// Stop stops the timer and cancels the request.
func (g *IdleGuard) Stop() {
	if g.timer != nil {
		g.timer.Stop()
	}
	g.cancel(nil)
}

// Err classifies a failure to read the answer: the idle timeout, the
// request's deadline, the client's cancel, a reset connection. io.EOF, the
// clean end, is returned as is.
func (g *IdleGuard) Err(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return Classify(g.ctx, err)
}

// GuardBody returns rc, an upstream body, with every read that returns
// bytes touching g, read errors other than io.EOF passed through g.Err,
// and Close stopping g (which cancels the request) after closing rc.
// The first body guarded by g is held in g, allocated with it.
func GuardBody(rc io.ReadCloser, g *IdleGuard) io.ReadCloser {
	if g.body.g == nil {
		g.body = guardedBody{rc: rc, g: g}
		return &g.body
	}
	return &guardedBody{rc: rc, g: g}
}

type guardedBody struct {
	rc io.ReadCloser
	g  *IdleGuard
}

func (b *guardedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.g.Touch()
	}
	if err != nil && err != io.EOF {
		err = b.g.Err(err)
	}
	return n, err
}

// Close closes rc first, then stops g: a body whose rest already arrived
// (an OpenAI stream's last chunk after [DONE]) is finished by the
// transport and its connection kept, which the request's cancel, coming
// first, would have closed.
func (b *guardedBody) Close() error {
	err := b.rc.Close()
	b.g.Stop()
	return err
}
