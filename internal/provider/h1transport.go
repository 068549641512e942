package provider

// H1Transport: the HTTP/1.1 round trips to plain-HTTP upstreams, with
// valyala/fasthttp as the codec and a connection pool of our own.
//
// Why not net/http's Transport for these: measured on a loopback mock, one
// small POST round trip cost 21-23 µs of CPU through it (a read-loop and a
// write-loop goroutine per connection, channel hand-offs between them and
// the caller, per-request allocations) against 6-8 µs with fasthttp's own
// client. fasthttp's clients take no context, though, and a provider's
// attempt is cancelled through its context (the idle guard's first-byte
// and idle timers, the client going away), so the pool, the dial and the
// cancellation here are ours and fasthttp only writes the request header
// and parses the response. Figures: BenchmarkTransportRoundTrip.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ferrygw/ferry/internal/config"
)

// H1Transport is an http.RoundTripper for http:// URLs only, speaking
// HTTP/1.1 over pooled connections. It follows net/http's Transport where
// a provider can tell: the request leaves as net/http would write it (a
// User-Agent of Go-http-client/1.1 when none is set, no Accept-Encoding),
// the response body streams as the upstream flushed it, a cancelled
// context ends the round trip or the body read with context.Cause, a
// connection goes back to the pool only once its body was read to the
// end, and a request is retried on a fresh connection only when net/http
// would retry it.
type H1Transport struct {
	// DialContext opens a connection; its failure must be marked as a
	// connectError (NewH1Transport's is).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxIdleConns bounds the idle connections, per host and in all.
	MaxIdleConns int
	// IdleConnTimeout closes a connection idle for longer.
	IdleConnTimeout time.Duration

	mu    sync.Mutex
	idle  map[string][]*h1Conn // per host:port, the most recently used last
	nidle int
}

// NewH1Transport builds the plain-HTTP transport with the dialer and the
// pool bounds of NewTransport.
func NewH1Transport(t config.Timeouts) *H1Transport {
	return &H1Transport{
		DialContext:     dialer(t),
		MaxIdleConns:    maxIdleConns,
		IdleConnTimeout: idleConnTimeout,
	}
}

// Buffer sizes of a connection. The write buffer is net/http's: a request
// whose headers and body fit it leaves in one write. The read buffer holds
// the whole response header block (fasthttp parses it in place); 16 KB is
// several times the largest provider answer's headers seen (rate-limit and
// CDN headers included).
const (
	h1WriteBuffer = 4 << 10
	h1ReadBuffer  = 16 << 10
)

// userAgent is what net/http's Transport sends when a request sets none:
// an upstream sees the same request whichever transport sent it.
const userAgent = "Go-http-client/1.1"

// longAgo is a deadline in the past: the connection's pending I/O returns
// at once.
var longAgo = time.Unix(1, 0)

var (
	errH1Scheme     = errors.New("provider: H1Transport serves http:// URLs only")
	errBodyClosed   = errors.New("http: read on closed response body")
	errBodyLength   = errors.New("http: ContentLength differs from the body's length")
	errServerClosed = errors.New("provider: reused connection closed by the upstream before answering")
)

// h1Conn is one pooled connection.
type h1Conn struct {
	t      *H1Transport
	addr   string
	conn   net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	raw    syscall.RawConn // nil when conn is not a socket (a test's wrapper)
	reused bool            // it carried a request before this one
	timer  *time.Timer     // closes it after IdleConnTimeout in the pool
	nwrite int64           // bytes written to conn
	hdr    fasthttp.RequestHeader
	// Built once per connection rather than per request: the peek of
	// alive, the cancel of a round trip.
	peekFn   func(fd uintptr) bool
	peekOpen bool
	cancelFn func()
}

// Write counts what reaches the connection, for the retry rule.
func (pc *h1Conn) Write(p []byte) (int, error) {
	n, err := pc.conn.Write(p)
	pc.nwrite += int64(n)
	return n, err
}

// cancelIO closes the connection: the round trip's context was cancelled.
// Pending I/O returns at once, and the upstream sees the request abandoned
// (as net/http shows it), which a deadline alone would not tell it.
func (pc *h1Conn) cancelIO() { pc.conn.Close() }

