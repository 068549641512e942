package translate

// OpenAI Chat Completions chunk → Anthropic events: writing the Anthropic
// events (message, blocks, deltas, the error event).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// fail queues an error event, which ends the stream. An open block stays
// unclosed, as in the real API's mid-stream errors.
func (s *OpenAIToAnthropicStream) fail(typ, msg string) {
	if s.done {
		return
	}
	s.start()
	s.failed = msg
	s.begin("error")
	s.out = append(s.out, `{"type":"error","error":{"type":"`...)
	s.out = append(s.out, typ...)
	s.out = append(s.out, `","message":`...)
	s.out = jsonpeek.AppendString(s.out, msg)
	s.out = append(s.out, "}}"...)
	s.end()
	s.done = true
}

// start queues message_start, once.
func (s *OpenAIToAnthropicStream) start() {
	if s.messageStarted {
		return
	}
	s.messageStarted = true
	s.begin("message_start")
	s.out = append(s.out, `{"type":"message_start","message":{"id":`...)
	s.out = jsonpeek.AppendString(s.out, s.messageID)
	s.out = append(s.out, `,"type":"message","role":"assistant","model":`...)
	s.out = jsonpeek.AppendString(s.out, s.model)
	s.out = append(s.out, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":`...)
	s.out = strconv.AppendInt(s.out, s.inputEstimate, 10)
	s.out = append(s.out, `,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`...)
	s.end()
}

// openBlock opens a text or thinking block.
func (s *OpenAIToAnthropicStream) openBlock(kind stKind) {
	s.blockStart()
	if kind == stThinking {
		s.out = append(s.out, `{"type":"thinking","thinking":"","signature":""}}`...)
		if s.thinkingHash == nil {
			s.thinkingHash = sha256.New()
		}
		s.thinkingHash.Reset()
	} else {
		s.out = append(s.out, `{"type":"text","text":""}}`...)
	}
	s.end()
	s.open = kind
	s.ping()
}

// openTool opens call ci's tool_use block and sends what it buffered.
func (s *OpenAIToAnthropicStream) openTool(ci int) {
	c := &s.calls[ci]
	s.blockStart()
	s.out = append(s.out, `{"type":"tool_use","id":`...)
	if c.upID != "" {
		s.out = jsonpeek.AppendString(s.out, c.upID)
	} else {
		s.out = s.appendToolID(s.out, ci)
	}
	s.out = append(s.out, `,"name":`...)
	s.out = jsonpeek.AppendString(s.out, c.name)
	s.out = append(s.out, `,"input":{}}}`...)
	s.end()
	s.open, s.openCall, s.toolUsed = stTool, ci, true
	c.state = stCallOpen
	s.ping()
	// The real API's first input_json_delta is "" (PROTOCOL §4).
	s.inputDelta(nil)
	if len(c.args) > 0 {
		s.inputDelta(c.args)
	}
	c.args = nil
}

// appendToolID appends the id made up for call ci: the message id's unique
// part and the call's number, so it is deterministic and unique.
func (s *OpenAIToAnthropicStream) appendToolID(dst []byte, ci int) []byte {
	base := strings.TrimPrefix(s.messageID, "msg_")
	dst = append(dst, '"')
	dst = append(dst, stToolIDPrefix...)
	start := len(dst)
	dst = append(dst, base...)
	dst = append(dst, '_')
	dst = strconv.AppendInt(dst, int64(ci), 10)
	// Keep to the characters of Anthropic's ids, which need no escaping.
	for i := start; i < len(dst); i++ {
		if c := dst[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			dst[i] = '_'
		}
	}
	return append(dst, '"')
}

// blockStart writes the start of a content_block_start event, up to the
// content block, and takes the next index.
func (s *OpenAIToAnthropicStream) blockStart() {
	s.openIndex = s.nextIndex
	s.nextIndex++
	s.begin("content_block_start")
	s.out = append(s.out, `{"type":"content_block_start","index":`...)
	s.out = strconv.AppendInt(s.out, int64(s.openIndex), 10)
	s.out = append(s.out, `,"content_block":`...)
}

// ping queues the ping the real API sends after the first block's start.
func (s *OpenAIToAnthropicStream) ping() {
	if s.pinged {
		return
	}
	s.pinged = true
	s.begin("ping")
	s.out = append(s.out, `{"type":"ping"}`...)
	s.end()
}

// closeBlock closes the open block, if any.
func (s *OpenAIToAnthropicStream) closeBlock() {
	switch s.open {
	case stNone:
		return
	case stThinking:
		var sum [sha256.Size]byte
		s.deltaStart()
		s.out = append(s.out, `{"type":"signature_delta","signature":"`+stSignaturePrefix...)
		s.out = hex.AppendEncode(s.out, s.thinkingHash.Sum(sum[:0])[:8])
		s.out = append(s.out, `"}}`...)
		s.end()
	case stTool:
		c := &s.calls[s.openCall]
		if c.carry.n > 0 {
			// A character cut off at the very end: it becomes U+FFFD.
			b := c.carry.b
			n := c.carry.n
			c.carry.n = 0
			s.inputDelta(b[:n])
		}
		c.state = stCallClosed
	}
	s.begin("content_block_stop")
	s.out = append(s.out, `{"type":"content_block_stop","index":`...)
	s.out = strconv.AppendInt(s.out, int64(s.openIndex), 10)
	s.out = append(s.out, '}')
	s.end()
	s.open = stNone
}

// flushCarries sends text and reasoning bytes still held back: the stream
// is over, so they will not be completed; they become U+FFFD.
func (s *OpenAIToAnthropicStream) flushCarries() {
	for _, kind := range [2]stKind{stThinking, stText} {
		c := &s.textCarry
		if kind == stThinking {
			c = &s.thinkingCarry
		}
		if c.n > 0 {
			b := c.b
			n := c.n
			c.n = 0
			s.fragment(kind, b[:n])
		}
	}
}

func (s *OpenAIToAnthropicStream) deltaStart() {
	s.begin("content_block_delta")
	s.out = append(s.out, `{"type":"content_block_delta","index":`...)
	s.out = strconv.AppendInt(s.out, int64(s.openIndex), 10)
	s.out = append(s.out, `,"delta":`...)
}

func (s *OpenAIToAnthropicStream) textDelta(kind stKind, b []byte) {
	s.deltaStart()
	if kind == stThinking {
		s.out = append(s.out, `{"type":"thinking_delta","thinking":`...)
		s.hashThinking(b)
	} else {
		s.out = append(s.out, `{"type":"text_delta","text":`...)
	}
	s.out = jsonpeek.AppendStringBytes(s.out, b)
	s.out = append(s.out, "}}"...)
	s.end()
}

// hashThinking adds b to the thinking block's hash as the client will read
// it: each invalid byte as U+FFFD.
func (s *OpenAIToAnthropicStream) hashThinking(b []byte) {
	for len(b) > 0 {
		i := 0
		for i < len(b) {
			if b[i] < utf8.RuneSelf {
				i++
				continue
			}
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		s.thinkingHash.Write(b[:i])
		if i < len(b) {
			s.thinkingHash.Write([]byte("\uFFFD"))
			i++
		}
		b = b[i:]
	}
}

func (s *OpenAIToAnthropicStream) inputDelta(b []byte) {
	s.deltaStart()
	s.out = append(s.out, `{"type":"input_json_delta","partial_json":`...)
	s.out = jsonpeek.AppendStringBytes(s.out, b)
	s.out = append(s.out, "}}"...)
	s.end()
}

// begin starts a frame: "event: NAME\ndata: ", the JSON to follow. Once
// the stream is done, frames are written and then dropped by end: nothing
// can follow message_stop or an error event, whatever path tries.
func (s *OpenAIToAnthropicStream) begin(name string) {
	if s.done {
		s.muted = true
	}
	e := stEvent{raw: len(s.out)}
	s.out = append(s.out, "event: "...)
	e.name = len(s.out)
	s.out = append(s.out, name...)
	e.nameEnd = len(s.out)
	s.out = append(s.out, "\ndata: "...)
	e.data = len(s.out)
	s.evs = append(s.evs, e)
}

// end ends the frame begun last. The JSON holds no line break (strings
// escape them), so it is one data line.
func (s *OpenAIToAnthropicStream) end() {
	e := &s.evs[len(s.evs)-1]
	if s.muted {
		s.out, s.evs, s.muted = s.out[:e.raw], s.evs[:len(s.evs)-1], false
		return
	}
	e.dataEnd = len(s.out)
	s.out = append(s.out, "\n\n"...)
	e.end = len(s.out)
}

// str decodes a JSON string value (a span reported by jsonpeek.Object):
// the contents, unescaped into s.scratch if they hold escapes, else
// aliasing v. Invalid UTF-8 is kept as is, so join can reassemble split
// characters; the writer replaces what stays invalid. ok is false if v is
// not a string (absent, null, a number…).
func (s *OpenAIToAnthropicStream) str(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	in := v[1 : len(v)-1]
	if bytes.IndexByte(in, '\\') < 0 {
		return in, true
	}
	start := len(s.scratch)
	s.scratch = jsonpeek.AppendUnquotedRaw(s.scratch, in)
	return s.scratch[start:len(s.scratch):len(s.scratch)], true
}

// join prepends the bytes c holds to b and holds back the start of a
// character that b cuts off at its end.
func (s *OpenAIToAnthropicStream) join(c *stCarry, b []byte) []byte {
	if c.n > 0 {
		start := len(s.scratch)
		s.scratch = append(s.scratch, c.b[:c.n]...)
		s.scratch = append(s.scratch, b...)
		b = s.scratch[start:len(s.scratch):len(s.scratch)]
		c.n = 0
	}
	if k := stCutTail(b); k > 0 {
		c.n = uint8(copy(c.b[:], b[len(b)-k:]))
		b = b[:len(b)-k]
	}
	return b
}
