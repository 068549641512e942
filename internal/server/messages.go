package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/openai"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/relay"
	"github.com/ferrygw/ferry/internal/sse"
)

// messages serves /v1/messages and /v1/messages/count_tokens.
func (s *Server) messages(x *exchange, r *http.Request, op provider.Op) {
	body, err := s.readBody(x, r)
	if err != nil {
		s.fail(x, err)
		return
	}
	s.forward(x, r, op, body, nil)
}

// chatCompletions serves /v1/chat/completions for OpenAI clients, on any
// route: OpenAI-compatible upstreams take the body as it is, Anthropic-format
// ones get it translated (in the relay).
func (s *Server) chatCompletions(x *exchange, r *http.Request) {
	x.format = provider.FormatOpenAI
	body, err := s.readBody(x, r)
	if err != nil {
		s.fail(x, err)
		return
	}
	s.forward(x, r, provider.OpMessages, body, nil)
}

// complete serves the legacy Text Completions API, translated to and from
// the Messages API so that it works on any route.
func (s *Server) complete(x *exchange, r *http.Request) {
	forwardLegacy(s, x, r, relay.FromComplete, func(c *relay.Complete) []byte { return c.Body })
}

// answerConverter turns the relay's answer into the client's format.
type answerConverter = func(*provider.Response) (*provider.Response, error)

// A legacyRequest is a legacy API's request made one the relay serves
// (relay.FromComplete, relay.FromOpenAICompletion).
type legacyRequest interface {
	Answer(*provider.Response) (*provider.Response, error)
}

// forwardLegacy serves a legacy API: the body made the request body(c)
// by from (an error is the client's), the answer converted back by c.
func forwardLegacy[C legacyRequest](s *Server, x *exchange, r *http.Request, from func([]byte) (C, error), body func(C) []byte) {
	raw, err := s.readBody(x, r)
	if err != nil {
		s.fail(x, err)
		return
	}
	c, err := from(raw)
	if err != nil {
		s.fail(x, err)
		return
	}
	s.forward(x, r, provider.OpMessages, body(c), c.Answer)
}

// forward inspects a body, relays it and writes the answer. convert, when
// set, turns the relay's answer into the client's format.
func (s *Server) forward(x *exchange, r *http.Request, op provider.Op, body []byte, convert answerConverter) {
	peek, err := anthropic.Inspect(body)
	if err != nil {
		s.fail(x, apierr.Wrap(apierr.InvalidRequest, err, err.Error()))
		return
	}
	if op == provider.OpCountTokens {
		peek.Stream = false
	}
	x.model, x.stream = peek.Model, peek.Stream
	x.rt, _ = s.relay.Lookup(peek.Model) // once: the limiter, the cache and the relay use it
	s.readTag(x, r)
	if x.ident != nil {
		if err := x.ident.AllowModel(peek.Model); err != nil {
			s.fail(x, err)
			return
		}
	}
	_, sp := s.tracer.Start(r.Context(), "ferry.ratelimit")
	lt, ok := s.admit(x, r, op, peek, len(body))
	sp.End()
	if !ok {
		return
	}
	defer s.settle(x, r, &lt)
	ut, ok := s.reserveUsage(x, r, op, peek, len(body))
	defer s.finishUsage(x, r, ut, body)
	if !ok {
		return
	}
	format := x.format
	if s.guards != nil {
		g, ok := s.guardRequest(x, r, op, guardedRequest{body: body, peek: peek, format: format, convert: convert})
		if !ok {
			return
		}
		body, peek, format, convert = g.body, g.peek, g.format, g.convert
	}
	if s.tracedCacheServe(x, r, op, body, peek) {
		return
	}
	if peek.Stream {
		// A stream can outlive the grace period; Stop ends it with an
		// error event. (A whole answer is bounded by its deadline.)
		var release func()
		r, release = s.stoppable(r)
		defer release()
	}
	t0 := time.Now()
	res, err := s.relayDo(x, r, &relay.Request{
		Op:      op,
		Format:  format,
		Body:    body,
		Peek:    peek,
		Header:  r.Header,
		Query:   forwardQuery(r.URL.RawQuery),
		KeyName: x.key,
		Route:   x.rt,
	})
	x.waited(t0)
	if res != nil {
		x.route, x.attempts = res.Route, res.Attempts
		for _, a := range res.Attempts {
			if a.Err != nil {
				s.m.UpstreamErrors.WithLabelValues(a.Provider, provider.Reason(a.Err)).Inc()
			}
		}
		if len(res.Attempts) > 0 {
			// Every attempt, those refused before a node was called
			// included (provider@-:no_available_node in the access log).
			x.Header()["X-Ferry-Attempts"] = x.hdr(count(len(res.Attempts)))
		}
	}
	if err == nil && x.guard != nil {
		if err = s.guardAnswer(x, res.Response); err != nil {
			res.Close()
		}
	}
	if err == nil && convert != nil {
		var resp *provider.Response
		if resp, err = convert(res.Response); err != nil {
			res.Close()
			err = apierr.Wrap(apierr.BadGateway, err, "upstream answer could not be translated")
		} else {
			res.Response = resp
		}
	}
	if err != nil {
		if res != nil && len(res.Attempts) > 0 {
			x.provider = res.Attempts[len(res.Attempts)-1].Provider
		}
		switch {
		case cutByShutdown(r):
			err = shutdownError()
		case r.Context().Err() != nil:
			x.gone = true // nobody reads the answer: logged as 499
		}
		s.fail(x, err)
		return
	}
	defer res.Close()
	x.provider, x.node, x.upstreamModel = res.Provider, res.Node, res.Model
	if res.Note != nil {
		x.note = res.Note
		s.m.UpstreamErrors.WithLabelValues(res.Provider, "answer_problem").Inc()
	}
	s.m.FirstByte.WithLabelValues(res.Provider).Observe(time.Since(x.start).Seconds())
	h := x.Header()
	for k, v := range res.Header {
		h[k] = v
	}
	s.rateHeaders(x, &lt) // ours again, over an upstream's own
	h["X-Ferry-Provider"] = x.hdr(res.Provider)
	h["X-Ferry-Node"] = x.hdr(res.Node)
	if res.Status >= 400 && res.Status < 500 && res.Status != http.StatusRequestTimeout &&
		res.Status != http.StatusConflict && res.Status != http.StatusTooManyRequests {
		// The same request would fail the same way: say so, or the SDKs
		// (and Claude Code) retry it. PROTOCOL.md §7.
		h["X-Should-Retry"] = []string{"false"}
	}
	if res.Events != nil {
		s.relayStream(x, r, res)
		return
	}
	s.relayBody(x, res)
}

