package provider

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

// countedServer is an httptest server that counts the connections made
// to it.
func countedServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// post sends body to rawURL as the providers do (Post's request).
func post(ctx context.Context, rt http.RoundTripper, rawURL string, h http.Header, body []byte) (*http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if h == nil {
		h = http.Header{}
	}
	req := (&http.Request{
		Method: http.MethodPost, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Host: u.Host,
		Body:          io.NopCloser(bytes.NewReader(body)),
		GetBody:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
		ContentLength: int64(len(body)),
	}).WithContext(ctx)
	return rt.RoundTrip(req)
}

// readAll reads and closes a response's body.
func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return string(b)
}

func newH1(t *testing.T) *H1Transport {
	tr := NewH1Transport(config.DefaultTimeouts())
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// An event stream reaches the reader event by event while the upstream
// is still writing it: nothing waits for the whole body.
func TestH1StreamsChunkedBody(t *testing.T) {
	next := make(chan struct{})
	srv, _ := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			<-next
		}
	})
	tr := newH1(t)
	resp, err := post(context.Background(), tr, srv.URL, nil, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != -1 || !IsEventStream(resp.Header.Get("Content-Type")) {
		t.Fatalf("ContentLength %d, Content-Type %q", resp.ContentLength, resp.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: %d\n", i) {
			t.Fatalf("event %d: %q, %v", i, line, err)
		}
		br.ReadString('\n')
		next <- struct{}{} // the next event is written only now
	}
	if b, err := io.ReadAll(br); err != nil || len(b) != 0 {
		t.Fatalf("after the last event: %q, %v", b, err)
	}
}

// A Content-Length body is read whole, and the connection is reused for
// the next requests: one connection for N sequential round trips.
func TestH1KeepAliveReuse(t *testing.T) {
	srv, conns := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Length", fmt.Sprint(len(b)+3))
		w.Write(append([]byte("re:"), b...))
	})
	tr := newH1(t)
	for i := range 20 {
		resp, err := post(context.Background(), tr, srv.URL+"/v1/x?q=1", nil, []byte(fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != fmt.Sprintf("re:%d", i) || resp.ContentLength != int64(len(got)) {
			t.Fatalf("round trip %d: %q (ContentLength %d)", i, got, resp.ContentLength)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 20 sequential round trips, want 1", n)
	}
}

// A stream reader that stops at its end marker and closes the body, the
// chunked encoding's last chunk unread but already received, leaves the
// connection to the next request; one closed while the upstream is still
// writing does not (the upstream must see it abandoned).
func TestH1CloseAtStreamEndKeepsConnection(t *testing.T) {
	hold := make(chan struct{})
	srv, conns := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {}\n\n")
		w.(http.Flusher).Flush()
		if r.URL.Path == "/slow" {
			<-hold // still generating when the client closes
		}
		io.WriteString(w, "data: [DONE]\n\n")
	})
	tr := newH1(t)
	readToDone := func(path string) {
		t.Helper()
		// As the providers do: Post, and the body under the idle guard,
		// whose Close cancels the request (after closing the body).
		u, _ := url.Parse(srv.URL + path)
		resp, g, err := Post(context.Background(), tr, u, http.Header{}, []byte(`{}`), time.Second, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body = GuardBody(resp.Body, g)
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("before [DONE]: %q, %v", line, err)
			}
			if line == "data: [DONE]\n" {
				break
			}
		}
		time.Sleep(20 * time.Millisecond) // the last chunk arrives
		resp.Body.Close()
	}
	for range 5 {
		readToDone("/fast")
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 5 streams read to their end marker, want 1", n)
	}
	resp, err := post(context.Background(), tr, srv.URL+"/slow", nil, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	if line != "data: {}\n" {
		t.Fatalf("first line %q", line)
	}
	resp.Body.Close()
	close(hold)
	readToDone("/fast")
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2: a stream closed mid-way must not leave its connection", n)
	}
}

