// Package anthropic forwards calls to Anthropic-format upstreams: the
// Anthropic API itself, relay nodes in front of it, and vendors'
// Anthropic-compatible endpoints.
//
// Same-format traffic is forwarded as bytes: the request body arrives with
// its model already patched, and the answer goes back undecoded, as a JSON
// body or as an event source over the upstream's stream.
package anthropic

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/sse"
)

// DefaultVersion is sent when the client sent no anthropic-version header:
// the API requires one.
const DefaultVersion = "2023-06-01"

// Options configure a Provider.
type Options struct {
	Name     string
	BaseURLs []string
	APIKey   config.Secret
	Auth     string            // config.AuthXAPIKey (default) or config.AuthBearer
	Headers  map[string]string // static headers added to every upstream request
	Timeouts config.Timeouts
	// Transport overrides the HTTP transport (tests). Nil builds one from Timeouts.
	Transport http.RoundTripper
	Now       func() time.Time
}

// Provider is an Anthropic-format upstream with one or more nodes.
type Provider struct {
	name      string
	nodes     []*node
	rt        http.RoundTripper
	authKey   string // canonical header name
	authValue string
	static    [][2]string
	idle      time.Duration
	nodeDown  time.Duration
	now       func() time.Time
}

type node struct {
	base      *url.URL
	urls      [len(paths)]*url.URL // per operation, built once
	label     string
	downUntil atomic.Int64 // unix nanoseconds; 0 = healthy
}

// New builds a Provider.
func New(o Options) (*Provider, error) {
	if o.Name == "" {
		return nil, errors.New("anthropic provider: name required")
	}
	if len(o.BaseURLs) == 0 {
		return nil, fmt.Errorf("anthropic provider %s: no base_urls", o.Name)
	}
	if o.APIKey == "" {
		return nil, fmt.Errorf("anthropic provider %s: no api_key", o.Name)
	}
	p := &Provider{name: o.Name, idle: o.Timeouts.StreamIdle, nodeDown: o.Timeouts.NodeDown, now: o.Now}
	if p.now == nil {
		p.now = time.Now
	}
	if p.nodeDown <= 0 {
		p.nodeDown = 10 * time.Second
	}
	if len(o.BaseURLs) > 64 {
		return nil, fmt.Errorf("anthropic provider %s: at most 64 base_urls", o.Name)
	}
	for _, raw := range o.BaseURLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("anthropic provider %s: bad base_url %q", o.Name, raw)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		n := &node{base: u, label: u.Host}
		for op, path := range paths {
			ou := *u
			ou.Path += path
			n.urls[op] = &ou
		}
		p.nodes = append(p.nodes, n)
	}
	switch o.Auth {
	case "", config.AuthXAPIKey:
		p.authKey, p.authValue = "X-Api-Key", o.APIKey.Reveal()
	case config.AuthBearer:
		p.authKey, p.authValue = "Authorization", "Bearer "+o.APIKey.Reveal()
	default:
		return nil, fmt.Errorf("anthropic provider %s: unknown auth %q", o.Name, o.Auth)
	}
	for k, v := range o.Headers {
		p.static = append(p.static, [2]string{textproto.CanonicalMIMEHeaderKey(k), v})
	}
	rt := o.Transport
	if rt == nil {
		rt = NewTransport(o.Timeouts)
	}
	// The transport is used directly, not through an http.Client: there are
	// no redirects to follow (an API answer is never a redirect worth
	// following with the provider's key) and no client-level timeout (a
	// stream may legitimately last an hour; the transport bounds connect,
	// TLS and headers, the idle timer bounds the gaps between events).
	p.rt = rt
	return p, nil
}

// NewTransport builds the HTTP transport for one provider. It never uses a
// proxy from the environment: outbound traffic goes only to the configured
// base URLs.
func NewTransport(t config.Timeouts) *http.Transport {
	d := &net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, &connectError{err}
			}
			return c, nil
		},
		TLSHandshakeTimeout:   t.TLSHandshake,
		ResponseHeaderTimeout: t.ResponseHeader,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// connectError marks a failure to establish a connection: the request was