// count is strconv.Itoa without an allocation for the usual 1 to 9.
func count(n int) string {
	if n > 0 && n < 10 {
		return "123456789"[n-1 : n]
	}
	return strconv.Itoa(n)
}

// readAnswer returns a whole answer's bytes, valid until the body is
// closed and release is called. The
// relay reads a non-streaming answer whole already (to check it): its
// bytes are used as they are, not copied again, and checked says so
// (provider.WholeBody: valid JSON).
func (s *Server) readAnswer(body io.Reader) (b []byte, checked bool, release func(), err error) {
	if w, ok := body.(provider.WholeBody); ok {
		if b := w.Whole(); b != nil && int64(len(b)) <= s.maxResp {
			return b, true, func() {}, nil
		}
	}
	bp := s.getBuf()
	b, _, err = provider.ReadBounded(body, *bp, s.maxResp)
	if b != nil {
		*bp = b[:0]
	}
	if errors.Is(err, provider.ErrTooLarge) {
		err = apierr.Wrap(apierr.BadGateway, err, fmt.Sprintf("upstream answer too large: over %d bytes", s.maxResp))
	}
	return b, false, func() {
		if cap(*bp) <= 1<<20 { // a rare huge answer's buffer is left to the GC
			s.bufs.Put(bp)
		}
	}, err
}

// forwardQuery keeps only the query the SDKs send on purpose: beta=true.
// Everything else is the gateway's business, not the upstream's.
func forwardQuery(q string) string {
	if q == "" {
		return ""
	}
	if q == "beta=true" {
		return q
	}
	for _, part := range strings.Split(q, "&") {
		if part == "beta=true" {
			return part
		}
	}
	return ""
}

// startBody is the most a request body gets before its bytes arrive: a
// declared Content-Length is a claim, not bytes (twenty connections
// declaring 32 MiB and sending one byte held 676 MB when it was trusted).
const startBody = 64 << 10

