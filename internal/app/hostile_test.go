package app

// Slow and hostile clients, truthful logs, drain and shutdown: through
// real connections (net.Dial where the client misbehaves on the wire).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	dto "github.com/prometheus/client_model/go"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
)

// dialRaw opens a connection to the gateway and writes head (request line
// and headers, "\r\n"-separated, without the blank line) and then body.
func dialRaw(t *testing.T, g *gateway, head, body string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head+"\r\n\r\n"+body); err != nil {
		t.Fatal(err)
	}
	return c
}

// readAnswer reads one response from c within d, and its body.
func readAnswer(t *testing.T, c net.Conn, br *bufio.Reader, d time.Duration) (*http.Response, []byte) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer within %v: %v", d, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("answer body: %v", err)
	}
	return resp, b
}

// assertClosed checks that the gateway closes c within d.
func assertClosed(t *testing.T, c net.Conn, br *bufio.Reader, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	if rest, err := io.ReadAll(br); err != nil {
		t.Errorf("connection still open after %v (%v), read %q", d, err, rest)
	}
}

func messagesHead(key string, length string) string {
	h := "POST /v1/messages HTTP/1.1\r\nHost: ferry\r\nContent-Type: application/json"
	if key != "" {
		h += "\r\nX-Api-Key: " + key
	}
	if length == "chunked" {
		return h + "\r\nTransfer-Encoding: chunked"
	}
	return h + "\r\nContent-Length: " + length
}

// requestLog waits for the access log line of the request to path.
func requestLog(t *testing.T, g *gateway) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if lines := logLines(t, g, "request"); len(lines) > 0 {
			return lines[len(lines)-1]
		}
	}
	t.Fatalf("no access log line; logs:\n%s", g.Logs.String())
	return nil
}

// requestsCounted is ferry_requests_total summed over every label but code.
func requestsCounted(t *testing.T, g *gateway, code string) float64 {
	t.Helper()
	mfs, err := g.App.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "ferry_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "code" && l.GetValue() == code {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

func errorType(t *testing.T, b []byte) string {
	t.Helper()
	typ, _ := decodeError(t, b)
	return typ
}

// TestSlowBodyGets408: a body that does not arrive within body_timeout is
// a 408 and a closed connection, not a connection held forever.
func TestSlowBodyGets408(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.Limits.BodyTimeout = 300 * time.Millisecond })
	start := time.Now()
	c := dialRaw(t, g, messagesHead(clientKey, "100"), "{")
	br := bufio.NewReader(c)
	resp, b := readAnswer(t, c, br, 5*time.Second)
	d := time.Since(start)
	if d < 300*time.Millisecond || d > 3*time.Second {
		t.Errorf("answered after %v, want about the 300ms body timeout", d)
	}
	t.Logf("RESULT slow body (body_timeout 300ms): %d after %v", resp.StatusCode, d.Round(time.Millisecond))
	if resp.StatusCode != http.StatusRequestTimeout || errorType(t, b) != "timeout_error" {
		t.Fatalf("got %d %s, want 408 timeout_error", resp.StatusCode, b)
	}
	assertClosed(t, c, br, 2*time.Second)
	if got := requestLog(t, g)["status"]; got != float64(408) {
		t.Errorf("logged status %v, want 408", got)
	}
}

