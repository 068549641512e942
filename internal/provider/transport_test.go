package provider

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

// An upstream that offers HTTP/2 over TLS gets it: one connection carries
// concurrent requests instead of one connection each. A plain-HTTP
// upstream keeps HTTP/1.1.
func TestTransportHTTP2(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) })
	tlsSrv := httptest.NewUnstartedServer(h)
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	plain := httptest.NewServer(h)
	defer plain.Close()

	tr := NewTransport(config.Timeouts{Connect: 5 * time.Second, TLSHandshake: 5 * time.Second})
	defer tr.CloseIdleConnections()
	roots := x509.NewCertPool()
	roots.AddCert(tlsSrv.Certificate())
	tr.HTTP.TLSClientConfig = &tls.Config{RootCAs: roots}
	for url, want := range map[string]string{tlsSrv.URL: "HTTP/2.0", plain.URL: "HTTP/1.1"} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != want || resp.Proto != want {
			t.Errorf("%s: upstream saw %s, response %s; want %s", url, b, resp.Proto, want)
		}
	}
}

// countingConn counts the writes made on a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// A request built as the providers build it (a bytes body with its
// length) leaves in one write when it fits the transport's write buffer,
// and a large one in a few: no write per header, no chunking. The upstream
// is not asked for gzip.
func TestTransportWritesPerRequest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if ae := r.Header.Get("Accept-Encoding"); ae != "" {
			t.Errorf("Accept-Encoding = %q, want none", ae)
		}
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	for name, tr := range testTransports() {
		t.Run(name, func(t *testing.T) { testWritesPerRequest(t, srv, tr) })
	}
}

// testTransports are the plain-HTTP transports to test: net/http's and
// H1Transport, each behind a Transport.
func testTransports() map[string]*Transport {
	t := config.DefaultTimeouts()
	return map[string]*Transport{
		"net/http": {HTTP: newHTTPTransport(t)},
		"h1":       {HTTP: newHTTPTransport(t), H1: NewH1Transport(t)},
	}
}

func testWritesPerRequest(t *testing.T, srv *httptest.Server, tr *Transport) {
	defer tr.CloseIdleConnections()
	var writes atomic.Int64
	count := func(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{c, &writes}, nil
		}
	}
	tr.HTTP.DialContext = count(tr.HTTP.DialContext)
	if tr.H1 != nil {
		tr.H1.DialContext = count(tr.H1.DialContext)
	}
	u, _ := url.Parse(srv.URL + "/v1/messages")
	for _, tt := range []struct {
		size, maxWrites int
	}{
		{3 << 10, 1},
		{256 << 10, 1 + 256/32},
	} {
		body := bytes.Repeat([]byte("x"), tt.size)
		for range 3 { // the connection is reused: same count each time
			writes.Store(0)
			req := &http.Request{
				Method: http.MethodPost, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Host: u.Host,
				Header:        http.Header{"Content-Type": {"application/json"}},
				Body:          io.NopCloser(bytes.NewReader(body)),
				ContentLength: int64(len(body)),
			}
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if got := writes.Load(); got < 1 || got > int64(tt.maxWrites) {
				t.Errorf("%d-byte body: %d writes, want 1..%d", tt.size, got, tt.maxWrites)
			}
		}
	}
}

// Two bursts of n concurrent calls to one host, n above the old per-host
// idle bound, are served by n connections: none is closed on return and
// dialled again for the second burst.
func TestTransportReusesConnectionsAcrossBursts(t *testing.T) {
	const n = 300
	var conns atomic.Int64
	var arrived sync.WaitGroup
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		arrived.Wait() // every call of the burst is in flight at once
		io.WriteString(w, `{}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	tr := NewTransport(config.DefaultTimeouts())
	defer tr.CloseIdleConnections()
	u, _ := url.Parse(srv.URL)
	for burst := range 2 {
		arrived.Add(n)
		var done sync.WaitGroup
		for range n {
			done.Go(func() {
				req := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}, Host: u.Host}
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Error(err)
					arrived.Done()
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		done.Wait()
		if got := conns.Load(); got != n {
			t.Fatalf("after burst %d: %d connections, want %d", burst+1, got, n)
		}
	}
}

// blackhole is a TCP proxy in front of addr whose connections can be made
// silent: bytes still go in, nothing comes out either way, as when a NAT
// forgets a connection.
type blackhole struct {
	ln    net.Listener
	conns atomic.Int64
	mu    sync.Mutex
	live  []*atomic.Bool // each proxied connection's "silenced" flag
}

func newBlackhole(t *testing.T, addr string) *blackhole {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			t.Cleanup(func() { c.Close(); up.Close() })
			b.conns.Add(1)
			dead := new(atomic.Bool)
			b.mu.Lock()
			b.live = append(b.live, dead)
			b.mu.Unlock()
			go pipeUnless(up, c, dead)
			go pipeUnless(c, up, dead)
		}
	}()
	return b
}

// silence makes every connection proxied so far silent.
func (b *blackhole) silence() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, d := range b.live {
		d.Store(true)
	}
}

func pipeUnless(dst io.Writer, src io.Reader, dead *atomic.Bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !dead.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// An HTTP/2 connection that went silent is found by a ping and closed: the
// next call dials a new connection instead of waiting on the dead one.
func TestTransportHTTP2DropsSilentConnection(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) }))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	bh := newBlackhole(t, srv.Listener.Addr().String())

	tr := NewTransport(config.DefaultTimeouts())
	defer tr.CloseIdleConnections()
	tr.HTTP.HTTP2.SendPingTimeout, tr.HTTP.HTTP2.PingTimeout = 50*time.Millisecond, 100*time.Millisecond
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	tr.HTTP.TLSClientConfig = &tls.Config{RootCAs: roots, ServerName: "example.com"}
	call := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+bh.ln.Addr().String(), nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.ProtoMajor != 2 {
			return fmt.Errorf("proto %s, want HTTP/2.0", resp.Proto)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := call(); err != nil {
		t.Fatal(err)
	}
	bh.silence()
	time.Sleep(400 * time.Millisecond) // > ping after + ping timeout
	if err := call(); err != nil {
		t.Fatalf("the call after the connection went silent: %v", err)
	}
	if got := bh.conns.Load(); got != 2 {
		t.Errorf("%d connections, want 2 (the silent one closed, one new)", got)
	}
}