// never sent, so another node may safely be tried.
type connectError struct{ err error }

func (e *connectError) Error() string { return "connect: " + e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// CloseIdleConnections closes the provider's idle upstream connections.
func (p *Provider) CloseIdleConnections() {
	if c, ok := p.rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Name is the provider's configured name.
func (p *Provider) Name() string { return p.name }

var paths = [...]string{provider.OpMessages: "/v1/messages", provider.OpCountTokens: "/v1/messages/count_tokens"}

// Do sends the call to the first healthy node, moving on to the next when a
// node cannot be connected to. Anything the upstream answers, errors
// included, is returned as a Response for the client to see unmodified.
func (p *Provider) Do(ctx context.Context, c *provider.Call) (*provider.Response, error) {
	if int(c.Op) >= len(paths) {
		return nil, apierr.New(apierr.NotFound, "operation %s is not supported by provider %s", c.Op, p.name)
	}
	now := p.now().UnixNano()
	var (
		lastErr error
		skipped uint64 // nodes passed over because they were marked down
	)
	// First pass: healthy nodes in order. Second pass, only over nodes that
	// were already marked down when the call began: a mark is a guess about
	// the present, so they are worth a try before giving up; a node that
	// refused during this call's first pass is not.
	for pass := 0; pass < 2; pass++ {
		for i, n := range p.nodes {
			if pass == 0 && n.downUntil.Load() > now {
				skipped |= 1 << i
				continue
			}
			if pass == 1 && skipped&(1<<i) == 0 {
				continue
			}
			resp, err := p.attempt(ctx, n, c)
			if err == nil {
				n.downUntil.Store(0)
				return resp, nil
			}
			lastErr = err
			var ce *connectError
			if !errors.As(err, &ce) || ctx.Err() != nil {
				return nil, classify(ctx, err)
			}
			n.downUntil.Store(p.now().Add(p.nodeDown).UnixNano())
		}
		if skipped == 0 {
			break
		}
	}
	return nil, classify(ctx, lastErr)
}

func (p *Provider) attempt(ctx context.Context, n *node, c *provider.Call) (*provider.Response, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	u := n.urls[c.Op]
	if c.Query != "" {
		q := *u
		q.RawQuery = c.Query
		u = &q
	}
	// Built by hand rather than with http.NewRequest: the URL is parsed
	// once per node, not once per request.
	req := (&http.Request{
		Method:        http.MethodPost,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        p.header(c.Header),
		Body:          bytesReader(c.Body),
		GetBody:       func() (io.ReadCloser, error) { return bytesReader(c.Body), nil },
		ContentLength: int64(len(c.Body)),
		Host:          u.Host,
	}).WithContext(ctx)
	resp, err := p.rt.RoundTrip(req)
	if err != nil {
		cancel(nil)
		return nil, err
	}
	out := &provider.Response{Status: resp.StatusCode, Header: responseHeader(resp.Header), Node: n.label}
	g := &idleGuard{cancel: cancel, idle: p.idle}
	if p.idle > 0 {
		g.timer = time.AfterFunc(p.idle, g.fire)
	}
	if c.Stream && resp.StatusCode == http.StatusOK && isEventStream(resp.Header.Get("Content-Type")) {
		out.Events = &events{r: sse.NewReader(resp.Body, 0), g: g, ctx: ctx}
	} else {
		out.Body = &body{rc: resp.Body, g: g, ctx: ctx}
	}
	return out, nil
}

func isEventStream(ct string) bool {
	return strings.HasPrefix(strings.TrimSpace(strings.ToLower(ct)), "text/event-stream")
}

// header builds the upstream request headers from an allowlist of the
// client's headers plus the provider's own credential. The client's key
// (x-api-key, Authorization) is never copied.
func (p *Provider) header(in http.Header) http.Header {
	h := make(http.Header, 8)
	for k, v := range in {
		if forwardRequestHeader(k) {
			h[k] = v
		}
	}
	if len(h["Anthropic-Version"]) == 0 {
		h["Anthropic-Version"] = []string{DefaultVersion}
	}
	h["Content-Type"] = jsonContentType
	h[p.authKey] = []string{p.authValue}
	for _, kv := range p.static {
		h[kv[0]] = []string{kv[1]}
	}
	return h
}

var jsonContentType = []string{"application/json"}

// forwardRequestHeader is the request header allowlist. Keys are canonical
// (net/http canonicalizes incoming headers).
func forwardRequestHeader(k string) bool {
	switch k {
	case "Accept", "User-Agent", "X-App", "X-Claude-Code-Session-Id":
		return true
	}
	// anthropic-version, anthropic-beta (every value), and the newer
	// anthropic-* request parameters; X-Stainless-* describe the SDK.
	return strings.HasPrefix(k, "Anthropic-") || strings.HasPrefix(k, "X-Stainless-")
}

// responseHeader keeps the upstream headers a client may act on. The
// upstream's request id is kept under another name: the response's
// request-id is the gateway's own.
func responseHeader(in http.Header) http.Header {
	h := make(http.Header, 4)
	for k, v := range in {
		switch {
		case k == "Content-Type", k == "Retry-After", k == "Retry-After-Ms", k == "X-Should-Retry":
			h[k] = v
		case k == "Request-Id":
			h["Upstream-Request-Id"] = v
		case strings.HasPrefix(k, "Anthropic-Ratelimit-"):
			h[k] = v
		}
	}
	return h
}

// classify turns a transport failure into a client-facing error.
func classify(ctx context.Context, err error) error {
	if err == nil {
		return apierr.New(apierr.Unavailable, "no upstream node available")
	}
	if ctx.Err() != nil {
		return apierr.Wrap(apierr.BadGateway, err, "request canceled")
	}
	var ce *connectError
	var ne net.Error
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	switch {
	case errors.As(err, &ce):
		return apierr.Wrap(apierr.BadGateway, err, "upstream unreachable")
	case errors.As(err, &cv), errors.As(err, &ua):
		return apierr.Wrap(apierr.BadGateway, err, "upstream TLS verification failed")
	case errors.As(err, &ne) && ne.Timeout():
		return apierr.Wrap(apierr.GatewayTimeout, err, "upstream timed out")
	}
	return apierr.Wrap(apierr.BadGateway, err, "upstream request failed")
}

// ErrIdle is the cause when an upstream stays silent longer than stream_idle.
var ErrIdle = errors.New("upstream idle timeout")

// idleGuard cancels the upstream request when no bytes arrive for idle.
type idleGuard struct {
	cancel context.CancelCauseFunc
	idle   time.Duration
	timer  *time.Timer
}

func (g *idleGuard) fire() { g.cancel(ErrIdle) }

func (g *idleGuard) touch() {
	if g.timer != nil {
		g.timer.Reset(g.idle)
	}
}

func (g *idleGuard) stop() {
	if g.timer != nil {
		g.timer.Stop()
	}
	g.cancel(nil)
}

func idleErr(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), ErrIdle) {
		return apierr.Wrap(apierr.GatewayTimeout, ErrIdle, "upstream stream idle timeout")
	}
	return err
}

type events struct {
	r   *sse.Reader
	g   *idleGuard
	ctx context.Context
}

func (e *events) Next() (sse.Event, error) {
	ev, err := e.r.Next()
	if err != nil {
		return ev, idleErr(e.ctx, err)
	}
	e.g.touch()
	return ev, nil
}

func (e *events) Close() error {
	e.g.stop()
	return e.r.Close()
}

type body struct {
	rc  io.ReadCloser
	g   *idleGuard
	ctx context.Context
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.g.touch()
	}
	if err != nil && err != io.EOF {
		err = idleErr(b.ctx, err)
	}
	return n, err
}

func (b *body) Close() error {
	b.g.stop()
	return b.rc.Close()
}
