package translate

// Anthropic Messages events → OpenAI chat.completion.chunk frames, for
// OpenAI clients (the stream state machine and its frame queue).

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

// Kinds of the content block a stream has open.
const (
	oiBlockNone = iota
	oiBlockText
	oiBlockThinking
	oiBlockTool
	oiBlockOther // redacted_thinking, server tools, results: not translated
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
	info     OpenAIRequestInfo
	created  int64
	aeReader        // the frames, Next, done
	prefix   []byte // `{"id":…,"object":"chat.completion.chunk","created":…,"model":…,`

	started  bool // the role chunk is out
	finished bool // the finish chunk is out

	block    int // index of the open content block, -1 if none
	kind     int // its kind
	toolIdx  int // its tool call index, for oiBlockTool
	argsSent bool
	input    []byte // the tool_use start's input, when it is not {}

	tools int // tool calls so far
	usage anthropic.Totals
}

// NewAnthropicToOpenAIStream starts the translation of one stream. info may be nil.
func NewAnthropicToOpenAIStream(info *OpenAIRequestInfo) *AnthropicToOpenAIStream {
	s := &AnthropicToOpenAIStream{block: -1, created: oiCreated(info)}
	if info != nil {
		s.info = *info
	}
	return s
}

// start writes the role chunk, once. id and model come from message_start,
// or are made up when the stream has none.
func (s *AnthropicToOpenAIStream) start(id, model string) {
	model, ok := startOnce(&s.started, s.info.Model, model)
	if !ok {
		return
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
	switch e := s.read(ev); e.kind {
	case aeMessageStart:
		if e.usage != nil {
			anthropic.MergeUsage(e.usage, &s.usage)
		}
		s.start(oiStringOf(e.id), oiStringOf(e.model))
	case aeBlockStart:
		if !s.finished {
			s.blockStart(e)
		}
	case aeBlockDelta:
		if !s.finished && s.kind != oiBlockNone && e.index == s.block {
			s.blockDelta(e.delta)
		}
	case aeBlockStop:
		if e.index == s.block && !s.finished {
			s.endBlock()
		}
	case aeMessageDelta:
		if e.usage != nil {
			anthropic.MergeUsage(e.usage, &s.usage)
		}
		s.finish(oiStringOf(e.delta[4]))
	case aeMessageStop:
		s.finish("")
		s.end()
	case aeError:
		s.fail(e.errType, e.errMsg)
	}
}

// blockStart opens the block a content_block_start starts.
func (s *AnthropicToOpenAIStream) blockStart(e aeEvent) {
	s.start("", "")
	s.endBlock()
	s.block = e.index
	b := e.block
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
}

// blockDelta writes the chunk of a delta of the open block's own kind.
func (s *AnthropicToOpenAIStream) blockDelta(d [][]byte) {
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
}

// end writes the usage chunk (with IncludeUsage) and [DONE].
func (s *AnthropicToOpenAIStream) end() {
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
}

// Finish tells the stream that the upstream ended (err nil: cleanly, at a
// frame boundary) or failed. A stream that has not seen message_stop ends
// with an error chunk.
func (s *AnthropicToOpenAIStream) Finish(err error) {
	if s.ready() {
		s.fail("api_error", oiEndMessage(err))
	}
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
