package translate

// Anthropic Messages events → OpenAI chat.completion.chunk frames, for
// OpenAI clients (the stream state machine and its frame queue).

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

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
	if jsonpeek.Members(ev.Data, oiNamesType, v[:]) && oiIsString(v[0]) {
		return []byte(oiStringOf(v[0]))
	}
	return nil
}

// Kinds of the content block a stream has open.
const (
	oiBlockNone = iota
	oiBlockText
	oiBlockThinking
	oiBlockTool
	oiBlockOther // redacted_thinking, server tools, results: not translated
)

// oiMember names, shared so that calls allocate nothing.
var (
	oiNamesType     = []string{"type"}
	oiNamesStart    = []string{"message"}
	oiNamesMessage  = []string{"id", "model", "usage"}
	oiNamesBlock    = []string{"index", "content_block", "delta"}
	oiNamesStartBlk = []string{"type", "text", "thinking", "id", "name", "input"}
	oiNamesDelta    = []string{"type", "text", "thinking", "partial_json", "stop_reason", "stop_sequence"}
	oiNamesMsgDelta = []string{"delta", "usage"}
	oiNamesError    = []string{"error"}
	oiNamesErrorObj = []string{"type", "message"}
)

// AnthropicToOpenAIStream turns Anthropic stream events into OpenAI
// chat.completion.chunk frames ("data: {...}\n\n"):
//
//   - message_start → the role chunk, delta {"role":"assistant","content":"","refusal":null};
//   - text_delta → content deltas; thinking_delta → reasoning_content deltas;
//   - a tool_use block start → a tool_calls delta {index, id, type, function{name, arguments:""}}
//     (index counts tool calls from 0), input_json_delta → arguments deltas at that index;
//   - message_delta → the finish chunk, delta {} with finish_reason;
//   - message_stop → (with info.IncludeUsage) a chunk with choices [] and usage, then "data: [DONE]".
//
// An Anthropic error event becomes a chunk {"error":{...}} (the OpenAI SDK
// throws on it) and ends the stream, without [DONE]; so does Finish before
// message_stop. ping, signature and citation deltas, redacted thinking,
// server-tool blocks and unknown events are dropped. A known event whose
// data is not JSON ends the stream with an error chunk. Every chunk carries
// id ("chatcmpl-" + the message id), object, created and model; with
// IncludeUsage every chunk has "usage":null but the last, as OpenAI sends.
//
// Call Feed for each event, Finish once at the end, and drain Next after
// each. A frame from Next is valid until the next call of Feed or Finish.
// An AnthropicToOpenAIStream is not safe for concurrent use.
type AnthropicToOpenAIStream struct {
	info    OpenAIRequestInfo
	created int64
	prefix  []byte // `{"id":…,"object":"chat.completion.chunk","created":…,"model":…,`
	q       oiFrames

	started  bool // the role chunk is out
	finished bool // the finish chunk is out
	done     bool // the terminal frame ([DONE] or an error) is out

	block    int // index of the open content block, -1 if none
	kind     int // its kind
	toolIdx  int // its tool call index, for oiBlockTool
	argsSent bool
	input    []byte // the tool_use start's input, when it is not {}

	tools int // tool calls so far
	usage anthropic.Totals

	vals [6][]byte // scratch for oiMembers
	sub  [6][]byte
}

// NewAnthropicToOpenAIStream starts the translation of one stream. info may be nil.
func NewAnthropicToOpenAIStream(info *OpenAIRequestInfo) *AnthropicToOpenAIStream {
	s := &AnthropicToOpenAIStream{block: -1, created: oiCreated(info)}
	if info != nil {
		s.info = *info
	}
	return s
}

// Next returns the next frame to write, if any.
func (s *AnthropicToOpenAIStream) Next() ([]byte, bool) { return s.q.next() }

// start writes the role chunk, once. id and model come from message_start,
// or are made up when the stream has none.
func (s *AnthropicToOpenAIStream) start(id, model string) {
	if s.started {
		return
	}
	s.started = true
	if s.info.Model != "" {
		model = s.info.Model
	}
	p := append(s.prefix[:0], `{"id":`...)
	p = jsonpeek.AppendString(p, oiCompletionID(id, s.info.Env))
	p = append(p, `,"object":"chat.completion.chunk","created":`...)
	p = strconv.AppendInt(p, s.created, 10)
	p = append(p, `,"model":`...)
	p = jsonpeek.AppendString(p, model)
	s.prefix = append(p, ',')
	s.open()
	s.q.buf = append(s.q.buf, `"role":"assistant","content":"","refusal":null`...)
	s.close("")
}

