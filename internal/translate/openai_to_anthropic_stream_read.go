package translate

// OpenAI Chat Completions chunk → Anthropic events: reading a chunk's
// choice, deltas, tool calls, finish reason, usage and errors (the state
// machine itself is in openai_to_anthropic_stream.go).

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// choice handles one element of choices. Only the first choice (index 0 or
// none) is read: an Anthropic message has one.
func (s *OpenAIToAnthropicStream) choice(b []byte) {
	var idx, delta, finish, stopR, matched []byte
	if jsonpeek.Object(b, func(key []byte, start, end int) bool {
		v := b[start:end]
		switch string(key) {
		case "index":
			idx = v
		case "delta":
			delta = v
		case "finish_reason":
			finish = v
		case "stop_reason": // vLLM: the stop string or token that matched
			stopR = v
		case "matched_stop": // SGLang: the same
			matched = v
		}
		return true
	}) != nil {
		return
	}
	if !stZeroIndex(idx) {
		return
	}
	if len(delta) > 0 && delta[0] == '{' {
		s.delta(delta)
	}
	if f, ok := s.str(finish); ok && len(f) > 0 && !s.done {
		s.finishReason(f, stopR, matched)
	}
}

// delta handles a choice's delta: reasoning first, then content, then tool
// calls, which is the order they take in a message.
func (s *OpenAIToAnthropicStream) delta(b []byte) {
	var content, refusal, reasoning, tools, fcall []byte
	rank := len(s.reasoning)
	jsonpeek.Object(b, func(key []byte, start, end int) bool {
		v := b[start:end]
		switch string(key) {
		case "content":
			content = v
		case "refusal":
			refusal = v
		case "tool_calls":
			tools = v
		case "function_call":
			fcall = v
		default:
			// A vendor that sends two reasoning fields (vLLM while renaming
			// reasoning_content to reasoning) sends the same text twice:
			// take the preferred one only.
			for i, f := range s.reasoning[:rank] {
				if string(key) == f && len(v) > 2 && v[0] == '"' {
					reasoning, rank = v, i
					break
				}
			}
		}
		return true
	})
	if t, ok := s.str(reasoning); ok {
		s.channelText(stThinking, t)
	}
	switch {
	case len(content) > 0 && content[0] == '"':
		t, _ := s.str(content)
		s.channelText(stText, t)
	case len(content) > 0 && content[0] == '[':
		// Content parts ({"type":"text","text":…}), as a few vendors stream.
		jsonpeek.Array(content, func(start, end int) bool {
			s.contentPart(content[start:end])
			return true
		})
	}
	// An OpenAI refusal is the model's answer to the user; it travels as
	// text (the finish_reason says content_filter when it matters).
	if t, ok := s.str(refusal); ok {
		s.channelText(stText, t)
	}
	if len(tools) > 0 && tools[0] == '[' && !s.done {
		pos := 0
		jsonpeek.Array(tools, func(start, end int) bool {
			s.toolEntry(tools[start:end], pos, false)
			pos++
			return !s.done
		})
	}
	if len(fcall) > 0 && fcall[0] == '{' && !s.done {
		s.toolEntry(fcall, 0, true)
	}
	if !s.done {
		s.drain(false)
	}
}

// The members of a content part, of a tool call and of its function that
// the stream reads (shared so that reading allocates nothing). The chunk's
// and the choice's members, read for every chunk, are picked with a switch
// instead: jsonpeek.Members compares each key with each name, and there
// made a text chunk 3% slower (6% more instructions).
var (
	stNamesPart     = []string{"type", "text"}
	stNamesTool     = []string{"index", "id", "function"}
	stNamesFunction = []string{"name", "arguments"}
)

// contentPart handles one element of a content array: text parts are
// text, other parts are dropped.
func (s *OpenAIToAnthropicStream) contentPart(b []byte) {
	var v [2][]byte // type, text
	if jsonpeek.Members(b, stNamesPart, v[:]) != nil || string(v[0]) != `"text"` {
		return
	}
	if t, ok := s.str(v[1]); ok {
		s.channelText(stText, t)
	}
}

// channelText sends reasoning or content text, joining a character that a
// previous fragment cut off.
func (s *OpenAIToAnthropicStream) channelText(kind stKind, t []byte) {
	c := &s.textCarry
	if kind == stThinking {
		c = &s.thinkingCarry
	}
	s.fragment(kind, s.join(c, t))
}