// readBody reads the request body whole, bounded in size by the configured
// limit and in time by the body timeout. A declared length over the limit
// is refused before reading a byte; memory grows only as bytes arrive.
func (s *Server) readBody(x *exchange, r *http.Request) ([]byte, error) {
	if r.ContentLength > s.maxReq {
		s.dropBody(x, r)
		return nil, tooLarge(r.ContentLength, s.maxReq)
	}
	var start []byte
	if r.ContentLength >= 0 {
		// One byte of room past the body lets the read see its end
		// without another block.
		start = make([]byte, 0, min(r.ContentLength+1, startBody))
	}
	x.rc.SetReadDeadline(time.Now().Add(s.bodyTimeout))
	body, n, err := provider.ReadBounded(r.Body, start, s.maxReq)
	x.bytesIn = n
	if err == nil {
		// The deadline was the body's; from here the connection's own
		// rules apply (its read deadline also ends the request's
		// context).
		x.rc.SetReadDeadline(time.Time{})
		return body, nil
	}
	s.dropBody(x, r)
	switch {
	case errors.Is(err, provider.ErrTooLarge):
		return nil, tooLarge(-1, s.maxReq)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, apierr.Wrap(apierr.RequestTimeout, err, fmt.Sprintf("The request body did not arrive within %s.", s.bodyTimeout))
	}
	if r.Context().Err() != nil {
		x.gone = true // the client hung up half-way
	}
	return nil, apierr.Wrap(apierr.InvalidRequest, err, "could not read the request body")
}

// dropBody gives up on the rest of a request body: the answer closes the
// connection, and the server's own reading of what is left (to reuse the
// connection) ends at once instead of waiting on a slow client.
func (s *Server) dropBody(x *exchange, r *http.Request) {
	if r.ContentLength == 0 {
		return
	}
	x.Header()["Connection"] = []string{"close"}
	x.rc.SetReadDeadline(time.Now())
}

// relayBody copies a JSON answer (success or error) to the client as is,
// reading its usage on the way for the access log.
func (s *Server) relayBody(x *exchange, res *relay.Result) {
	t0 := time.Now()
	b, checked, release, err := s.readAnswer(res.Body)
	x.waited(t0)
	defer release()
	if err != nil {
		var ae *apierr.Error // a classified failure (the deadline: 504) keeps its kind
		if !errors.As(err, &ae) {
			ae = apierr.Wrap(apierr.BadGateway, err, "upstream answer could not be read")
		}
		s.fail(x, ae)
		return
	}
	switch {
	case res.Usage != nil:
		x.usage, x.usageSeen = *res.Usage, true
		s.countTokens(x)
	case res.Status == http.StatusOK:
		s.sniffBodyUsage(x, b, checked)
	}
	h := x.Header()
	if len(h["Content-Type"]) == 0 {
		h["Content-Type"] = x.hdr("application/json")
	}
	h["Content-Length"] = x.hdr(strconv.Itoa(len(b)))
	x.WriteHeader(res.Status) // with the write deadline
	x.Write(b)
}

func (s *Server) getBuf() *[]byte {
	if v := s.bufs.Get(); v != nil {
		return v.(*[]byte)
	}
	b := make([]byte, 0, 16<<10)
	return &b
}

// sniffBodyUsage reads "usage" from a Message without decoding the rest.
// checked: b is known to be valid JSON (readAnswer), so the member is
// found by skimming rather than by validating the bytes before it.
func (s *Server) sniffBodyUsage(x *exchange, b []byte, checked bool) {
	member, merge := jsonpeek.Member, anthropic.MergeUsage
	if checked {
		member = jsonpeek.SkimMember
	}
	if x.format == provider.FormatOpenAI {
		merge = openai.MergeUsage
	}
	if u := member(b, "usage"); u != nil && merge(u, &x.usage) {
		x.usageSeen = true
		s.countTokens(x)
		return
	}
	if s.usage != nil {
		x.answerText = answerText(x.format, b) // the ledger counts it (usage.go)
	}
}

func (s *Server) countTokens(x *exchange) {
	model, tag := s.labels(x)
	if x.usage.Input > 0 {
		s.m.Tokens.WithLabelValues(x.provider, model, tag, "input").Add(float64(x.usage.Input))
	}
	if x.usage.Output > 0 {
		s.m.Tokens.WithLabelValues(x.provider, model, tag, "output").Add(float64(x.usage.Output))
	}
	if x.usage.CacheRead > 0 {
		s.m.Tokens.WithLabelValues(x.provider, model, tag, "cache_read").Add(float64(x.usage.CacheRead))
	}
	if x.usage.CacheCreation > 0 {
		s.m.Tokens.WithLabelValues(x.provider, model, tag, "cache_creation").Add(float64(x.usage.CacheCreation))
	}
}

