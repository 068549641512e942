package openaicompat

// Upstream plumbing shared in substance with internal/provider/anthropic:
// the transport, the ordered node list with connect-failure failover, the
// idle guard and the guarded body. That package is on this package's layer
// and may not be imported (internal/archtest), so this file keeps a compact
// copy; it is written to move as a whole into package provider (see the
// note in the package's report) and be used by both providers.

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

// newTransport builds the HTTP transport for one provider. It never uses a
// proxy from the environment: outbound traffic goes only to the configured
// base URLs.
func newTransport(t config.Timeouts) *http.Transport {
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

// node is one base URL.
type node struct {
	url       *url.URL // base + path, built once
	label     string
	downUntil atomic.Int64 // unix nanoseconds; 0 = healthy
}

// nodes are a provider's base URLs, tried in order.
type nodes struct {
	list     []*node
	nodeDown time.Duration
	now      func() time.Time
}

func newNodes(name string, bases []string, path string, t config.Timeouts, now func() time.Time) (*nodes, error) {
	if len(bases) > 64 {
		return nil, fmt.Errorf("openai provider %s: at most 64 base_urls", name)
	}
	ns := &nodes{nodeDown: t.NodeDown, now: now}
	if ns.nodeDown <= 0 {
		ns.nodeDown = 10 * time.Second
	}
	if ns.now == nil {
		ns.now = time.Now
	}
	for _, raw := range bases {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("openai provider %s: bad base_url %q", name, raw)
		}
		u.Path = strings.TrimSuffix(u.Path, "/") + path
		u.RawPath, u.RawQuery, u.Fragment = "", "", ""
		ns.list = append(ns.list, &node{url: u, label: u.Host})
	}
	return ns, nil
}

// try calls attempt on the first healthy node, moving on to the next when
// a node cannot be connected to. First pass: healthy nodes in order.
// Second pass, only over nodes already marked down when the call began: a
// mark is a guess about the present, worth a try before giving up; a node
// that refused during this call is not.
func (ns *nodes) try(ctx context.Context, attempt func(*node) error) error {
	now := ns.now().UnixNano()
	var (
		lastErr error
		skipped uint64
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

// ErrIdle is the cause when an upstream stays silent longer than
// stream_idle.
var ErrIdle = errors.New("upstream idle timeout")

// idleGuard cancels the upstream request when no bytes arrive for idle.
type idleGuard struct {
	cancel context.CancelCauseFunc
	idle   time.Duration
	timer  *time.Timer
}

func newIdleGuard(cancel context.CancelCauseFunc, idle time.Duration) *idleGuard {
	g := &idleGuard{cancel: cancel, idle: idle}
	if idle > 0 {
		g.timer = time.AfterFunc(idle, g.fire)
	}
	return g
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

// guardedBody is an upstream body whose reads feed the idle guard and whose
// Close stops it (and cancels the request).
type guardedBody struct {
	rc  io.ReadCloser
	g   *idleGuard
	ctx context.Context
}

func (b *guardedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.g.touch()
	}
	if err != nil && err != io.EOF {
		err = idleErr(b.ctx, err)
	}
	return n, err
}

func (b *guardedBody) Close() error {
	b.g.stop()
	return b.rc.Close()
}