// fragment sends text or reasoning: into the open block of its kind, or a
// new block, or, while an incomplete tool call holds the open block, into
// the queue behind it.
func (s *OpenAIToAnthropicStream) fragment(kind stKind, b []byte) {
	if len(b) == 0 {
		// An empty content ("" or a role-only first chunk) opens nothing
		// (PROTOCOL §11a; empty text blocks are rejected on replay,
		// VENDORS C.14).
		return
	}
	if len(s.queue) == 0 && !s.blocked() {
		if s.open != kind {
			s.closeBlock()
			s.openBlock(kind)
		}
		s.textDelta(kind, b)
		return
	}
	if !s.hold(len(b)) {
		return
	}
	if n := len(s.queue); n > 0 && s.queue[n-1].kind == kind {
		s.queue[n-1].text = append(s.queue[n-1].text, b...)
		return
	}
	s.queue = append(s.queue, stSeg{kind: kind, text: append([]byte(nil), b...)})
}

// hold accounts for n more buffered bytes, and fails the stream if that is
// too many.
func (s *OpenAIToAnthropicStream) hold(n int) bool {
	s.buffered += n
	if s.buffered > stMaxBuffered {
		s.fail("api_error", "upstream stream could not be translated: too much output held back")
		return false
	}
	return true
}

// toolEntry handles one element of delta.tool_calls (pos is its position
// there), or, with legacy, the deprecated delta.function_call.
func (s *OpenAIToAnthropicStream) toolEntry(b []byte, pos int, legacy bool) {
	var v [3][]byte // index, id, function
	if !legacy {
		if jsonpeek.Members(b, stNamesTool, v[:]) != nil {
			return
		}
	} else {
		v[2] = b
	}
	idx, id, fn := v[0], v[1], v[2]
	var f [2][]byte // name, arguments
	if len(fn) > 0 && fn[0] == '{' {
		jsonpeek.Members(fn, stNamesFunction, f[:])
	}
	name, args := f[0], f[1]
	key, hasKey := stInt(idx)
	switch {
	case legacy:
		key = -1 // its own key: it cannot be mixed up with tool_calls
	case !hasKey:
		key = pos
	}
	idv, _ := s.str(id)
	namev, _ := s.str(name)
	var frag []byte
	if len(args) > 0 {
		switch args[0] {
		case '"':
			frag, _ = s.str(args)
		case '{', '[':
			// Arguments sent as a JSON value instead of a string of JSON.
			frag = args
		}
	}

	if len(idv) == 0 && len(namev) == 0 && len(frag) == 0 {
		return // nothing to say, like DashScope's trailing "function":{}
	}
	ci := s.findCall(key, idv, namev, len(bytes.TrimSpace(frag)) > 0)
	if ci < 0 {
		s.fail("api_error", "upstream stream could not be translated: too many tool calls")
		return
	}
	c := &s.calls[ci]
	if s.oneTool && ci > 0 {
		// The client allowed one tool call: later calls are closed before
		// they open, so every fragment of theirs is dropped (see args).
		if c.state == stCallLimbo && !c.named {
			c.state = stCallClosed
		}
		if len(namev) > 0 && !c.named {
			c.name, c.named = string(namev), true
			s.droppedCalls = append(s.droppedCalls, c.name)
		}
		return
	}
	if len(idv) > 0 && c.upID == "" {
		c.upID = string(idv)
	}
	if len(frag) > 0 {
		s.args(ci, frag)
	}
	if len(namev) > 0 && !c.named {
		c.name, c.named = string(namev), true
		if c.state == stCallLimbo {
			c.state = stCallQueued
			s.queue = append(s.queue, stSeg{kind: stTool, call: ci})
		}
	}
}

// findCall returns the s.calls index of the call a tool-call delta belongs
// to, adding a call if it starts one. A non-empty id that a call already
// has identifies it (some vendors repeat the id on every delta; DashScope
// sends id:"" on later ones). Otherwise the delta's key does: its index, or
// without one its position in tool_calls (PROTOCOL §9: Gemini, Ollama,
// mistral.rs and LM Studio omit index), matched against the latest call
// with that key. A key is ambiguous when a vendor reuses it for the next
// call, so a delta that plainly starts a call starts a new one: a new id
// where the call has another; a name for a call that has one and whose
// arguments are already complete; or more arguments for a call whose
// arguments are complete (JSON allows nothing after a complete object but
// whitespace). It returns -1 when the stream has too many calls.
func (s *OpenAIToAnthropicStream) findCall(key int, id, name []byte, args bool) int {
	if len(id) > 0 {
		for i := len(s.calls) - 1; i >= 0; i-- {
			if s.calls[i].upID == string(id) {
				return i
			}
		}
	}
	for i := len(s.calls) - 1; i >= 0; i-- {
		c := &s.calls[i]
		if c.key != key {
			continue
		}
		done := c.scan.complete()
		fresh := len(id) > 0 && c.upID != "" ||
			len(name) > 0 && c.named && (c.name != string(name) || done) ||
			len(id) > 0 && c.named && done ||
			args && done
		if !fresh {
			return i
		}
		break
	}
	if len(s.calls) >= stMaxCalls {
		return -1
	}
	s.calls = append(s.calls, stCall{key: key})
	return len(s.calls) - 1
}

