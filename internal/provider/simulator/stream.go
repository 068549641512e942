package simulator

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

// errClosed is what Next returns after Close.
var errClosed = errors.New("simulator: stream closed")

// phase is where a stream is: the kind of the next event.
type phase uint8

const (
	phMessageStart phase = iota
	phBlockStart         // content_block_start of block bi
	phPing               // the ping after the first content_block_start
	phDelta              // a delta, or content_block_stop, of block bi
	phMessageDelta
	phMessageStop
	phDone
)

// stream renders an answer as events (PROTOCOL.md §4), one per Next, into a
// reused buffer. Pacing waits happen inside Next; nothing runs in the
// background. It keeps the request's context, against the usual rule,
// because sse.Source.Next takes none and a wait must end when the client
// goes away.
type stream struct {
	ctx    context.Context
	sleep  func(context.Context, time.Duration) error
	first  time.Duration // before the first content event
	gap    time.Duration // between token deltas
	a      *answer
	buf    []byte
	ph     phase
	bi     int  // the open block
	pos    int  // bytes of its text sent
	extra  bool // its extra delta is sent: a tool's empty input_json_delta, a thinking block's signature_delta
	sent   int  // token deltas sent
	err    error
	closed atomic.Bool // Close may come from another goroutine
}

func (p *Provider) newStream(ctx context.Context, a *answer) *stream {
	return &stream{
		ctx:   ctx,
		sleep: p.sleep,
		first: p.cfg.FirstToken,
		gap:   p.gap,
		a:     a,
		buf:   make([]byte, 0, 512),
	}
}

// Close makes further calls to Next fail. It does not interrupt a Next that
// is waiting; cancel its context for that.
func (s *stream) Close() error {
	s.closed.Store(true)
	return nil
}

// Next returns the next event; its slices are valid until the next call.
func (s *stream) Next() (sse.Event, error) {
	if s.closed.Load() {
		return sse.Event{}, errClosed
	}
	if s.err != nil {
		return sse.Event{}, s.err
	}
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return sse.Event{}, err
	}
	switch s.ph {
	case phMessageStart:
		s.ph = phMessageDelta
		if s.a.nblocks > 0 {
			s.ph = phBlockStart
		}
		return s.messageStart(), nil

	case phBlockStart:
		if s.bi == 0 {
			if err := s.wait(s.first); err != nil {
				return sse.Event{}, err
			}
		}
		s.pos, s.extra = 0, false
		s.ph = phDelta
		if s.bi == 0 {
			s.ph = phPing
		}
		return s.blockStart(), nil

	case phPing:
		s.ph = phDelta
		// The real API's ping has a space after the colon.
		return s.constant("ping", `{"type": "ping"}`), nil

	case phDelta:
		b := &s.a.blocks[s.bi]
		if b.kind == kindToolUse && !s.extra {
			// The real API's first input_json_delta is empty.
			s.extra = true
			return s.delta(b.kind, ""), nil
		}
		if s.pos < len(b.text) {
			if s.sent > 0 {
				if err := s.wait(s.gap); err != nil {
					return sse.Event{}, err
				}
			}
			var end int
			if b.kind == kindToolUse {
				end = chunkEnd(b.text, s.pos)
			} else {
				end = tokenEnd(b.text, s.pos)
			}
			tok := b.text[s.pos:end]
			s.pos = end
			s.sent++
			return s.delta(b.kind, tok), nil
		}
		if b.kind == kindThinking && !s.extra {
			s.extra = true
			return s.signatureDelta(b.signature), nil
		}
		ev := s.blockStop()
		s.bi++
		s.ph = phMessageDelta
		if s.bi < s.a.nblocks {
			s.ph = phBlockStart
		}
		return ev, nil

	case phMessageDelta:
		s.ph = phMessageStop
		return s.messageDelta(), nil

	case phMessageStop:
		s.ph = phDone
		return s.constant("message_stop", `{"type":"message_stop"}`), nil
	}
	s.err = io.EOF
	return sse.Event{}, io.EOF
}

// wait sleeps for d unless d is 0; an error (ctx's) sticks.
func (s *stream) wait(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if err := s.sleep(s.ctx, d); err != nil {
		s.err = err
		return err
	}
	return nil
}

// dataOffset is where "data: " ends for an event name of length n.
func dataOffset(n int) int { return len("event: ") + n + len("\ndata: ") }