// RoundTrip sends req on a pooled connection, or a new one, and returns
// the answer once its headers are read; the body streams from the
// connection. It always closes req.Body.
func (t *H1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	defer closeBody(req)
	if req.URL == nil || req.URL.Scheme != "http" {
		return nil, errH1Scheme
	}
	body, err := requestBody(req)
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	addr := hostPort(req)
	for retried := false; ; retried = true {
		pc, err := t.conn(ctx, addr)
		if err != nil {
			return nil, err
		}
		resp, wrote, err := pc.roundTrip(req, body)
		if err == nil {
			return resp, nil
		}
		if retried || !pc.reused || !retryable(req, wrote, err) || ctx.Err() != nil {
			return nil, err
		}
		// The upstream closed the idle connection as it was reused: the
		// request did not reach it, or may safely reach it twice.
		if body != nil {
			rc, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			body = rc
		}
	}
}

// requestBody is req's body to send: req.Body as it is when its length is
// known (the providers' bytes.Reader), else read whole, so that the
// request always carries a Content-Length. A request without a body gets
// nil.
func requestBody(req *http.Request) (io.Reader, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.ContentLength > 0 {
		return req.Body, nil
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = int64(len(b))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return bytes.NewReader(b), nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// retryable is net/http's rule (persistConn.shouldRetryRequest) for a
// request that failed on a reused connection: again when nothing of it was
// written and it can be written again; when it was written and the
// connection ended before any answer, only if the request is replayable
// (no body or GetBody, and an idempotent method or an Idempotency-Key):
// a provider's POST that may have reached the upstream is never sent
// twice behind the relay's back.
func retryable(req *http.Request, wrote bool, err error) bool {
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if !wrote {
		return replayable
	}
	if !errors.Is(err, errServerClosed) || !replayable {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, k1 := req.Header["Idempotency-Key"]
	_, k2 := req.Header["X-Idempotency-Key"]
	return k1 || k2
}

// hostPort is the pool key and dial address of req: host:port.
func hostPort(req *http.Request) string {
	if req.URL.Port() != "" {
		return req.URL.Host
	}
	return net.JoinHostPort(req.URL.Hostname(), "80")
}

// conn returns an idle connection to addr still open, else dials one.
func (t *H1Transport) conn(ctx context.Context, addr string) (*h1Conn, error) {
	for {
		pc := t.getIdle(addr)
		if pc == nil {
			break
		}
		if pc.alive() {
			return pc, nil
		}
		pc.conn.Close()
	}
	c, err := t.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	pc := &h1Conn{t: t, addr: addr, conn: c, br: bufio.NewReaderSize(c, h1ReadBuffer)}
	pc.bw = bufio.NewWriterSize(pc, h1WriteBuffer)
	pc.cancelFn = pc.cancelIO
	if sc, ok := c.(syscall.Conn); ok {
		pc.raw, _ = sc.SyscallConn()
		pc.peekFn = pc.peek
	}
	return pc, nil
}

// getIdle takes the most recently used idle connection to addr.
func (t *H1Transport) getIdle(addr string) *h1Conn {
	t.mu.Lock()
	list := t.idle[addr]
	if len(list) == 0 {
		t.mu.Unlock()
		return nil
	}
	pc := list[len(list)-1]
	list[len(list)-1] = nil
	t.idle[addr] = list[:len(list)-1]
	t.nidle--
	t.mu.Unlock()
	pc.timer.Stop() // if it fires anyway, it finds pc out of the pool
	return pc
}

// putIdle pools pc, or closes it when the pool is full.
func (t *H1Transport) putIdle(pc *h1Conn) {
	pc.reused = true
	t.mu.Lock()
	if t.nidle >= t.MaxIdleConns || len(t.idle[pc.addr]) >= t.MaxIdleConns {
		t.mu.Unlock()
		pc.conn.Close()
		return
	}
	if t.idle == nil {
		t.idle = make(map[string][]*h1Conn)
	}
	t.idle[pc.addr] = append(t.idle[pc.addr], pc)
	t.nidle++
	if pc.timer == nil {
		pc.timer = time.AfterFunc(t.IdleConnTimeout, pc.expire)
	} else {
		pc.timer.Reset(t.IdleConnTimeout)
	}
	t.mu.Unlock()
}

// expire closes pc, idle for IdleConnTimeout, unless it left the pool
// meanwhile.
func (pc *h1Conn) expire() {
	if pc.t.removeIdle(pc) {
		pc.conn.Close()
	}
}

func (t *H1Transport) removeIdle(pc *h1Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.idle[pc.addr]
	for i, c := range list {
		if c == pc {
			copy(list[i:], list[i+1:])
			list[len(list)-1] = nil
			t.idle[pc.addr] = list[:len(list)-1]
			t.nidle--
			return true
		}
	}
	return false
}

// CloseIdleConnections closes the pooled connections.
func (t *H1Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle, t.nidle = nil, 0
	t.mu.Unlock()
	for _, list := range idle {
		for _, pc := range list {
			pc.timer.Stop()
			pc.conn.Close()
		}
	}
}

// alive reports whether an idle connection is still open: one
// non-blocking peek, which sees the upstream's FIN or reset (its own idle
// timeout closed it) without consuming anything. net/http learns the same
// from the read loop it keeps on every connection; a connection closed
// between this peek and the write is the retry's case.
func (pc *h1Conn) alive() bool {
	if pc.raw == nil {
		return true
	}
	err := pc.raw.Read(pc.peekFn)
	return err == nil && pc.peekOpen
}

func (pc *h1Conn) peek(fd uintptr) bool {
	pc.peekOpen = peekOpen(fd)
	return true
}

// roundTrip writes req with body on pc and reads the answer's header.
// wrote says whether any of the request left (for the retry rule). On
// failure pc is closed.
func (pc *h1Conn) roundTrip(req *http.Request, body io.Reader) (resp *http.Response, wrote bool, err error) {
	ctx := req.Context()
	stop := context.AfterFunc(ctx, pc.cancelFn)
	fail := func(err error) (*http.Response, bool, error) {
		stop()
		pc.conn.Close()
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return nil, wrote, err
	}
	start := pc.nwrite
	err = pc.writeRequest(req, body)
	wrote = pc.nwrite > start
	if err != nil {
		return fail(err)
	}
	// Whether any answer came is told apart from the header's parsing:
	// fasthttp reports every failure before the first byte as io.EOF.
	if _, err := pc.br.Peek(1); err != nil {
		if pc.reused && (err == io.EOF || errors.Is(err, syscall.ECONNRESET)) {
			err = fmt.Errorf("%w: %w", errServerClosed, err)
		}
		return fail(err)
	}
	fr := fasthttp.AcquireResponse()
	fr.StreamBody = true
	fr.Header.SetNoDefaultContentType(true) // an answer without one has none, as net/http reads it
	fr.SkipBody = req.Method == http.MethodHead
	if err := readAnswer(pc.br, fr); err != nil {
		fasthttp.ReleaseResponse(fr)
		return fail(err)
	}
	return pc.response(req, fr, stop), wrote, nil
}

// writeRequest writes req's header, as net/http would, and body, then
// flushes: one write when both fit the write buffer.
func (pc *h1Conn) writeRequest(req *http.Request, body io.Reader) error {
	h := &pc.hdr // reused: its buffers are allocated once per connection
	h.Reset()
	h.DisableNormalizing() // the names leave as the caller spelled them
	h.SetNoDefaultContentType(true)
	h.SetMethod(req.Method)
	h.SetRequestURI(req.URL.RequestURI())
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	h.SetHost(host)
	if _, ok := req.Header["User-Agent"]; !ok {
		h.SetUserAgent(userAgent)
	}
	for k, vs := range req.Header {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
			continue // net/http writes these from the request's fields
		}
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	if body != nil || methodWantsBody(req.Method) {
		h.SetContentLength(int(req.ContentLength))
	}
	if req.Close {
		h.SetConnectionClose()
	}
	err := h.Write(pc.bw)
	if err == nil && body != nil {
		var m int64
		m, err = io.Copy(pc.bw, body)
		if err == nil && m != req.ContentLength {
			err = errBodyLength
		}
	}
	if err == nil {
		err = pc.bw.Flush()
	}
	return err
}

// methodWantsBody: net/http sends Content-Length: 0 for these even with
// no body.
func methodWantsBody(m string) bool {
	return m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch
}

// response builds the *http.Response of fr, read from pc; its body owns
// fr, pc and stop.
func (pc *h1Conn) response(req *http.Request, fr *fasthttp.Response, stop func() bool) *http.Response {
	code := fr.StatusCode()
	proto, major, minor := "HTTP/1.1", 1, 1
	if !fr.Header.IsHTTP11() {
		proto, minor = "HTTP/1.0", 0
	}
	resp := &http.Response{
		Status:        statusLine(code, fr.Header.StatusMessage()),
		StatusCode:    code,
		Proto:         proto,
		ProtoMajor:    major,
		ProtoMinor:    minor,
		Header:        responseHeader(&fr.Header),
		ContentLength: int64(fr.Header.ContentLength()),
		Close:         fr.ConnectionClose(),
		Request:       req,
	}
	if resp.ContentLength < 0 {
		resp.ContentLength = -1
	}
	b := &h1Body{pc: pc, fr: fr, stop: stop, ctx: req.Context(), keep: !resp.Close && !req.Close && fr.Header.ContentLength() != -2}
	if fr.BodyStream() == nil || resp.ContentLength == 0 {
		// No body (HEAD, 204, 304, an empty one): the connection is free
		// already.
		resp.ContentLength = 0
		b.finish(b.keep)
		resp.Body = http.NoBody
		return resp
	}
	b.stream = fr.BodyStream()
	if fr.Header.ContentLength() == -1 {
		b.stream = newChunkedBody(pc.br) // fasthttp's stream is left unread
	}
	resp.Body = b
	return resp
}

// statusLine is net/http's Response.Status: "200 OK". The usual ones are
// built once.
func statusLine(code int, msg []byte) string {
	if code >= 100 && code < 600 && string(msg) == http.StatusText(code) {
		if s := statusLines[code-100]; s != "" {
			return s
		}
	}
	return strconv.Itoa(code) + " " + string(msg)
}

var statusLines = func() (s [500]string) {
	for i := range s {
		if t := http.StatusText(i + 100); t != "" {
			s[i] = strconv.Itoa(i+100) + " " + t
		}
	}
	return s
}()

// responseHeader copies h into an http.Header with canonical keys, as
// net/http's reader builds it: Transfer-Encoding is the body's framing,
// not a header. The values are substrings of one string, and the
// one-value slices share one backing array: three allocations besides
// the map, however many headers.
func responseHeader(h *fasthttp.ResponseHeader) http.Header {
	type value struct {
		key        string
		start, end int
	}
	var (
		spare [32]value
		text  [2048]byte
	)
	values, buf := spare[:0], text[:0]
	for k, v := range h.All() {
		key, ok := commonKeys[string(k)]
		if !ok {
			key = http.CanonicalHeaderKey(string(k))
		}
		if key == "Transfer-Encoding" {
			continue
		}
		values = append(values, value{key, len(buf), len(buf) + len(v)})
		buf = append(buf, v...)
	}
	all := string(buf)
	hdr := make(http.Header, len(values))
	vals := make([]string, 0, len(values))
	for _, e := range values {
		v := all[e.start:e.end]
		if old, ok := hdr[e.key]; ok {
			hdr[e.key] = append(old, v)
			continue
		}
		vals = append(vals, v)
		hdr[e.key] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	return hdr
}

// commonKeys are header names the providers' answers carry, canonical:
// looking one up costs no allocation, converting one would.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"Content-Type", "Content-Length", "Content-Encoding", "Date", "Server", "Connection",
		"Cache-Control", "Vary", "Via", "Set-Cookie", "Retry-After", "Request-Id", "X-Request-Id",
		"Cf-Ray", "Cf-Cache-Status", "Strict-Transport-Security", "X-Content-Type-Options",
		"Openai-Processing-Ms", "Openai-Version", "Openai-Organization", "X-Envoy-Upstream-Service-Time",
		"X-Ratelimit-Limit-Requests", "X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Requests",
		"X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Requests", "X-Ratelimit-Reset-Tokens",
		"Anthropic-Ratelimit-Requests-Limit", "Anthropic-Ratelimit-Requests-Remaining",
		"Anthropic-Ratelimit-Requests-Reset", "Anthropic-Ratelimit-Tokens-Limit",
		"Anthropic-Ratelimit-Tokens-Remaining", "Anthropic-Ratelimit-Tokens-Reset",
		"Anthropic-Ratelimit-Input-Tokens-Limit", "Anthropic-Ratelimit-Input-Tokens-Remaining",
		"Anthropic-Ratelimit-Input-Tokens-Reset", "Anthropic-Ratelimit-Output-Tokens-Limit",
		"Anthropic-Ratelimit-Output-Tokens-Remaining", "Anthropic-Ratelimit-Output-Tokens-Reset",
		"Anthropic-Organization-Id",
	} {
		m[k] = k
	}
	return m
}()

// h1Body is an answer's body streaming from its connection. Read and
// Close follow net/http's: Close may come while a Read blocks (it ends
// that Read), a Read after Close fails, and the connection is reused only
// when the body was read to its end.
type h1Body struct {
	ctx    context.Context
	stream io.Reader
	keep   bool // the connection may carry another request once the body ended

	mu      sync.Mutex
	pc      *h1Conn // nil once returned to the pool or closed
	fr      *fasthttp.Response
	stop    func() bool
	reading bool
	closed  bool
	eof     bool
	err     error // the read error that ended the body
}

func (b *h1Body) Read(p []byte) (int, error) {
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		return 0, errBodyClosed
	case b.eof:
		b.mu.Unlock()
		return 0, io.EOF
	case b.err != nil:
		b.mu.Unlock()
		return 0, b.err
	}
	b.reading = true
	b.mu.Unlock()

	n, err := b.stream.Read(p)

	b.mu.Lock()
	defer b.mu.Unlock()
	b.reading = false
	switch {
	case b.closed:
		b.finish(false)
		return n, errBodyClosed
	case err == io.EOF:
		b.eof = true
		b.finish(b.keep)
	case err != nil:
		if b.ctx.Err() != nil {
			err = context.Cause(b.ctx)
		}
		b.err = err
		b.finish(false)
	}
	return n, err
}

func (b *h1Body) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if b.reading {
		// The Read in progress returns now and finishes the body.
		b.pc.conn.SetReadDeadline(longAgo)
		return nil
	}
	b.finish(b.drained())
	return nil
}

