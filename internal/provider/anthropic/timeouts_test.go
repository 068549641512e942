package anthropic_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/provider/anthropic"
)

// silentListener accepts TCP connections and never writes: a TLS client
// waits for the ServerHello forever.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// dialTimeout is a transport whose every dial times out.
type dialTimeout struct{}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func (dialTimeout) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}
}

// TestFailureReasons: each way an attempt can fail has its own reason and
// client-facing kind (timeouts 504, the rest 502).
func TestFailureReasons(t *testing.T) {
	hang := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-u.stop:
		}
	})
	reset := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.(*net.TCPConn).SetLinger(0) // RST, not FIN
			c.Close()
		}
	})
	untrusted := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	untrusted.Config.ErrorLog = quietLog()
	t.Cleanup(untrusted.Close)
	silent := silentListener(t)

	tests := []struct {
		name   string
		o      anthropic.Options
		ctx    func() (context.Context, context.CancelFunc)
		reason string
		kind   apierr.Kind
		max    time.Duration
	}{
		{name: "refused", o: anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{deadURL(t)}}}, reason: provider.ReasonConnectRefused, kind: apierr.BadGateway},
		{name: "connect timeout", o: anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{"http://192.0.2.1"}, Transport: dialTimeout{}}}, reason: provider.ReasonConnectTimeout, kind: apierr.GatewayTimeout},
		{name: "TLS handshake timeout", o: anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{"https://" + silent}, Timeouts: config.Timeouts{TLSHandshake: 100 * time.Millisecond, ResponseHeader: 10 * time.Second}}},
			reason: provider.ReasonTLSHandshakeTimeout, kind: apierr.GatewayTimeout, max: 2 * time.Second},
		{name: "TLS error", o: anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{untrusted.URL}}}, reason: provider.ReasonTLSError, kind: apierr.BadGateway},
		{name: "first byte", o: anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{hang.URL}, Timeouts: config.Timeouts{ResponseHeader: 100 * time.Millisecond}}},
			reason: provider.ReasonFirstByteTimeout, kind: apierr.GatewayTimeout, max: 2 * time.Second},
		{name: "reset", o: anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{reset.URL}}}, reason: provider.ReasonConnectionReset, kind: apierr.BadGateway},
		{name: "deadline", o: anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{hang.URL}}},
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancelCause(context.Background())
				time.AfterFunc(100*time.Millisecond, func() { cancel(provider.ErrDeadline) })
				return ctx, func() { cancel(nil) }
			}, reason: provider.ReasonDeadline, kind: apierr.GatewayTimeout, max: 2 * time.Second},
		{name: "client cancel", o: anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{hang.URL}}},
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(100*time.Millisecond, cancel)
				return ctx, cancel
			}, reason: provider.ReasonCanceled, kind: apierr.BadGateway, max: 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, tt.o)
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			start := time.Now()
			resp, err := do(t, ctx, p, call(`{}`))
			if resp != nil {
				t.Fatalf("got a response (%d)", resp.Status)
			}
			if got := provider.Reason(err); got != tt.reason {
				t.Errorf("reason %q, want %q (err %v)", got, tt.reason, err)
			}
			wantAPIErr(t, err, tt.kind, "")
			if tt.max > 0 && time.Since(start) > tt.max {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

// TestCallFirstByteOverride: the call's first-byte timeout (a route's)
// replaces the provider's, longer or shorter; the transport has no header
// timeout of its own that would cut a longer one short.
func TestCallFirstByteOverride(t *testing.T) {
	slow := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(200 * time.Millisecond):
		case <-u.stop:
			return
		}
		okHandler(u, w, r)
	})
	p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{slow.URL}, Timeouts: config.Timeouts{ResponseHeader: 50 * time.Millisecond}}})
	if _, err := do(t, context.Background(), p, call(`{}`)); provider.Reason(err) != provider.ReasonFirstByteTimeout {
		t.Fatalf("provider default: err = %v", err)
	}
	c := call(`{}`)
	c.FirstByte = 2 * time.Second
	resp, err := do(t, context.Background(), p, c)
	if err != nil {
		t.Fatalf("longer route timeout: %v", err)
	}
	if got := readBody(t, resp); got != `{"ok":true}` {
		t.Errorf("body %q", got)
	}

	p = newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{slow.URL}}})
	c = call(`{}`)
	c.FirstByte = 50 * time.Millisecond
	start := time.Now()
	if _, err := do(t, context.Background(), p, c); provider.Reason(err) != provider.ReasonFirstByteTimeout || time.Since(start) > time.Second {
		t.Errorf("shorter route timeout: err = %v after %v", err, time.Since(start))
	}
}

// TestCallStreamIdleOverride: the call's stream_idle replaces the
// provider's, and an idle stream names its reason.
func TestCallStreamIdleOverride(t *testing.T) {
	u, cancelled := stallingUpstream(t, "text/event-stream", frames[0])
	p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{u.URL}, Timeouts: config.Timeouts{StreamIdle: time.Hour}}})
	c := call(`{}`)
	c.Stream, c.StreamIdle = true, 100*time.Millisecond
	resp, err := do(t, context.Background(), p, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resp.Events.Next(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = resp.Events.Next()
	// The call's 100 ms, not the provider's hour: any time well under the
	// hour tells them apart, however loaded the machine (1.04 s was seen).
	if provider.Reason(err) != provider.ReasonStreamIdle || !errors.Is(err, anthropic.ErrIdle) || time.Since(start) > 30*time.Second {
		t.Errorf("err = %v after %v", err, time.Since(start))
	}
	waitClosed(t, cancelled, "the upstream request's context to be cancelled")
}

// TestProbe: a health check lists the models with the credential; any
// answer below 500 is healthy.
func TestProbe(t *testing.T) {
	var (
		mu     sync.Mutex
		status = 200
		got    string
	)
	u := newUpstream(t, func(_ *upstream, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = r.Method + " " + r.URL.RequestURI() + " " + r.Header.Get("X-Api-Key") + " " + r.Header.Get("Anthropic-Version")
		w.WriteHeader(status)
	})
	p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{u.URL + "/relay"}}})
	for _, c := range []struct {
		status int
		ok     bool
	}{{200, true}, {401, true}, {500, false}, {529, false}} {
		mu.Lock()
		status = c.status
		mu.Unlock()
		if err := p.Probe(context.Background(), 0); (err == nil) != c.ok {
			t.Errorf("status %d: err = %v", c.status, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := "GET /relay/v1/models?limit=1 sk-provider " + anthropic.DefaultVersion; got != want {
		t.Errorf("probe sent %q, want %q", got, want)
	}
}

// quietLog drops the TLS server's handshake-error lines.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