// open begins a chunk with one choice, up to the inside of its delta.
func (s *AnthropicToOpenAIStream) open() {
	s.q.buf = append(s.q.buf, "data: "...)
	s.q.buf = append(s.q.buf, s.prefix...)
	s.q.buf = append(s.q.buf, `"choices":[{"index":0,"delta":{`...)
}

// close ends the chunk begun by open.
func (s *AnthropicToOpenAIStream) close(finish string) {
	b := append(s.q.buf, `},"logprobs":null,"finish_reason":`...)
	if finish == "" {
		b = append(b, "null"...)
	} else {
		b = jsonpeek.AppendString(b, finish)
	}
	b = append(b, "}]"...)
	if s.info.IncludeUsage {
		b = append(b, `,"usage":null`...)
	}
	s.q.buf = append(b, "}\n\n"...)
	s.q.mark()
}

// delta writes a chunk whose delta is {field: lit}.
func (s *AnthropicToOpenAIStream) delta(field string, lit []byte) {
	s.open()
	s.q.buf = append(s.q.buf, '"')
	s.q.buf = append(s.q.buf, field...)
	s.q.buf = append(s.q.buf, `":`...)
	s.q.buf = oiAppendLiteral(s.q.buf, lit)
	s.close("")
}

// args writes an arguments delta for the open tool call.
func (s *AnthropicToOpenAIStream) args(lit []byte) {
	s.open()
	s.q.buf = append(s.q.buf, `"tool_calls":[{"index":`...)
	s.q.buf = strconv.AppendInt(s.q.buf, int64(s.toolIdx), 10)
	s.q.buf = append(s.q.buf, `,"function":{"arguments":`...)
	s.q.buf = oiAppendLiteral(s.q.buf, lit)
	s.q.buf = append(s.q.buf, "}}]"...)
	s.close("")
	s.argsSent = true
}

// fail writes an error chunk and ends the stream.
func (s *AnthropicToOpenAIStream) fail(typ, msg string) {
	b := append(s.q.buf, `data: {"error":{"message":`...)
	b = jsonpeek.AppendString(b, msg)
	b = append(b, `,"type":`...)
	b = jsonpeek.AppendString(b, typ)
	b = append(b, `,"param":null,"code":`...)
	if c, ok := oiErrorCode(0, typ, msg).(string); ok {
		b = jsonpeek.AppendString(b, c)
	} else {
		b = append(b, "null"...)
	}
	s.q.buf = append(b, "}}\n\n"...)
	s.q.mark()
	s.done = true
}

// finish writes the finish chunk, once.
func (s *AnthropicToOpenAIStream) finish(stop string) {
	if s.finished {
		return
	}
	s.start("", "")
	s.endBlock()
	s.finished = true
	f := oiFinishReason(stop)
	if f == "stop" && s.tools > 0 {
		f = "tool_calls"
	}
	s.open()
	s.close(f)
}

// endBlock closes the open block: a tool call whose input came whole in its
// start event (no input_json_delta) gets it as one arguments delta.
func (s *AnthropicToOpenAIStream) endBlock() {
	if s.kind == oiBlockTool && !s.argsSent && len(s.input) > 0 {
		var buf bytes.Buffer
		if json.Compact(&buf, s.input) == nil {
			s.args(jsonpeek.AppendString(nil, buf.String()))
		}
	}
	s.block, s.kind, s.argsSent, s.input = -1, oiBlockNone, false, s.input[:0]
}