// TestBadKeyAnsweredWithoutWaitingForBody: a request without a valid key
// is answered 401 at once and its connection closed, however slowly its
// body trickles in (it used to wait for the whole body first).
func TestBadKeyAnsweredWithoutWaitingForBody(t *testing.T) {
	g := newGateway(t) // the default 30s body timeout
	for _, key := range []string{"sk-wrong-key-0123456789", ""} {
		start := time.Now()
		c := dialRaw(t, g, messagesHead(key, "100"), "{")
		br := bufio.NewReader(c)
		resp, b := readAnswer(t, c, br, 3*time.Second)
		if resp.StatusCode != http.StatusUnauthorized || errorType(t, b) != "authentication_error" {
			t.Fatalf("key %q: got %d %s, want 401", key, resp.StatusCode, b)
		}
		d := time.Since(start)
		if d > time.Second {
			t.Errorf("key %q: 401 after %v", key, d)
		}
		assertClosed(t, c, br, 2*time.Second)
		t.Logf("RESULT key %q, 1 of 100 body bytes sent: 401 after %v, connection closed after %v", key, d.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
}

func gaugeValue(t *testing.T, g interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestDeclaredLengthIsNotAllocated: connections that declare a large body
// and send one byte cost a small start each, not what they declared
// (20 x 32 MiB held 676 MB of heap when the declared length was trusted).
func TestDeclaredLengthIsNotAllocated(t *testing.T) {
	const (
		conns    = 20
		declared = 8 << 20
	)
	g := newGateway(t, func(c *config.Config) { c.Limits.MaxRequestBytes = declared })
	before := heapInUse()
	for range conns {
		dialRaw(t, g, messagesHead(clientKey, fmt.Sprint(declared)), "{")
	}
	for deadline := time.Now().Add(3 * time.Second); gaugeValue(t, g.App.metrics.InFlight) < conns; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%v requests in flight, want %d", gaugeValue(t, g.App.metrics.InFlight), conns)
		}
	}
	time.Sleep(50 * time.Millisecond) // let every handler reach its body read
	held := int64(heapInUse()) - int64(before)
	t.Logf("RESULT %d connections declaring %d bytes and sending 1 hold %d bytes of heap", conns, declared, held)
	if held > 8<<20 {
		t.Errorf("%d connections declaring %d MiB hold %d MiB of heap, want a small start each", conns, declared>>20, held>>20)
	}
}

// TestChunkedOverLimitCost: an over-size chunked body is refused with a
// 413 having cost at most the limit plus 1 MiB (3.1x the limit before).
func TestChunkedOverLimitCost(t *testing.T) {
	const limit = 4 << 20
	g := newGateway(t, func(c *config.Config) { c.Limits.MaxRequestBytes = limit })
	c := dialRaw(t, g, messagesHead(clientKey, "chunked"), "")
	chunk := []byte(strings.Repeat("x", 64<<10))
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	go func() {
		for sent := 0; sent < 3*limit; sent += len(chunk) {
			// Not Fprintf: its buffer for a 64 KiB chunk would be counted.
			if _, err := fmt.Fprintf(c, "%x\r\n", len(chunk)); err != nil {
				return
			}
			if _, err := c.Write(chunk); err != nil {
				return
			}
			if _, err := io.WriteString(c, "\r\n"); err != nil {
				return
			}
		}
		io.WriteString(c, "0\r\n\r\n")
	}()
	br := bufio.NewReader(c)
	resp, b := readAnswer(t, c, br, 5*time.Second)
	runtime.ReadMemStats(&ms)
	spent := ms.TotalAlloc - before
	t.Logf("RESULT a 12 MiB chunked body over a %d-byte limit: %d after allocating %d bytes", limit, resp.StatusCode, spent)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("got %d %s, want 413", resp.StatusCode, b)
	}
	// The client's own chunk headers are counted too: 1 MiB of slack.
	if spent > limit+2<<20 {
		t.Errorf("a chunked body over a %d MiB limit cost %d bytes, want at most the limit plus 1 MiB", limit>>20, spent)
	}
}

