package translate

// Anthropic Messages events in, for the two translators that read them
// (AnthropicToOpenAIStream, AnthropicToCompleteStream): one reader of the
// events into typed values, the frame queue both write to, the error
// event's type and message, and the message of a stream that ended early.
// The third stream translator, OpenAIToAnthropicStream, reads OpenAI
// chunks and writes sse.Events instead, in the same Feed, Finish, Next
// shape.

import (
	"strconv"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

// aeKind is the kind of an Anthropic stream event.
type aeKind uint8

const (
	aeUnknown aeKind = iota // an event the translators drop
	aePing
	aeMessageStart
	aeBlockStart
	aeBlockDelta
	aeBlockStop
	aeMessageDelta
	aeMessageStop
	aeError
)

// aeTypes are the event types the kinds stand for.
var aeTypes = [...]string{
	aePing:         "ping",
	aeMessageStart: "message_start",
	aeBlockStart:   "content_block_start",
	aeBlockDelta:   "content_block_delta",
	aeBlockStop:    "content_block_stop",
	aeMessageDelta: "message_delta",
	aeMessageStop:  "message_stop",
	aeError:        "error",
}

// aeEvent is one Anthropic stream event as the translators read it: the
// members they need as written (string literals still quoted), pointing
// into the event's data. Valid until the next read.
type aeEvent struct {
	kind  aeKind
	index int // content_block_*: the block's index, -1 if not a non-negative integer
	// message_start: the message's id, model and usage; message_delta: the
	// usage.
	id, model, usage []byte
	// block is a content_block_start's block: type, text, thinking, id,
	// name, input (aeNamesBlock).
	block [][]byte
	// delta is a content_block_delta's or message_delta's delta: type,
	// text, thinking, partial_json, stop_reason, stop_sequence
	// (aeNamesDelta).
	delta [][]byte
	// errType and errMsg are an error event's, generic ones for whatever
	// is missing.
	errType, errMsg string
	malformed       bool // a known event whose data is not a JSON object
}

// Member names, shared so that reading allocates nothing.
var (
	aeNamesType     = []string{"type"}
	aeNamesStart    = []string{"message"}
	aeNamesMessage  = []string{"id", "model", "usage"}
	aeNamesIndexed  = []string{"index", "content_block", "delta"}
	aeNamesBlock    = []string{"type", "text", "thinking", "id", "name", "input"}
	aeNamesDelta    = []string{"type", "text", "thinking", "partial_json", "stop_reason", "stop_sequence"}
	aeNamesMsgDelta = []string{"delta", "usage"}
	aeNamesError    = []string{"error"}
	aeNamesErrorObj = []string{"type", "message"}
)

// aeReader is what the two Anthropic-reading stream translators embed: the
// frames they write (handed out by Next), whether the terminal frame is
// out, and the reader's scratch.
type aeReader struct {
	q    oiFrames
	done bool // the terminal frame (end marker or error) is out

	vals [3][]byte
	sub  [6][]byte
}

// Next returns the next frame to write, if any.
func (r *aeReader) Next() ([]byte, bool) { return r.q.next() }

// ready reports whether the stream still takes input (the terminal frame
// is not out), after making room in the frame queue once every frame was
// handed out.
func (r *aeReader) ready() bool {
	if r.done {
		return false
	}
	r.q.reset()
	return true
}

// read starts a Feed: it reads one event, after making room in the frame
// queue. Once the stream is done every event reads as aeUnknown, which the
// translators drop. A known event whose data is not the JSON object it
// must be reads as an aeError saying so, which ends the stream.
func (r *aeReader) read(ev sse.Event) (e aeEvent) {
	if !r.ready() {
		return aeEvent{kind: aeUnknown, index: -1}
	}
	e = r.event(ev)
	if e.malformed {
		e.kind, e.errType, e.errMsg = aeError, "api_error", "upstream sent a malformed "+aeTypes[e.kind]+" event"
	}
	return e
}

// event reads one event.
func (r *aeReader) event(ev sse.Event) (e aeEvent) {
	e.index = -1
	e.kind = aeKindOf(oiEventType(ev))
	v := r.vals[:]
	switch e.kind {
	case aeMessageStart:
		if e.malformed = jsonpeek.Members(ev.Data, aeNamesStart, v[:1]) != nil; !e.malformed {
			m := r.sub[:3]
			jsonpeek.Members(v[0], aeNamesMessage, m)
			e.id, e.model, e.usage = m[0], m[1], m[2]
		}
	case aeBlockStart, aeBlockDelta, aeBlockStop:
		if e.malformed = jsonpeek.Members(ev.Data, aeNamesIndexed, v[:3]) != nil; e.malformed {
			break
		}
		e.index = oiIndex(v[0])
		if e.kind == aeBlockStart {
			e.block = r.sub[:6]
			jsonpeek.Members(v[1], aeNamesBlock, e.block)
		} else if e.kind == aeBlockDelta {
			e.delta = r.sub[:6]
			jsonpeek.Members(v[2], aeNamesDelta, e.delta)
		}
	case aeMessageDelta:
		if e.malformed = jsonpeek.Members(ev.Data, aeNamesMsgDelta, v[:2]) != nil; !e.malformed {
			e.usage = v[1]
			e.delta = r.sub[:6]
			jsonpeek.Members(v[0], aeNamesDelta, e.delta)
		}
	case aeError:
		e.errType, e.errMsg = oiUpstreamError(ev.Data, v[:1], r.sub[:2])
	}
	return e
}

// aeKindOf is the kind of an event of type typ: aeUnknown for a type not
// in aeTypes (its own entry there is "").
func aeKindOf(typ []byte) aeKind {
	for k, name := range aeTypes {
		if string(typ) == name {
			return aeKind(k)
		}
	}
	return aeUnknown
}

// oiFrames is a queue of output frames kept in one buffer. Frames handed
// out by next stay valid until the next call that adds frames.
type oiFrames struct {
	buf  []byte
	ends []int // end offset of each frame in buf
	read int   // frames handed out
}

// reset drops the frames once all have been handed out, to reuse the
// buffer.
func (q *oiFrames) reset() {
	if q.read == len(q.ends) {
		q.buf, q.ends, q.read = q.buf[:0], q.ends[:0], 0
	}
}

// mark ends the frame being appended to buf.
func (q *oiFrames) mark() { q.ends = append(q.ends, len(q.buf)) }

func (q *oiFrames) next() ([]byte, bool) {
	if q.read == len(q.ends) {
		return nil, false
	}
	start := 0
	if q.read > 0 {
		start = q.ends[q.read-1]
	}
	q.read++
	return q.buf[start:q.ends[q.read-1]:q.ends[q.read-1]], true
}

// oiAppendLiteral appends lit, a JSON string literal validated by
// jsonpeek, copying it as is when it is valid UTF-8 (the common case, no
// allocation) and re-encoding it otherwise.
func oiAppendLiteral(dst, lit []byte) []byte {
	if utf8.Valid(lit) {
		return append(dst, lit...)
	}
	s, err := jsonpeek.String(lit)
	if err != nil {
		return append(dst, `""`...)
	}
	return jsonpeek.AppendString(dst, s)
}

// oiIsString reports whether v is a JSON string literal.
func oiIsString(v []byte) bool { return len(v) >= 2 && v[0] == '"' }

// oiStringOf decodes a string literal; anything else is "".
func oiStringOf(v []byte) string {
	if !oiIsString(v) {
		return ""
	}
	s, _ := jsonpeek.String(v)
	return s
}

// oiIndex decodes a block index; -1 if v is not a non-negative integer.
func oiIndex(v []byte) int {
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// oiEventType is the event's type: its name, or else the "type" of its
// data (the API always sends both, and they agree). It returns bytes so
// that switching on string(oiEventType(ev)) allocates nothing.
func oiEventType(ev sse.Event) []byte {
	if len(ev.Name) > 0 {
		return ev.Name
	}
	var v [1][]byte
	if jsonpeek.Members(ev.Data, aeNamesType, v[:]) == nil && oiIsString(v[0]) {
		return []byte(oiStringOf(v[0]))
	}
	return nil
}

// oiUpstreamError reads an Anthropic error event's type and message (for
// both stream translators), with generic ones for whatever is missing.
// val and sub are scratch slices of one and two elements.
func oiUpstreamError(data []byte, val, sub [][]byte) (typ, msg string) {
	typ, msg = "api_error", "upstream stream failed"
	if jsonpeek.Members(data, aeNamesError, val) == nil && jsonpeek.Members(val[0], aeNamesErrorObj, sub) == nil {
		if t := oiStringOf(sub[0]); t != "" {
			typ = t
		}
		if m := oiStringOf(sub[1]); m != "" {
			msg = m
		}
	}
	return typ, msg
}

// oiEndMessage says why a stream that never finished ended.
func oiEndMessage(err error) string {
	if err != nil {
		return "upstream connection failed before the answer was complete"
	}
	return "upstream stream ended before the answer was complete"
}

// startOnce marks the answer of a translated stream started, and returns
// the model its events name: the one the client asked for (want) if any,
// else got. It reports false when the answer had started already.
func startOnce(started *bool, want, got string) (string, bool) {
	if *started {
		return "", false
	}
	*started = true
	if want != "" {
		return want, true
	}
	return got, true
}