// Feed takes one Anthropic event.
func (s *AnthropicToOpenAIStream) Feed(ev sse.Event) {
	if s.done {
		return
	}
	s.q.reset()
	v := s.vals[:]
	switch string(oiEventType(ev)) {
	case "message_start":
		if !jsonpeek.Members(ev.Data, oiNamesStart, v[:1]) {
			s.fail("api_error", "upstream sent a malformed message_start event")
			return
		}
		m := s.sub[:3]
		if jsonpeek.Members(v[0], oiNamesMessage, m) && m[2] != nil {
			anthropic.MergeUsage(m[2], &s.usage)
		}
		s.start(oiStringOf(m[0]), oiStringOf(m[1]))
	case "content_block_start":
		if !jsonpeek.Members(ev.Data, oiNamesBlock, v[:3]) {
			s.fail("api_error", "upstream sent a malformed content_block_start event")
			return
		}
		if s.finished {
			return
		}
		s.start("", "")
		s.endBlock()
		s.block = oiIndex(v[0])
		b := s.sub[:6]
		jsonpeek.Members(v[1], oiNamesStartBlk, b)
		switch {
		case jsonpeek.StringIs(b[0], "text"):
			s.kind = oiBlockText
			if oiIsString(b[1]) && len(b[1]) > 2 {
				s.delta("content", b[1])
			}
		case jsonpeek.StringIs(b[0], "thinking"):
			s.kind = oiBlockThinking
			if oiIsString(b[2]) && len(b[2]) > 2 {
				s.delta("reasoning_content", b[2])
			}
		case jsonpeek.StringIs(b[0], "tool_use"):
			s.kind, s.toolIdx = oiBlockTool, s.tools
			s.tools++
			if b[5] != nil && b[5][0] == '{' && !oiEmptyObject(b[5]) {
				s.input = append(s.input[:0], b[5]...)
			}
			s.open()
			q := append(s.q.buf, `"tool_calls":[{"index":`...)
			q = strconv.AppendInt(q, int64(s.toolIdx), 10)
			q = append(q, `,"id":`...)
			q = jsonpeek.AppendString(q, oiStringOf(b[3]))
			q = append(q, `,"type":"function","function":{"name":`...)
			q = jsonpeek.AppendString(q, oiStringOf(b[4]))
			s.q.buf = append(q, `,"arguments":""}}]`...)
			s.close("")
		default:
			s.kind = oiBlockOther
		}
	case "content_block_delta":
		if !jsonpeek.Members(ev.Data, oiNamesBlock, v[:3]) {
			s.fail("api_error", "upstream sent a malformed content_block_delta event")
			return
		}
		if s.finished || s.kind == oiBlockNone || oiIndex(v[0]) != s.block {
			return
		}
		d := s.sub[:6]
		jsonpeek.Members(v[2], oiNamesDelta, d)
		switch {
		case s.kind == oiBlockText && jsonpeek.StringIs(d[0], "text_delta"):
			if oiIsString(d[1]) && len(d[1]) > 2 {
				s.delta("content", d[1])
			}
		case s.kind == oiBlockThinking && jsonpeek.StringIs(d[0], "thinking_delta"):
			if oiIsString(d[2]) && len(d[2]) > 2 {
				s.delta("reasoning_content", d[2])
			}
		case s.kind == oiBlockTool && jsonpeek.StringIs(d[0], "input_json_delta"):
			if oiIsString(d[3]) && len(d[3]) > 2 {
				s.args(d[3])
			}
		}
	case "content_block_stop":
		if !jsonpeek.Members(ev.Data, oiNamesBlock, v[:3]) {
			s.fail("api_error", "upstream sent a malformed content_block_stop event")
			return
		}
		if oiIndex(v[0]) == s.block && !s.finished {
			s.endBlock()
		}
	case "message_delta":
		if !jsonpeek.Members(ev.Data, oiNamesMsgDelta, v[:2]) {
			s.fail("api_error", "upstream sent a malformed message_delta event")
			return
		}
		if v[1] != nil {
			anthropic.MergeUsage(v[1], &s.usage)
		}
		d := s.sub[:6]
		jsonpeek.Members(v[0], oiNamesDelta, d)
		s.finish(oiStringOf(d[4]))
	case "message_stop":
		s.finish("")
		if s.info.IncludeUsage {
			u := append(s.q.buf, "data: "...)
			u = append(u, s.prefix...)
			u = append(u, `"choices":[],"usage":`...)
			s.q.buf = oiAppendUsage(u, oiUsageOf(s.usage))
			s.q.buf = append(s.q.buf, "}\n\n"...)
			s.q.mark()
		}
		s.q.buf = append(s.q.buf, "data: [DONE]\n\n"...)
		s.q.mark()
		s.done = true
	case "error":
		s.fail(oiUpstreamError(ev.Data, v[:1], s.sub[:2]))
	}
}

// Finish tells the stream that the upstream ended (err nil: cleanly, at a
// frame boundary) or failed. A stream that has not seen message_stop ends
// with an error chunk.
func (s *AnthropicToOpenAIStream) Finish(err error) {
	if s.done {
		return
	}
	s.q.reset()
	s.fail("api_error", oiEndMessage(err))
}

// oiUpstreamError reads an Anthropic error event's type and message (for
// both stream translators), with generic ones for whatever is missing.
// val and sub are scratch slices of one and two elements.
func oiUpstreamError(data []byte, val, sub [][]byte) (typ, msg string) {
	typ, msg = "api_error", "upstream stream failed"
	if jsonpeek.Members(data, oiNamesError, val) && jsonpeek.Members(val[0], oiNamesErrorObj, sub) {
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

// oiAppendUsage appends an OpenAI usage object.
func oiAppendUsage(b []byte, u oiUsage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, u.TotalTokens, 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokensDetails.CachedTokens, 10)
	return append(b, "}}"...)
}

// oiEmptyObject reports whether v is {} (with any inner whitespace).
func oiEmptyObject(v []byte) bool {
	return len(bytes.TrimSpace(v[1:len(v)-1])) == 0
}
