package provider

// The answer-stream contract: one interface that the providers' streams,
// every wrapper on the way (the relay's watch and translations, the shadow
// tap, the cache fill, coalescing) and the server share, with a base type
// wrappers embed; and the one reader of the two stream grammars.

import (
	"errors"
	"fmt"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/openai"
	"github.com/ferrygw/ferry/internal/sse"
)

// Stream is an answer's event stream, in the client's format once the
// relay handed it over.
type Stream interface {
	// Next returns the next event. From the relay, io.EOF is always a
	// clean end: a stream cut before its end marker is an error
	// (ErrTruncated).
	Next() (sse.Event, error)
	// Ready reports whether Next would return now, without waiting on the
	// upstream: an event (or the stream's end) is already at hand. False
	// when unsure. The server leaves its writes unflushed only while Ready,
	// so a burst read at once goes out in one write and no event waits.
	Ready() bool
	Close() error
	// Usage is the answer's usage in Anthropic's terms, and whether it
	// was seen (in part: a stream cut short has its input count).
	Usage() (anthropic.Totals, bool)
	// Note is a problem with the answer that the client does not see as
	// such (tool calls dropped for disable_parallel_tool_use), nil if
	// none: for the access log, known once the stream ended.
	Note() error
	// Fault is the error the stream ended with for the client (an
	// upstream's error event or chunk, or a cut the translation closed
	// with an error frame), nil if it ended well or not yet.
	Fault() error
}

// StreamBase passes everything through to Src: a wrapper embeds it and
// overrides only what it changes.
type StreamBase struct{ Src Stream }

// Next reads Src.
func (b *StreamBase) Next() (sse.Event, error) { return b.Src.Next() }

// Ready is Src's: right for a wrapper that yields one event per event of
// Src; one that drops, holds or makes events overrides it.
func (b *StreamBase) Ready() bool { return b.Src.Ready() }

// Close closes Src.
func (b *StreamBase) Close() error { return b.Src.Close() }

// Usage is Src's.
func (b *StreamBase) Usage() (anthropic.Totals, bool) { return b.Src.Usage() }

// Note is Src's.
func (b *StreamBase) Note() error { return b.Src.Note() }

// Fault is Src's.
func (b *StreamBase) Fault() error { return b.Src.Fault() }

// Plain is a provider's stream that knows nothing of its answer: the
// relay's watch reads usage and faults from its events.
func Plain(src sse.Source) Stream { return plain{src} }

type plain struct{ sse.Source }

// Ready is the source's when it can tell (an sse.Reader), else false.
func (p plain) Ready() bool {
	r, ok := p.Source.(interface{ Ready() bool })
	return ok && r.Ready()
}

func (plain) Usage() (anthropic.Totals, bool) { return anthropic.Totals{}, false }
func (plain) Note() error                     { return nil }
func (plain) Fault() error                    { return nil }

// ErrTruncated is a stream that ended without its end marker (an
// Anthropic message_stop or error event, an OpenAI [DONE] or error chunk).
var ErrTruncated = errors.New("upstream stream ended before its end")

// Truncated is ErrTruncated as the failure it is.
func Truncated() error {
	return &Failure{Reason: ReasonConnectionReset, Err: ErrTruncated}
}

// Meter reads a stream's grammar as its events go by: its end marker,
// its usage and an error event. It is the one reader of both formats.
type Meter struct {
	OpenAI bool             // the events are Chat Completions chunks, not Anthropic events
	Ended  bool             // the end marker (or an error) passed
	Fault  error            // the error event or chunk that passed, if one did
	Usage  anthropic.Totals // as far as the events carried it
	Seen   bool             // Usage was seen
}

// See reads one event.
func (m *Meter) See(ev sse.Event) {
	if m.OpenAI {
		switch {
		case string(ev.Data) == "[DONE]":
			m.Ended = true
		case openai.IsErrorChunk(ev.Data):
			m.Ended = true
			m.Fault = fmt.Errorf("upstream error chunk: %s", clip(ev.Data, 256))
		default:
			m.Seen = openai.ReadChunkUsage(ev.Data, &m.Usage) || m.Seen
		}
		return
	}
	switch string(ev.Name) {
	case "message_start":
		m.Seen = anthropic.StartUsage(ev.Data, &m.Usage) || m.Seen
	case "message_delta":
		m.Seen = anthropic.DeltaUsage(ev.Data, &m.Usage) || m.Seen
	case "message_stop":
		m.Ended = true
	case "error":
		m.Ended = true
		m.Fault = fmt.Errorf("upstream error event: %s", clip(ev.Data, 256))
	}
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