// drainMax bounds what Close reads of a body's rest to keep its
// connection.
const drainMax = 4 << 10

// drained reads the rest of an unfinished body, when it has already
// arrived, without waiting on the network, and reports whether that was
// its end (the connection may then be reused). A stream reader stops at
// its end marker (an OpenAI stream's "data: [DONE]") and closes the body
// with the chunked encoding's last chunk still unread, though already in
// the buffer; net/http's chunked reader looks ahead for it and keeps the
// connection. Without this, every such stream would cost the next request
// a new connection (measured: +0.1 ms to a translated stream's first
// token on loopback). Called under b.mu, with no Read in progress.
func (b *h1Body) drained() bool {
	if !b.keep || b.pc == nil || b.err != nil {
		return false
	}
	if b.eof {
		return true
	}
	// A deadline in the past: what is buffered is read, the socket is not
	// waited on (a read that needs it fails at once).
	b.pc.conn.SetReadDeadline(longAgo)
	var scratch [512]byte
	for n := 0; n < drainMax; {
		m, err := b.stream.Read(scratch[:])
		n += m
		if err == io.EOF {
			b.eof = true
			b.pc.conn.SetReadDeadline(time.Time{})
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}

// finish ends the body's hold on its connection, pooling it when reuse is
// true and the context's cancel has not touched it; called under b.mu,
// once.
func (b *h1Body) finish(reuse bool) {
	pc := b.pc
	if pc == nil {
		return
	}
	b.pc = nil
	stopped := b.stop()
	fasthttp.ReleaseResponse(b.fr)
	b.fr = nil
	if reuse && stopped && pc.br.Buffered() == 0 {
		pc.t.putIdle(pc)
		return
	}
	pc.conn.Close()
}
