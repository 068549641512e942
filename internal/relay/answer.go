package relay

// The answer handed to the server. A whole answer is read (and checked)
// before it is handed over, so its node's outcome is known then. A stream
// is watched to its end: the node's outcome and the bulkhead slot are
// settled when it is consumed, not when its headers arrive, so that a
// stream that breaks half-way counts against its node and a long stream
// holds its slot for as long as it runs.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/sse"
	"github.com/ferrygw/ferry/internal/upstream"
)

// settle ends one handed-over attempt.
type settle struct {
	end     func(failed bool) // the node's hold on the stream (upstream.Node.Hold)
	release func()            // the bulkhead slot
	dl      *deadline         // the deadline timer and the attempt's context
	client  context.Context   // the client's context: its end is nobody's fault
	node    *upstream.Node
	gauge   prometheus.Gauge
	decided atomic.Bool
	closed  atomic.Bool
}

// result records the stream's end on its node, once. Its success was
// recorded at the headers, so only a failure counts now.
func (s *settle) result(r upstream.Result) {
	if s.decided.CompareAndSwap(false, true) {
		s.end(r == upstream.Failure)
		s.gauge.Set(s.node.Latency().Seconds())
	}
}

// failed records a read failure: the node's, unless the client left.
func (s *settle) failed() {
	if s.client.Err() != nil {
		s.result(upstream.Neutral)
		return
	}
	s.result(upstream.Failure)
}

// close frees everything, once. An answer closed before its end says
// nothing about the node (the client left, or the server stopped reading).
func (s *settle) close() {
	if s.closed.CompareAndSwap(false, true) {
		s.result(upstream.Neutral)
		s.release()
		s.dl.stop()
	}
}

// wrap puts resp's event stream, in format f, under s.
func wrap(resp *provider.Response, f provider.Format, s *settle) {
	resp.Events = &watchedEvents{StreamBase: provider.StreamBase{Src: resp.Events}, s: s, m: provider.Meter{OpenAI: f == provider.FormatOpenAI}}
}

// Reasons of whole answers that are not usable.
const (
	ReasonMalformed = "malformed_answer" // a 2xx whose body is not JSON
	ReasonTooLarge  = "answer_too_large" // over Options.MaxAnswerBytes
)

// defaultMaxAnswer bounds a whole answer held in memory: the server's own
// default limit.
const defaultMaxAnswer = 64 << 20

// readAnswer reads a whole (non-streaming) success answer into a pooled
// buffer and checks that it is JSON; the answer then holds the bytes. An
// answer over the bound is cut as soon as it passes it, having held no
// more than the bound plus a block (bytes.Buffer's doubling held 440 MB
// for a 64 MiB bound). An answer in memory already is checked where it
// is, not copied; one the gateway wrote itself (a translation's:
// provider.BytesBody.Written) is valid JSON by construction, and only its
// size is checked.
func (r *Relay) readAnswer(ctx context.Context, resp *provider.Response) error {
	if bb, ok := resp.Body.(*provider.BytesBody); ok {
		b := bb.Bytes()
		var err error
		switch {
		case int64(len(b)) > r.maxWhole:
			err = provider.ErrTooLarge
		case bb.Written():
			return nil
		}
		return r.checkAnswer(ctx, resp, b, err)
	}
	bp, _ := r.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	var (
		b   []byte
		err error
	)
	if resp.Body != nil {
		b, _, err = provider.ReadBounded(resp.Body, *bp, r.maxWhole)
		resp.Body.Close()
	}
	if err = r.checkAnswer(ctx, resp, b, err); err != nil {
		r.putBuf(bp)
		return err
	}
	*bp = b // the buffer it was read into, grown or not
	pb := &pooledBody{buf: bp, r: r}
	pb.Reader.Reset(b)
	resp.Body = pb
	return nil
}