// TestUpstreamAnswerOverCap: a non-streaming answer over its cap is cut
// as soon as it passes it, and the client gets a clear 502.
func TestUpstreamAnswerOverCap(t *testing.T) {
	const limit = 1 << 20
	big := []byte(`{"type":"message","content":[{"type":"text","text":"` + strings.Repeat("x", 8<<20) + `"}]}`)
	var calls atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i < len(big); i += 64 << 10 {
			if _, err := w.Write(big[i:min(i+64<<10, len(big))]); err != nil {
				return
			}
		}
	}))
	t.Cleanup(up.Close)
	g := newGatewayOpts(t, Options{maxResponseBytes: limit}, func(c *config.Config) {
		c.Providers[0].BaseURLs = []string{up.URL} // default retries: a huge answer must not be asked for again
	})
	body := `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	resp, b := g.rawPost(t, "/v1/messages", body, nil)
	runtime.ReadMemStats(&ms)
	spent := ms.TotalAlloc - before
	t.Logf("RESULT an 8 MiB answer over a %d-byte cap: %d after allocating %d bytes", limit, resp.StatusCode, spent)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), "upstream answer too large") {
		t.Fatalf("got %d %s, want 502 upstream answer too large", resp.StatusCode, b)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the upstream was called %d times, want 1: another attempt is another billed completion as large", n)
	}
	if spent > limit+2<<20 {
		t.Errorf("an over-cap answer cost %d bytes, want at most the %d-byte cap plus 1 MiB", spent, limit)
	}
}

// holdUntilGone is an upstream hold that ends when the gateway cancels.
func holdUntilGone(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

// streamFirstEventThenHold enqueues a stream that sends its first event
// and then holds until hold returns.
func streamFirstEventThenHold(t *testing.T, g *gateway, hold func(*http.Request)) {
	f := fakeupstream.MustLoad(t, fixtures+"stream_text.txtar")
	first := strings.Index(string(f.Body), "\n\n") + 2
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: f, Splits: []int{first}, Hold: hold})
}

// TestClientHangUpIs499: a client that leaves before the headers or in
// the middle of a stream is logged and counted as 499, not 502 or 200.
func TestClientHangUpIs499(t *testing.T) {
	t.Run("before the headers", func(t *testing.T) {
		up := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // then its context ends when the gateway hangs up
			holdUntilGone(r)
		}))
		t.Cleanup(up.Close)
		g := newGateway(t, func(c *config.Config) { c.Providers[0].BaseURLs = []string{up.URL} })
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.URL+"/v1/messages", strings.NewReader(streamBody))
		req.Header.Set("X-Api-Key", clientKey)
		if resp, err := g.HTTP.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("answered %d", resp.StatusCode)
		}
		if got := requestLog(t, g)["status"]; got != float64(499) {
			t.Errorf("logged status %v, want 499", got)
		}
		if n := requestsCounted(t, g, "499"); n != 1 {
			t.Errorf("counted %v requests with code 499, want 1", n)
		}
	})
	t.Run("mid-stream", func(t *testing.T) {
		g := newGateway(t)
		streamFirstEventThenHold(t, g, holdUntilGone)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.URL+"/v1/messages", strings.NewReader(streamBody))
		req.Header.Set("X-Api-Key", clientKey)
		resp, err := g.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		cancel()
		resp.Body.Close()
		if got := requestLog(t, g)["status"]; got != float64(499) {
			t.Errorf("logged status %v, want 499", got)
		}
		if n := requestsCounted(t, g, "499"); n != 1 || requestsCounted(t, g, "200") != 0 {
			t.Errorf("counted %v requests with 499 and %v with 200, want 1 and 0", n, requestsCounted(t, g, "200"))
		}
	})
}

// TestClientHangUpDuringBodyIs499: a client that closes its connection
// half-way through its body is a 499 too.
func TestClientHangUpDuringBodyIs499(t *testing.T) {
	g := newGateway(t)
	c := dialRaw(t, g, messagesHead(clientKey, "100"), `{"model":`)
	c.Close() // whether the handler is reading the body yet or not, it gets an unexpected EOF
	if got := requestLog(t, g)["status"]; got != float64(499) {
		t.Errorf("logged status %v, want 499", got)
	}
}

// TestDrainKeepsListenerUp: during a drain /readyz answers 503 and new API
// requests get 503 with retry-after, while a stream in flight finishes.
func TestDrainKeepsListenerUp(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.ShutdownTimeout = 10 * time.Second })
	release := make(chan struct{})
	streamFirstEventThenHold(t, g, func(r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/messages", strings.NewReader(streamBody))
	req.Header.Set("X-Api-Key", clientKey)
	resp, err := g.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- g.stop() }()

	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer fresh.CloseIdleConnections()
	var ready *http.Response
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		ready, err = fresh.Get(g.URL + "/readyz")
		if err != nil {
			t.Fatalf("readyz during the drain: %v (the listener must stay up)", err)
		}
		ready.Body.Close()
		if ready.StatusCode == http.StatusServiceUnavailable || time.Now().After(deadline) {
			break
		}
	}
	if ready.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz during the drain: %d, want 503", ready.StatusCode)
	}
	t.Logf("RESULT during the drain: readyz %d", ready.StatusCode)
	req, _ = http.NewRequest(http.MethodPost, g.URL+"/v1/messages", strings.NewReader(streamBody))
	req.Header.Set("X-Api-Key", clientKey)
	refused, err := fresh.Do(req)
	if err != nil {
		t.Fatalf("a new request during the drain: %v", err)
	}
	b, _ := io.ReadAll(refused.Body)
	refused.Body.Close()
	if refused.StatusCode != http.StatusServiceUnavailable || refused.Header.Get("Retry-After") == "" || errorType(t, b) != "api_error" {
		t.Errorf("a new request during the drain: %d retry-after=%q %s, want 503 with retry-after", refused.StatusCode, refused.Header.Get("Retry-After"), b)
	}
	close(release)
	rest, err := io.ReadAll(br)
	if err != nil || !strings.Contains(string(rest), "event: message_stop") {
		t.Errorf("the stream in flight did not finish: %v %q", err, rest)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return once the drain was over")
	}
}

// TestGraceEndCutsStreamsWithAnError: a stream still running when
// shutdown_timeout ends gets an error event in its client's format.
func TestGraceEndCutsStreamsWithAnError(t *testing.T) {
	for _, c := range []struct {
		name, path, body, want string
	}{
		{"anthropic", "/v1/messages", streamBody, `event: error` + "\n" + `data: {"type":"error","error":{"type":"overloaded_error"`},
		{"openai", "/v1/chat/completions", `{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, `data: {"error":{`},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newGateway(t, func(c *config.Config) { c.ShutdownTimeout = 300 * time.Millisecond })
			streamFirstEventThenHold(t, g, holdUntilGone)
			req, _ := http.NewRequest(http.MethodPost, g.URL+c.path, strings.NewReader(c.body))
			req.Header.Set("X-Api-Key", clientKey)
			resp, err := g.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			if _, err := br.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
			stopped := make(chan error, 1)
			start := time.Now()
			go func() { stopped <- g.stop() }()
			rest, _ := io.ReadAll(br)
			t.Logf("RESULT %s stream at the end of a 300ms grace: error event and end after %v", c.name, time.Since(start).Round(time.Millisecond))
			if !strings.Contains(string(rest), c.want) {
				t.Errorf("stream cut at the end of the grace period without an error event: %q", rest)
			}
			select {
			case <-stopped:
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after the grace period")
			}
		})
	}
}