// rawServer serves each connection with fn (a hand-written upstream for
// what httptest cannot be made to do); it counts connections.
func rawServer(t *testing.T, fn func(n int64, c net.Conn)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := conns.Add(1)
			go func() {
				defer c.Close()
				fn(n, c)
			}()
		}
	}()
	return "http://" + ln.Addr().String(), &conns
}

// readRequest reads one request off br, body included.
func readRequest(br *bufio.Reader) (*http.Request, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, req.Body)
	return req, nil
}

// A body delimited by the connection's close is read to its end, and the
// connection is not pooled.
func TestH1CloseDelimitedBody(t *testing.T) {
	u, conns := rawServer(t, func(_ int64, c net.Conn) {
		if _, err := readRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, ")
		time.Sleep(20 * time.Millisecond)
		io.WriteString(c, "part two")
	})
	tr := newH1(t)
	for range 2 {
		resp, err := post(context.Background(), tr, u, nil, []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != "part one, part two" || resp.ContentLength != -1 {
			t.Fatalf("body %q, ContentLength %d", got, resp.ContentLength)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (a close-delimited body ends its connection)", n)
	}
}

// "Connection: close" from the upstream: the answer says so, and the next
// request dials anew.
func TestH1ConnectionCloseFromServer(t *testing.T) {
	srv, conns := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	tr := newH1(t)
	for range 3 {
		resp, err := post(context.Background(), tr, srv.URL, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != "bye" || !resp.Close {
			t.Fatalf("body %q, Close %v", got, resp.Close)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
}

// Idle connections the upstream closed meanwhile are not used: the next
// request dials a new one and succeeds.
func TestH1UpstreamClosedIdleConnections(t *testing.T) {
	srv, conns := countedServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	tr := newH1(t)
	for i := range 3 {
		resp, err := post(context.Background(), tr, srv.URL, nil, []byte(`{}`))
		if err != nil {
			t.Fatalf("round trip %d: %v", i, err)
		}
		readAll(t, resp)
		srv.CloseClientConnections()
		time.Sleep(10 * time.Millisecond) // the FIN arrives
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
}

// A reused connection that the upstream closes on receiving the request,
// before any answer (it had just timed it out): a replayable request is
// sent once more on a fresh connection, as net/http does; a provider's
// POST, which may have reached the upstream, is not sent twice.
func TestH1RetriesOnceOnReusedConnection(t *testing.T) {
	var requests atomic.Int64
	u, conns := rawServer(t, func(_ int64, c net.Conn) {
		br := bufio.NewReader(c)
		for served := 0; ; served++ {
			if _, err := readRequest(br); err != nil {
				return
			}
			requests.Add(1)
			if served == 1 {
				return // the second request on a connection: closed unanswered
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	tr := newH1(t)
	get := func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		return tr.RoundTrip(req)
	}
	for i := range 2 {
		resp, err := get()
		if err != nil {
			t.Fatalf("GET %d: %v", i, err)
		}
		readAll(t, resp)
	}
	if r, c := requests.Load(), conns.Load(); r != 3 || c != 2 {
		t.Errorf("GET: %d requests on %d connections, want 3 on 2 (one retry)", r, c)
	}

	// The pooled connection has served one request: the next POST on it
	// is closed unanswered, and fails.
	requests.Store(0)
	_, err := post(context.Background(), tr, u, nil, []byte(`{}`))
	if err == nil {
		t.Fatal("POST on a connection closed unanswered succeeded")
	}
	if r := Reason(Classify(context.Background(), err)); r != ReasonConnectionReset {
		t.Errorf("reason %s (%v), want %s", r, err, ReasonConnectionReset)
	}
	if r := requests.Load(); r != 1 {
		t.Errorf("POST reached the upstream %d times, want 1", r)
	}
}

// Cancelling the context before the headers ends RoundTrip at once with
// the context's cause, and the upstream sees the request abandoned.
func TestH1CancelBeforeHeaders(t *testing.T) {
	gone := make(chan struct{})
	srv, _ := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // the server watches the connection from now on
		select {
		case <-r.Context().Done():
			close(gone)
		case <-time.After(10 * time.Second):
		}
	})
	tr := newH1(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(50*time.Millisecond, func() { cancel(ErrFirstByte) })
	start := time.Now()
	_, err := post(ctx, tr, srv.URL, nil, []byte(`{}`))
	if !errors.Is(err, ErrFirstByte) {
		t.Fatalf("err = %v, want the cause %v", err, ErrFirstByte)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("RoundTrip returned %v after the cancel", d)
	}
	if r := Reason(Classify(ctx, err)); r != ReasonFirstByteTimeout {
		t.Errorf("reason %s, want %s", r, ReasonFirstByteTimeout)
	}
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream never saw the request abandoned")
	}
}

// Cancelling mid-body ends the blocked Read at once with the cause, and
// the connection is not reused.
func TestH1CancelMidBody(t *testing.T) {
	release := make(chan struct{})
	srv, conns := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/quick" {
			io.WriteString(w, "ok")
			return
		}
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	tr := newH1(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	resp, err := post(ctx, tr, srv.URL, nil, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, err := resp.Body.Read(buf); err != nil || string(buf[:n]) != "data: first\n\n" {
		t.Fatalf("first read %q, %v", buf[:n], err)
	}
	time.AfterFunc(50*time.Millisecond, func() { cancel(ErrIdle) })
	start := time.Now()
	_, err = resp.Body.Read(buf)
	if !errors.Is(err, ErrIdle) {
		t.Fatalf("read err = %v, want the cause %v", err, ErrIdle)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Read returned %v after the cancel", d)
	}
	if _, err2 := resp.Body.Read(buf); !errors.Is(err2, ErrIdle) {
		t.Errorf("a second read: %v, want the same error", err2)
	}
	resp.Body.Close()
	resp, err = post(context.Background(), tr, srv.URL+"/quick", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (the cancelled one is not reused)", n)
	}
}

// Closing the body while a Read blocks ends that Read; the connection is
// not reused.
func TestH1CloseDuringRead(t *testing.T) {
	srv, _ := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	tr := newH1(t)
	resp, err := post(context.Background(), tr, srv.URL, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, func() { resp.Body.Close() })
	if _, err := resp.Body.Read(make([]byte, 8)); err == nil {
		t.Fatal("Read after Close returned no error")
	}
	tr.mu.Lock()
	n := tr.nidle
	tr.mu.Unlock()
	if n != 0 {
		t.Errorf("%d idle connections, want 0", n)
	}
}

// Interim 1xx answers are skipped: the caller gets the final one.
func TestH1SkipsInterimResponses(t *testing.T) {
	srv, _ := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "made")
	})
	resp, err := post(context.Background(), newH1(t), srv.URL, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); resp.StatusCode != 201 || resp.Status != "201 Created" || got != "made" {
		t.Fatalf("%s %q", resp.Status, got)
	}
}

// Bodies above a megabyte go both ways whole.
func TestH1LargeBodies(t *testing.T) {
	srv, _ := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", fmt.Sprint(2*len(b)))
		}
		w.Write(b)
		w.Write(b)
	})
	tr := newH1(t)
	body := bytes.Repeat([]byte("0123456789abcdef"), 80<<10) // 1.25 MB
	for _, q := range []string{"", "?chunked=1"} {
		resp, err := post(context.Background(), tr, srv.URL+q, nil, body)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != string(body)+string(body) {
			t.Fatalf("%s: %d bytes back, want %d", q, len(got), 2*len(body))
		}
	}
}

// Header fidelity: request headers reach the upstream as net/http sends
// them (multiple values, its User-Agent when none is set, no
// Accept-Encoding); answer headers come back under canonical keys with
// every value, in order.
func TestH1Headers(t *testing.T) {
	u, _ := rawServer(t, func(_ int64, c net.Conn) {
		req, err := readRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		var sb strings.Builder
		for _, k := range []string{"User-Agent", "X-Multi", "Anthropic-Version", "Accept-Encoding", "Content-Type", "Content-Length"} {
			fmt.Fprintf(&sb, "%s=%q;", k, req.Header[k])
		}
		fmt.Fprintf(&sb, "host=%s;cl=%d", req.Host, req.ContentLength)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nx-lower: a\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Multi: 1\r\nX-Multi: 2\r\n"+
			"content-type: application/json\r\nContent-Length: %d\r\n\r\n%s", sb.Len(), sb.String())
	})
	h := http.Header{"X-Multi": {"x", "y"}, "anthropic-version": {"2023-06-01"}, "Content-Type": {"application/json"}}
	resp, err := post(context.Background(), newH1(t), u, h, []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, resp)
	host := strings.TrimPrefix(u, "http://")
	want := `User-Agent=["Go-http-client/1.1"];X-Multi=["x" "y"];Anthropic-Version=["2023-06-01"];Accept-Encoding=[];` +
		`Content-Type=["application/json"];Content-Length=["7"];host=` + host + `;cl=7`
	if got != want {
		t.Errorf("upstream saw\n %s\nwant\n %s", got, want)
	}
	for k, v := range map[string][]string{
		"X-Lower": {"a"}, "Set-Cookie": {"a=1", "b=2"}, "X-Multi": {"1", "2"},
		"Content-Type": {"application/json"}, "Content-Length": {fmt.Sprint(len(got))},
	} {
		if g := resp.Header[k]; fmt.Sprint(g) != fmt.Sprint(v) {
			t.Errorf("answer header %s = %q, want %q", k, g, v)
		}
	}
	if resp.Proto != "HTTP/1.1" || resp.Status != "200 OK" {
		t.Errorf("%s %s", resp.Proto, resp.Status)
	}
}

// TestH1ManyHeaders: more headers and header bytes than responseHeader
// holds on its stack arrive whole, each under its own name.
func TestH1ManyHeaders(t *testing.T) {
	want := http.Header{}
	var head strings.Builder
	for i := range 40 {
		k, v := fmt.Sprintf("X-H%02d", i), strings.Repeat(string(rune('a'+i%26)), 100+i)
		want[k] = []string{v}
		fmt.Fprintf(&head, "%s: %s\r\n", k, v)
	}
	u, _ := rawServer(t, func(_ int64, c net.Conn) {
		if _, err := readRequest(bufio.NewReader(c)); err != nil {
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\n%sContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", head.String())
	})
	resp, err := post(context.Background(), newH1(t), u, http.Header{}, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	for k, v := range want {
		if g := resp.Header[k]; len(g) != 1 || g[0] != v[0] {
			t.Errorf("header %s = %q, want %q", k, g, v)
		}
	}
	if len(resp.Header) != len(want)+2 { // and Content-Type, Content-Length
		t.Errorf("%d headers, want %d: %v", len(resp.Header), len(want)+2, resp.Header)
	}
}

// Connect failures keep their classification: nothing listens, refused.
func TestH1ConnectRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, err := post(context.Background(), newH1(t), "http://"+addr, nil, []byte(`{}`))
	err = Classify(context.Background(), err)
	if Reason(err) != ReasonConnectRefused || !NeverSent(err) {
		t.Errorf("reason %s (%v), want %s", Reason(err), err, ReasonConnectRefused)
	}
}

// Idle connections are closed by CloseIdleConnections and after the idle
// timeout.
func TestH1IdleConnections(t *testing.T) {
	srv, conns := countedServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	tr := newH1(t)
	tr.IdleConnTimeout = 50 * time.Millisecond
	call := func() {
		resp, err := post(context.Background(), tr, srv.URL, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
	}
	call()
	tr.CloseIdleConnections()
	call()
	time.Sleep(150 * time.Millisecond)
	tr.mu.Lock()
	n := tr.nidle
	tr.mu.Unlock()
	if n != 0 {
		t.Errorf("%d idle connections after the idle timeout", n)
	}
	call()
	if c := conns.Load(); c != 3 {
		t.Errorf("%d connections, want 3", c)
	}
}
