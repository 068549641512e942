package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/guard"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/relay"
	"github.com/ferrygw/ferry/internal/sse"
)

// The guardrails (internal/guard) on the request path. forward calls
// guardRequest after authentication and limits, on the request in
// Anthropic's format (an OpenAI client's is translated first, so that the
// guard sees every client's request the same way), and guardAnswer on the
// relay's Anthropic answer before it is translated back for the client.
// What the relay forwards, mirrors to a shadow and keys the cache with is
// the rewritten body.

// GuardSet gives the guard in force for a request. internal/app builds it
// from the config's guard sections and word files.
type GuardSet interface {
	// For returns the guard for a request on route (its match; "" for
	// none) with gateway key name key, whose traffic tag is read from h or
	// is the managed key's identTag; nil or inactive: none. scope names
	// the resolved policy, for the cache and coalescing keys.
	For(route, key string, h http.Header, identTag string) (g *guard.Guard, scope string)
}

// guardState is the guard's part in one request.
type guardState struct {
	g      *guard.Guard
	ps     *guard.Pseudonyms
	answer *guard.Answer // nil: the answer passes as it is
	scope  string
}

// guardRequest applies the request's guard. It returns the body, peek and
// format to relay and the answer's conversion (replaced for an OpenAI
// client, whose request is now Anthropic's); false when it answered the
// request itself (blocked, or untranslatable).
func (s *Server) guardRequest(x *exchange, r *http.Request, op provider.Op, in guardedRequest) (guardedRequest, bool) {
	route := ""
	if x.rt != nil {
		route = x.rt.Match
	}
	identTag := ""
	if x.ident != nil {
		identTag = x.ident.Tag
	}
	g, scope := s.guards.For(route, x.key, r.Header, identTag)
	if !g.Active() {
		return in, true
	}
	out := in
	if in.format == provider.FormatOpenAI {
		o, err := relay.FromOpenAI(in.body)
		if err != nil {
			s.fail(x, err)
			return in, false
		}
		out.body, out.format, out.convert = o.Body, provider.FormatAnthropic, o.Answer
	}
	body, res, err := g.Request(out.body)
	if err != nil {
		var be *guard.BlockedError
		if errors.As(err, &be) {
			s.guardCount(be.Category, string(guard.ActionBlock))
		}
		s.fail(x, err)
		return in, false
	}
	for k, n := range res.Tally {
		s.guardCount(k.Category, k.Action, n)
	}
	answer := g.Answer(res.Pseudonyms)
	unchanged := len(body) == len(out.body) && &body[0] == &out.body[0]
	if unchanged && answer == nil {
		// Nothing to change either way: the request goes as the client
		// sent it (an OpenAI client's too, byte for byte to an
		// OpenAI-compatible upstream).
		x.guard = &guardState{g: g, scope: scope}
		return in, true
	}
	if !unchanged || out.format != in.format {
		peek, err := anthropic.Inspect(body)
		if err != nil {
			s.fail(x, apierr.Wrap(apierr.Internal, fmt.Errorf("guard: rewritten request: %w", err), "the guard could not rewrite the request"))
			return in, false
		}
		if op == provider.OpCountTokens {
			peek.Stream = false
		}
		out.peek = peek
	}
	out.body = body
	x.guard = &guardState{g: g, ps: res.Pseudonyms, answer: answer, scope: scope}
	return out, true
}

// guardedRequest is what guardRequest may change of a request.
type guardedRequest struct {
	body    []byte
	peek    anthropic.Peek
	format  provider.Format // the relay's: Anthropic for a guarded OpenAI client
	convert func(*provider.Response) (*provider.Response, error)
}

// guardCount adds to ferry_guard_matches_total; n defaults to 1.
func (s *Server) guardCount(c guard.Category, action string, n ...int) {
	if s.guardM == nil {
		return
	}
	add := 1
	if len(n) > 0 {
		add = n[0]
	}
	s.guardM.Matches.WithLabelValues(string(c), action).Add(float64(add))
}