// args takes an arguments fragment of call ci: sent at once if its block is
// open, buffered if it waits.
func (s *OpenAIToAnthropicStream) args(ci int, frag []byte) {
	c := &s.calls[ci]
	if c.state == stCallClosed {
		// A call is closed before the finish only once its arguments are a
		// complete JSON object, after which JSON allows only whitespace;
		// anything else would make the arguments invalid. After the finish,
		// a call is not expected to continue.
		return
	}
	frag = s.join(&c.carry, frag)
	if len(frag) == 0 {
		return
	}
	c.scan.feed(frag)
	if c.state == stCallOpen {
		s.inputDelta(frag)
		return
	}
	if s.hold(len(frag)) {
		c.args = append(c.args, frag...)
	}
}

// blocked reports whether the open block is a tool call whose arguments are
// not yet a complete JSON object: it must stay open, since Anthropic allows
// no deltas to a closed block, and anything else waits.
func (s *OpenAIToAnthropicStream) blocked() bool {
	return s.open == stTool && !s.calls[s.openCall].scan.complete()
}

// drain gives the open block to what waits in the queue, in arrival order,
// as long as the open block is not blocked; with force (at the finish), to
// everything, including calls that never got a name.
//
// This is the policy for parallel tool calls. Anthropic allows one open
// block, OpenAI interleaves calls by index. Most upstreams send one call's
// deltas after the other (OpenAI, Zhipu, DashScope, Moonshot): when call 1
// appears, call 0's arguments are complete, so call 0 closes and call 1
// streams live. Should an upstream interleave fragments of incomplete calls,
// the first keeps the block and streams live, the others are buffered per
// call and sent whole when their turn comes, which is when the open call's
// arguments are complete, or at the finish. Text and reasoning arriving
// meanwhile queue up the same way. Nothing is reordered within a call or a
// channel, and nothing is mixed between calls.
func (s *OpenAIToAnthropicStream) drain(force bool) {
	if force {
		for i := range s.calls {
			c := &s.calls[i]
			if c.state != stCallLimbo {
				continue
			}
			if len(c.args) == 0 && c.carry.n == 0 && c.upID == "" {
				c.state = stCallClosed // nothing but an empty delta: drop it
				continue
			}
			// Arguments that never got a name still reach the client, as a
			// call to "" that it can refuse, rather than vanish.
			c.state = stCallQueued
			s.queue = append(s.queue, stSeg{kind: stTool, call: i})
		}
	}
	for len(s.queue) > 0 {
		if !force && s.blocked() {
			return
		}
		seg := s.queue[0]
		n := copy(s.queue, s.queue[1:])
		s.queue[n] = stSeg{}
		s.queue = s.queue[:n]
		s.closeBlock()
		if seg.kind == stTool {
			s.buffered -= len(s.calls[seg.call].args)
			s.openTool(seg.call)
		} else {
			s.buffered -= len(seg.text)
			s.openBlock(seg.kind)
			s.textDelta(seg.kind, seg.text)
		}
	}
}

// finishReason handles a choice's finish_reason: the message's content is
// over, so everything pending is sent and the open block closed; the
// message itself ends when usage, [DONE] or EOF comes.
func (s *OpenAIToAnthropicStream) finishReason(f, stopR, matched []byte) {
	s.flushCarries()
	s.drain(true)
	s.closeBlock()
	if s.done {
		return
	}
	s.finishSeen = true
	s.stopSeq = ""
	switch string(f) {
	case "stop":
		s.finish = "end_turn"
		// OpenAI does not say which stop sequence matched (PROTOCOL §11);
		// vLLM (stop_reason) and SGLang (matched_stop) do.
		for _, v := range [2][]byte{stopR, matched} {
			if m, ok := s.str(v); ok {
				for _, seq := range s.stopSeqs {
					if seq != "" && string(m) == seq {
						s.finish, s.stopSeq = "stop_sequence", seq
					}
				}
			}
		}
	case "length":
		s.finish = "max_tokens"
	case "tool_calls", "function_call":
		s.finish = "tool_use"
	case "content_filter":
		s.finish = "refusal"
	default:
		// insufficient_system_resource (DeepSeek) and other vendor values
		// must still map to a valid stop_reason (VENDORS C.9).
		s.finish = "end_turn"
	}
}