// relayStream copies an event stream to the client event by event, flushing
// when no further event is at hand (provider.Stream's Ready). After the status is sent nothing can change it: a
// broken upstream stream ends with an error event in the client's format,
// never a silent truncation the client might take for a complete answer.
func (s *Server) relayStream(x *exchange, r *http.Request, res *relay.Result) {
	s.m.StreamsInFlight.Inc()
	defer s.m.StreamsInFlight.Dec()
	h := x.Header()
	h["Content-Type"] = x.hdr("text/event-stream; charset=utf-8")
	h["Cache-Control"] = x.hdr("no-cache")
	h["X-Accel-Buffering"] = x.hdr("no") // tell nginx-style proxies not to buffer
	delete(h, "Content-Length")
	x.WriteHeader(http.StatusOK)
	// The status goes at once, unless an event is at hand to carry it in
	// the same write (the upstream sent its first events with its header).
	if !res.Events.Ready() {
		if err := x.rc.Flush(); err != nil {
			x.streamErr, x.gone = err, true
			return
		}
	}
	// From the relay, io.EOF is a clean end: a stream cut before its end
	// marker is an error (provider.ErrTruncated), and its usage, note and
	// fault are the stream's own to say (provider.Stream).
	openaiFormat := x.format == provider.FormatOpenAI
	var deadline time.Time
	unflushed := false // the last event written waits for the next one, at hand
	for {
		t0 := time.Now()
		ev, err := res.Events.Next()
		x.waited(t0)
		if err == io.EOF {
			break
		}
		if err != nil {
			s.streamBroke(x, r, res.Provider, err)
			break
		}
		// Refresh the write deadline at most once a second: cheap, and
		// enough to drop a client that stopped reading.
		if now := time.Now(); now.After(deadline) {
			deadline = now.Add(time.Second)
			x.rc.SetWriteDeadline(now.Add(s.writeTimeout))
		}
		if _, err := x.Write(ev.Raw); err != nil {
			x.streamErr, x.gone = errClientGone, true
			break
		}
		x.relayed.add(ev.Name, ev.Data, openaiFormat)
		// Done with ev: Ready may read on. Events the upstream sent in one
		// read go out in one write; one not followed by another at hand is
		// flushed at once, so no event waits for the next.
		unflushed = res.Events.Ready()
		if !unflushed {
			if err := x.rc.Flush(); err != nil {
				x.streamErr, x.gone = errClientGone, true
				break
			}
		}
		if x.firstToken == 0 && x.relayed.narrow+x.relayed.wide > 0 {
			x.firstToken = time.Since(x.start)
		}
	}
	if unflushed && !x.gone {
		x.rc.Flush() // the end came at once: an error event flushed its own
	}
	if t, seen := res.Events.Usage(); seen {
		x.usage, x.usageSeen = t, true
	}
	if err := res.Events.Fault(); err != nil && x.streamErr == nil {
		x.streamErr = err
	}
	if err := res.Events.Note(); err != nil && x.note == nil {
		x.note = err
		s.m.UpstreamErrors.WithLabelValues(res.Provider, "answer_problem").Inc()
	}
	if x.usageSeen {
		s.countTokens(x)
	}
}

// streamBroke ends a stream whose upstream failed after the status was
// sent: an error event for the client, unless it left.
func (s *Server) streamBroke(x *exchange, r *http.Request, prov string, err error) {
	switch {
	case cutByShutdown(r):
		x.streamErr = errShutdown
		s.writeStreamError(x, err)
	case r.Context().Err() != nil:
		x.streamErr, x.gone = errClientGone, true
	default:
		x.streamErr = err
		reason := provider.Reason(err)
		s.m.StreamBreaks.WithLabelValues(prov, reason).Inc()
		s.m.UpstreamErrors.WithLabelValues(prov, reason).Inc()
		s.writeStreamError(x, err)
	}
}

// writeStreamError ends a stream with an Anthropic error event. Claude Code
// re-sends the request when it sees one.
func (s *Server) writeStreamError(x *exchange, err error) {
	e := apierr.From(err)
	// The event's Anthropic type is api_error whatever broke the stream,
	// overloaded_error on shutdown; OpenAI clients get the kind's type.
	typ, msg := apierr.Internal, "upstream stream broke: "+e.Public
	switch {
	case x.streamErr == errShutdown:
		e = &apierr.Error{Kind: apierr.Overloaded}
		typ, msg = e.Kind, "Ferry is shutting down and its grace period ended before the stream did; retry the request."
	case e.Kind == apierr.Internal:
		msg = "upstream stream broke"
	case e.Kind == apierr.GatewayTimeout:
		msg = "upstream stream stalled: " + e.Public
	}
	var frame []byte
	if x.format == provider.FormatOpenAI {
		// The OpenAI SDKs throw on a chunk that carries an error.
		frame = append(frame, "data: "...)
		frame = apierr.AppendBody(frame, apierr.OpenAI, e.Kind, msg, "")
		frame = append(frame, "\n\n"...)
	} else {
		frame = sse.AppendEvent(frame, "error", apierr.AppendBody(nil, apierr.Anthropic, typ, msg, x.id))
	}
	// The last write may be long past (an upstream silent for minutes):
	// the event gets a fresh deadline of its own.
	x.rc.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	x.Write(frame)
	x.rc.Flush()
}