// TestIdleErrorReachesClientAfterLongSilence: the idle-timeout error event
// gets a write deadline of its own, however long the upstream was silent
// (it was lost when the silence outlasted the write timeout).
func TestIdleErrorReachesClientAfterLongSilence(t *testing.T) {
	g := newGatewayOpts(t, Options{writeTimeout: 200 * time.Millisecond}, func(c *config.Config) {
		c.Providers[0].Timeouts.StreamIdle = 700 * time.Millisecond
	})
	streamFirstEventThenHold(t, g, holdUntilGone)
	start := time.Now()
	_, got := g.rawPost(t, "/v1/messages", streamBody, nil)
	if !strings.Contains(string(got), "event: error") || !strings.Contains(string(got), "stalled") {
		t.Errorf("no stall error event after a silence longer than the write timeout: %q", got)
	}
	t.Logf("RESULT stream silent past the write timeout (200ms) and stream_idle (700ms): error event after %v", time.Since(start).Round(time.Millisecond))
	var line map[string]any
	if line = requestLog(t, g); line["stream_error"] == nil {
		t.Errorf("log line without the stream error: %v", line)
	}
	if _, err := json.Marshal(line); err != nil {
		t.Fatal(err)
	}
}

// TestShutdownSDKView: what the official SDK sees of a shutdown: a new
// request during the drain is a 503 api_error, and a stream the grace
// period ends is an overloaded_error, not a stream that just stops.
func TestShutdownSDKView(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.ShutdownTimeout = 500 * time.Millisecond })
	streamFirstEventThenHold(t, g, holdUntilGone)
	c := g.client()
	params := anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}
	stream := c.Messages.NewStreaming(context.Background(), params)
	defer stream.Close()
	if !stream.Next() {
		t.Fatalf("no first event: %v", stream.Err())
	}
	go g.stop()
	for deadline := time.Now().Add(2 * time.Second); !g.App.current().server.Draining(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the gateway did not start draining")
		}
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	fresh := g.client(option.WithHTTPClient(&http.Client{Transport: tr}))
	_, err := fresh.Messages.New(context.Background(), params)
	assertAPIError(t, err, http.StatusServiceUnavailable, "api_error")
	for stream.Next() {
	}
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "overloaded_error") {
		t.Errorf("the SDK's stream at the end of the grace period: %v, want an overloaded_error", err)
	}
}

// TestGraceEndBeforeFirstByte: a stream still waiting for its upstream's
// headers when the grace period ends gets a 503 with retry-after.
func TestGraceEndBeforeFirstByte(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		holdUntilGone(r)
	}))
	t.Cleanup(up.Close)
	g := newGateway(t, func(c *config.Config) {
		c.Providers[0].BaseURLs = []string{up.URL}
		c.ShutdownTimeout = 300 * time.Millisecond
	})
	answered := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/messages", strings.NewReader(streamBody))
		req.Header.Set("X-Api-Key", clientKey)
		resp, err := g.HTTP.Do(req)
		if err != nil {
			t.Errorf("no answer: %v", err)
			resp = nil
		}
		answered <- resp
	}()
	for deadline := time.Now().Add(2 * time.Second); gaugeValue(t, g.App.metrics.InFlight) < 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the request never arrived")
		}
	}
	go g.stop()
	select {
	case resp := <-answered:
		if resp == nil {
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || errorType(t, b) != "api_error" {
			t.Errorf("got %d retry-after=%q %s, want 503 with retry-after", resp.StatusCode, resp.Header.Get("Retry-After"), b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer after the grace period")
	}
}