// readUsage reads a usage object and reports whether it was one. Counts are
// totals: the last report wins (some hosts repeat usage on every chunk).
func (s *OpenAIToAnthropicStream) readUsage(b []byte) bool {
	var u stUsage
	var cachedSeen bool
	var hit int64
	if jsonpeek.Object(b, func(key []byte, start, end int) bool {
		v := b[start:end]
		switch string(key) {
		case "prompt_tokens":
			u.prompt, _ = stInt64(v)
		case "completion_tokens":
			u.completion, _ = stInt64(v)
		case "prompt_cache_hit_tokens": // DeepSeek
			hit, _ = stInt64(v)
		case "prompt_tokens_details":
			if len(v) > 0 && v[0] == '{' {
				jsonpeek.Object(v, func(key []byte, start, end int) bool {
					switch string(key) {
					case "cached_tokens":
						u.cached, cachedSeen = stInt64(v[start:end])
					case "cache_write_tokens":
						u.written, _ = stInt64(v[start:end])
					}
					return true
				})
			}
		}
		return true
	}) != nil {
		return false
	}
	if !cachedSeen {
		u.cached = hit
	}
	s.usage, s.usageSeen = u, true
	return true
}

// vendorError reads a chunk's "error" member: {"message","type","code"}
// (OpenAI, DeepSeek), {"code":"1312","message"} (Zhipu) or a bare string.
func (s *OpenAIToAnthropicStream) vendorError(v []byte) (typ, msg string, ok bool) {
	var m, t, code []byte
	switch {
	case len(v) == 0:
		return "", "", false
	case v[0] == '"':
		m, _ = s.str(v)
	case v[0] == '{':
		jsonpeek.Object(v, func(key []byte, start, end int) bool {
			switch string(key) {
			case "message":
				m, _ = s.str(v[start:end])
			case "type":
				t, _ = s.str(v[start:end])
			case "code":
				code = v[start:end]
				if c, ok := s.str(code); ok {
					code = c
				}
			}
			return true
		})
		if len(m) == 0 && len(t) == 0 && (len(code) == 0 || string(code) == "null") {
			return "", "", false // "error":{} or {"message":null}
		}
	default:
		return "", "", false // null, false, 0: no error
	}
	if len(m) == 0 {
		m = []byte("upstream error")
		if len(t) > 0 {
			m = append(m, ": "...)
			m = append(m, t...)
		}
	}
	typ = "api_error"
	// Zhipu 1312: model overloaded (VENDORS B.1); OpenAI, DeepSeek and
	// others say "overloaded" in the type or message.
	if string(code) == "1312" || stContainsFold(t, "overload") || stContainsFold(m, "overload") ||
		stContainsFold(code, "overload") {
		typ = "overloaded_error"
	}
	if len(m) > stMaxErrorMessage {
		cut := stMaxErrorMessage
		for cut > 0 && !utf8.RuneStart(m[cut]) {
			cut--
		}
		m = m[:cut]
	}
	return typ, string(m), true
}

// finalize sends what is pending, message_delta and message_stop.
func (s *OpenAIToAnthropicStream) finalize() {
	if s.done {
		return
	}
	s.flushCarries()
	s.drain(true)
	s.closeBlock()
	if s.done {
		return // failed on the way
	}
	reason := "end_turn" // [DONE] without a finish_reason
	if s.finishSeen {
		reason = s.finish
	}
	// A tool call means tool_use whatever the finish_reason said (OpenAI,
	// vLLM and Ollama say "stop", VENDORS C.8), except "length": the
	// arguments are then cut off, which is what max_tokens tells the client
	// (the Anthropic API itself answers max_tokens with a partial tool_use).
	if s.toolUsed && reason != "max_tokens" {
		reason = "tool_use"
	}
	s.stopReason = reason
	t := s.Usage()

	s.begin("message_delta")
	s.out = append(s.out, `{"type":"message_delta","delta":{"stop_reason":"`...)
	s.out = append(s.out, reason...)
	s.out = append(s.out, `","stop_sequence":`...)
	if reason == "stop_sequence" {
		s.out = jsonpeek.AppendString(s.out, s.stopSeq)
	} else {
		s.out = append(s.out, "null"...)
	}
	// Cumulative totals, which the SDKs assign (PROTOCOL §4): the real
	// input count replaces message_start's estimate.
	s.out = append(s.out, `},"usage":{"input_tokens":`...)
	s.out = strconv.AppendInt(s.out, t.Input, 10)
	if t.CacheCreation > 0 {
		s.out = append(s.out, `,"cache_creation_input_tokens":`...)
		s.out = strconv.AppendInt(s.out, t.CacheCreation, 10)
	}
	s.out = append(s.out, `,"cache_read_input_tokens":`...)
	s.out = strconv.AppendInt(s.out, t.CacheRead, 10)
	s.out = append(s.out, `,"output_tokens":`...)
	s.out = strconv.AppendInt(s.out, t.Output, 10)
	s.out = append(s.out, "}}"...)
	s.end()

	s.begin("message_stop")
	s.out = append(s.out, `{"type":"message_stop"}`...)
	s.end()
	s.done = true
}