// guardAnswer runs the answer filter over the relay's Anthropic answer:
// placeholders restored, listed words masked or the answer ended with
// stop_reason "refusal". Error answers pass as they are.
func (s *Server) guardAnswer(x *exchange, resp *provider.Response) error {
	st := x.guard
	if st == nil || st.answer == nil {
		return nil
	}
	if resp.Events != nil {
		e := &guardedEvents{StreamBase: provider.StreamBase{Src: resp.Events}, a: st.answer, s: s}
		var src sse.Source = resp.Events
		if st.g.MayRefuse() {
			src = countedSource{src: resp.Events, text: &e.read} // only a refusal needs the count
		}
		e.src = st.answer.Source(src)
		resp.Events = e
		return nil
	}
	if resp.Status != http.StatusOK {
		return nil
	}
	old := resp.Body
	defer old.Close()       // after release: a whole answer's bytes may be the relay's until then
	resp.Body = http.NoBody // closed here, once, whatever happens
	b, _, release, err := s.readAnswer(old)
	defer release()
	if err != nil {
		return err
	}
	out, refused, masked, err := st.g.MessageCount(b, st.ps)
	if err != nil {
		return apierr.Wrap(apierr.BadGateway, err, "upstream answer could not be read")
	}
	if refused {
		s.guardCount(guard.Words, string(guard.WordsRefuse))
	}
	if masked > 0 {
		s.guardCount(guard.Words, string(guard.WordsMask), masked)
	}
	if len(out) == len(b) && (len(b) == 0 || &out[0] == &b[0]) {
		out = append([]byte(nil), b...) // b goes back to the pool
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.Header.Del("Content-Length")
	resp.Usage = nil
	var t anthropic.Totals
	if anthropic.MessageUsage(out, &t) {
		resp.Usage = &t
	}
	return nil
}

// guardedEvents is an answer stream through the guard's answer filter.
// Note and Fault stay the upstream stream's. After a refusal the upstream
// is no longer read, and its usage so far says output near zero though it
// generated what was read: the output is then at least the text read
// (estimated as relayed.go does), in the usage the ledger and limiter
// settle with and in the refusal's message_delta the client reads.
type guardedEvents struct {
	provider.StreamBase
	a       *guard.Answer
	src     sse.Source  // the filter over countedSource over Src
	read    relayedText // the upstream's text read so far
	s       *Server
	counted bool // the refusal
	ended   bool // the masked words
}

func (e *guardedEvents) Next() (sse.Event, error) {
	ev, err := e.src.Next()
	if err != nil && !e.ended {
		e.ended = true // the end, clean or not: count the words masked
		if n := e.a.Masked(); n > 0 {
			e.s.guardCount(guard.Words, string(guard.WordsMask), n)
		}
	}
	if err != nil || !e.a.Refused() {
		return ev, err
	}
	if !e.counted {
		e.counted = true
		e.s.guardCount(guard.Words, string(guard.WordsRefuse))
	}
	if string(ev.Name) == "message_delta" { // the refusal's own: nothing else follows a refusal
		u, _ := e.Usage()
		data := strconv.AppendInt([]byte(`{"type":"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null},"usage":{"output_tokens":`), u.Output, 10)
		data = append(data, "}}"...)
		ev = sse.Event{Name: ev.Name, Data: data, Raw: sse.AppendEvent(nil, "message_delta", data)}
	}
	return ev, nil
}

// Ready is false: the filter may hold text back or read on, so an answer
// through the guard is flushed event by event.
func (e *guardedEvents) Ready() bool { return false }

// Usage is the upstream's, its output raised to the text read after a
// refusal.
func (e *guardedEvents) Usage() (anthropic.Totals, bool) {
	u, seen := e.Src.Usage()
	if e.a.Refused() {
		u.Output = max(u.Output, e.read.tokens())
	}
	return u, seen
}

// countedSource counts the text of the upstream's events as the filter
// reads them.
type countedSource struct {
	src  provider.Stream
	text *relayedText
}

func (c countedSource) Next() (sse.Event, error) {
	ev, err := c.src.Next()
	if err == nil {
		c.text.add(ev.Name, ev.Data, false)
	}
	return ev, err
}

func (c countedSource) Close() error { return c.src.Close() }

// redactLog removes detected values and keys from text bound for the
// access log (error causes, upstream notes), whatever the request's policy.
func (s *Server) redactLog(text string) string {
	if s.logRedactor == nil {
		return text
	}
	return s.logRedactor.Redact(text)
}

// guardScope is what the cache and coalescing keys add for the request's
// guard policy: the same body under another policy is another request.
func (x *exchange) guardScope() string {
	if x.guard == nil || x.guard.scope == "" {
		return ""
	}
	return "\x00guard:" + x.guard.scope
}