// checkAnswer is the verdict on a whole answer b, read with err: nil, or
// why it is no answer.
func (r *Relay) checkAnswer(ctx context.Context, resp *provider.Response, b []byte, err error) error {
	switch {
	case errors.Is(err, provider.ErrTooLarge):
		return &apierr.Error{Kind: apierr.BadGateway, Public: fmt.Sprintf("upstream answer too large: over %d bytes", r.maxWhole),
			Err: &provider.Failure{Reason: ReasonTooLarge, Err: fmt.Errorf("upstream answer over %d bytes", r.maxWhole)}}
	case err != nil:
		return provider.Classify(ctx, err)
	case !jsonpeek.Valid(b):
		return &apierr.Error{Kind: apierr.BadGateway, Public: "upstream answer is not valid JSON",
			Err: &provider.Failure{Reason: ReasonMalformed, Err: fmt.Errorf("upstream answered %d with %d bytes that are not JSON: %.200q", resp.Status, len(b), b)}}
	}
	return nil
}

func (r *Relay) putBuf(bp *[]byte) {
	if cap(*bp) <= 1<<20 { // a rare huge answer's buffer is left to the GC
		*bp = (*bp)[:0]
		r.bufs.Put(bp)
	}
}

// pooledBody is an answer read whole; Close returns its buffer to the
// pool, after which it must not be read.
type pooledBody struct {
	bytes.Reader
	buf *[]byte
	r   *Relay
}

var _ provider.WholeBody = (*pooledBody)(nil)

// Whole is the answer's bytes, unread, valid until Close: the server
// writes them without copying them into a buffer of its own.
func (b *pooledBody) Whole() []byte {
	if b.buf == nil || int64(b.Len()) != b.Size() {
		return nil // closed, or partly read
	}
	return *b.buf
}

func (b *pooledBody) Close() error {
	if b.buf != nil {
		b.Reader.Reset(nil)
		b.r.putBuf(b.buf)
		b.buf = nil
	}
	return nil
}

// watchedEvents is an answer's event stream, read in its call's grammar
// (provider.Meter). A stream succeeds when it ends after its end marker
// (message_stop, or [DONE] for an OpenAI client's own stream); an error
// event, a read error, or an end without the marker is the node's
// failure, and the end without the marker is provider.ErrTruncated to the
// reader, never a silent io.EOF.
type watchedEvents struct {
	provider.StreamBase
	s *settle
	m provider.Meter
}

func (e *watchedEvents) Next() (sse.Event, error) {
	ev, err := e.Src.Next()
	switch {
	case err == io.EOF:
		if e.m.Ended && e.m.Fault == nil {
			e.s.result(upstream.Success)
			break
		}
		e.s.failed()
		if !e.m.Ended {
			err = provider.Truncated()
		}
	case err != nil:
		e.s.failed()
	default:
		e.m.See(ev)
	}
	return ev, err
}

func (e *watchedEvents) Close() error {
	err := e.Src.Close()
	e.s.close()
	return err
}

// Usage is the source's own count when it keeps one (a translation's,
// from the upstream's usage), else what the events carried.
func (e *watchedEvents) Usage() (anthropic.Totals, bool) {
	if u, ok := e.Src.Usage(); ok {
		return u, true
	}
	return e.m.Usage, e.m.Seen
}

// Fault is the error event or chunk that passed.
func (e *watchedEvents) Fault() error {
	if e.m.Fault != nil {
		return e.m.Fault
	}
	return e.Src.Fault()
}

// maxErrorBody bounds an error answer kept in memory: the message is all
// a client needs, and error bodies are small.
const maxErrorBody = 1 << 20

// buffer reads an error answer whole and closes its body; the answer then
// holds the bytes. An answer cut short is a failure to read it.
func buffer(resp *provider.Response) error {
	var (
		b   []byte
		err error
	)
	if resp.Events != nil { // an error status never streams; be safe
		resp.Events.Close()
		resp.Events = nil
	} else if resp.Body != nil {
		b, err = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
	}
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return nil
}

// parseRetryAfter reads an answer's retry hint: retry-after-ms (which the
// SDKs read first), else retry-after in seconds or as an HTTP date.
// PROTOCOL.md §6-7.
func parseRetryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms < 1e9 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 || s > 1e6 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