// begin starts an event frame in the buffer.
func (s *stream) begin(name string) {
	s.buf = append(s.buf[:0], "event: "...)
	s.buf = append(s.buf, name...)
	s.buf = append(s.buf, "\ndata: "...)
}

// end finishes the frame begun with a name of length n.
func (s *stream) end(n int) sse.Event {
	data := len(s.buf)
	s.buf = append(s.buf, '\n', '\n')
	return sse.Event{
		Name: s.buf[len("event: ") : len("event: ")+n : len("event: ")+n],
		Data: s.buf[dataOffset(n):data:data],
		Raw:  s.buf[:len(s.buf):len(s.buf)],
	}
}

// constant is an event whose data never changes.
func (s *stream) constant(name, data string) sse.Event {
	s.begin(name)
	s.buf = append(s.buf, data...)
	return s.end(len(name))
}

func (s *stream) messageStart() sse.Event {
	s.begin("message_start")
	s.buf = append(s.buf, `{"type":"message_start","message":`...)
	s.buf = appendMessageHead(s.buf, s.a)
	s.buf = append(s.buf, `[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	s.buf = appendUsage(s.buf, s.a.input, 1)
	s.buf = append(s.buf, "}}"...)
	return s.end(len("message_start"))
}

func (s *stream) blockStart() sse.Event {
	b := &s.a.blocks[s.bi]
	s.begin("content_block_start")
	s.buf = append(s.buf, `{"type":"content_block_start","index":`...)
	s.buf = appendInt(s.buf, s.bi)
	switch b.kind {
	case kindText:
		s.buf = append(s.buf, `,"content_block":{"type":"text","text":""}}`...)
	case kindThinking:
		s.buf = append(s.buf, `,"content_block":{"type":"thinking","thinking":"","signature":""}}`...)
	case kindToolUse:
		s.buf = append(s.buf, `,"content_block":{"type":"tool_use","id":`...)
		s.buf = jsonpeek.AppendString(s.buf, b.id)
		s.buf = append(s.buf, `,"name":`...)
		s.buf = jsonpeek.AppendString(s.buf, b.name)
		s.buf = append(s.buf, `,"input":{}}}`...)
	}
	return s.end(len("content_block_start"))
}

// deltaHead begins a content_block_delta up to the delta's type.
func (s *stream) deltaHead() {
	s.begin("content_block_delta")
	s.buf = append(s.buf, `{"type":"content_block_delta","index":`...)
	s.buf = appendInt(s.buf, s.bi)
}

func (s *stream) delta(k kind, tok string) sse.Event {
	s.deltaHead()
	switch k {
	case kindText:
		s.buf = append(s.buf, `,"delta":{"type":"text_delta","text":`...)
	case kindThinking:
		s.buf = append(s.buf, `,"delta":{"type":"thinking_delta","thinking":`...)
	case kindToolUse:
		s.buf = append(s.buf, `,"delta":{"type":"input_json_delta","partial_json":`...)
	}
	s.buf = jsonpeek.AppendString(s.buf, tok)
	s.buf = append(s.buf, "}}"...)
	return s.end(len("content_block_delta"))
}

func (s *stream) signatureDelta(sig string) sse.Event {
	s.deltaHead()
	s.buf = append(s.buf, `,"delta":{"type":"signature_delta","signature":`...)
	s.buf = jsonpeek.AppendString(s.buf, sig)
	s.buf = append(s.buf, "}}"...)
	return s.end(len("content_block_delta"))
}

func (s *stream) blockStop() sse.Event {
	s.begin("content_block_stop")
	s.buf = append(s.buf, `{"type":"content_block_stop","index":`...)
	s.buf = appendInt(s.buf, s.bi)
	s.buf = append(s.buf, '}')
	return s.end(len("content_block_stop"))
}

func (s *stream) messageDelta() sse.Event {
	s.begin("message_delta")
	s.buf = append(s.buf, `{"type":"message_delta","delta":{"stop_reason":`...)
	s.buf = jsonpeek.AppendString(s.buf, s.a.stopReason)
	s.buf = append(s.buf, `,"stop_sequence":`...)
	s.buf = appendStopSequence(s.buf, s.a)
	s.buf = append(s.buf, `},"usage":{"output_tokens":`...)
	s.buf = appendInt(s.buf, s.a.output)
	s.buf = append(s.buf, "}}"...)
	return s.end(len("message_delta"))
}
