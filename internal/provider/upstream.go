package provider

// Upstream plumbing the HTTP providers share: the transport, the ordered
// node list with connect-failure failover, the classification of transport
// failures, and the idle guard with the body it watches.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
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
// legitimately last an hour; the transport bounds connect, TLS and
// headers, the idle guard the gaps between reads).
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

// isConnectError reports whether err means the request never left: our
// transport's connectError, or a dial *net.OpError from an injected one.
func isConnectError(err error) bool {
	var ce *connectError
	if errors.As(err, &ce) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// maxNodes bounds a provider's base URLs: Try keeps the nodes it passed
// over in a 64-bit set.
const maxNodes = 64

// Node is one base URL of a provider.
type Node struct {
	// URLs are the base URL joined with each of the paths given to
	// NewNodes, in their order, built once. They are shared: copy one
	// before changing it.
	URLs      []*url.URL
	Label     string       // the host, for logs and Response.Node
	downUntil atomic.Int64 // unix nanoseconds; 0 = healthy
}

// Nodes are a provider's base URLs, tried in order.
type Nodes struct {
	list     []*Node
	nodeDown time.Duration
	now      func() time.Time
}

// NewNodes parses bases, each an http or https URL, and joins each with
// every one of paths; what names the provider in errors ("anthropic
// provider x"). A node that cannot be connected to is skipped for
// t.NodeDown (default 10s) by the clock now (default time.Now).
func NewNodes(what string, bases, paths []string, t config.Timeouts, now func() time.Time) (*Nodes, error) {
	if len(bases) > maxNodes {
		return nil, fmt.Errorf("%s: at most %d base_urls", what, maxNodes)
	}
	ns := &Nodes{nodeDown: t.NodeDown, now: now}
	if ns.nodeDown <= 0 {
		ns.nodeDown = 10 * time.Second
	}
	if ns.now == nil {
		ns.now = time.Now
	}
	for _, raw := range bases {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%s: bad base_url %q", what, raw)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath, u.RawQuery, u.Fragment = "", "", ""
		n := &Node{URLs: make([]*url.URL, len(paths)), Label: u.Host}
		for i, path := range paths {
			pu := *u
			pu.Path += path
			n.URLs[i] = &pu
		}
		ns.list = append(ns.list, n)
	}
	return ns, nil
}

// Try calls attempt on the first healthy node, moving on to the next when
// a node cannot be connected to; the error, if any, is a client-facing
// *apierr.Error. First pass: healthy nodes in order. Second pass, only over
// nodes already marked down when the call began: a mark is a guess about
// the present, worth a try before giving up; a node that refused during
// this call is not.
func (ns *Nodes) Try(ctx context.Context, attempt func(*Node) error) error {
	now := ns.now().UnixNano()
	var (
		lastErr error
		skipped uint64 // nodes passed over because they were marked down
	)
	for pass := 0; pass < 2; pass++ {
		for i, n := range ns.list {
			if pass == 0 && n.downUntil.Load() > now {
				skipped |= 1 << i
				continue
			}
			if pass == 1 && skipped&(1<<i) == 0 {
				continue
			}
			err := attempt(n)
			if err == nil {
				n.downUntil.Store(0)
				return nil
			}
			lastErr = err
			if !isConnectError(err) || ctx.Err() != nil {
				return classify(ctx, err)
			}
			n.downUntil.Store(ns.now().Add(ns.nodeDown).UnixNano())
		}
		if skipped == 0 {
			break
		}
	}
	return classify(ctx, lastErr)
}

// classify turns a transport failure into a client-facing error.
func classify(ctx context.Context, err error) error {
	if err == nil {
		return apierr.New(apierr.Unavailable, "no upstream node available")
	}
	if ctx.Err() != nil {
		return apierr.Wrap(apierr.BadGateway, err, "request canceled")
	}
	var ne net.Error
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	switch {
	case isConnectError(err):
		return apierr.Wrap(apierr.BadGateway, err, "upstream unreachable")
	case errors.As(err, &cv), errors.As(err, &ua):
		return apierr.Wrap(apierr.BadGateway, err, "upstream TLS verification failed")
	case errors.As(err, &ne) && ne.Timeout():
		return apierr.Wrap(apierr.GatewayTimeout, err, "upstream timed out")
	}
	return apierr.Wrap(apierr.BadGateway, err, "upstream request failed")
}

// IsEventStream reports whether a Content-Type is text/event-stream.
func IsEventStream(ct string) bool {
	return strings.HasPrefix(strings.TrimSpace(strings.ToLower(ct)), "text/event-stream")
}

// ErrIdle is the cause when an upstream stays silent longer than
// stream_idle.
var ErrIdle = errors.New("upstream idle timeout")

// IdleGuard cancels an upstream request, with cause ErrIdle, when it is
// not touched for idle.
type IdleGuard struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	idle   time.Duration
	timer  *time.Timer
}

// NewIdleGuard starts a guard over the request context ctx, cancelled by
// cancel. idle <= 0 means no limit: only Stop cancels.
func NewIdleGuard(ctx context.Context, cancel context.CancelCauseFunc, idle time.Duration) *IdleGuard {
	g := &IdleGuard{ctx: ctx, cancel: cancel, idle: idle}
	if idle > 0 {
		g.timer = time.AfterFunc(idle, g.fire)
	}
	return g
}

func (g *IdleGuard) fire() { g.cancel(ErrIdle) }

// Touch restarts the idle timer: the upstream was heard from.
func (g *IdleGuard) Touch() {
	if g.timer != nil {
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

// Err returns err, or a gateway timeout wrapping ErrIdle when the guard
// cancelled the request.
func (g *IdleGuard) Err(err error) error {
	if errors.Is(context.Cause(g.ctx), ErrIdle) {
		return apierr.Wrap(apierr.GatewayTimeout, ErrIdle, "upstream stream idle timeout")
	}
	return err
}

// GuardBody returns rc, an upstream body, with every read that returns
// bytes touching g, read errors other than io.EOF passed through g.Err,
// and Close stopping g (which cancels the request) before closing rc.
func GuardBody(rc io.ReadCloser, g *IdleGuard) io.ReadCloser {
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

func (b *guardedBody) Close() error {
	b.g.Stop()
	return b.rc.Close()
}
