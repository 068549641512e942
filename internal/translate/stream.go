package translate

// The stream state machine: OpenAI-compatible Chat Completions chunks in,
// Anthropic Messages events out (PROTOCOL §4 for the output, §9 for the
// input and its known non-conformance, §11 "Streaming" for the mapping).
//
// Output rules it keeps, whatever the upstream sends:
//   - message_start first; then blocks with contiguous indexes from 0, one
//     open at a time, each content_block_start … deltas of the block's own
//     type … content_block_stop; then message_delta and message_stop, or a
//     single error event; nothing after either.
//   - Every data line is one JSON object whose "type" is the event name, and
//     valid UTF-8: invalid bytes become U+FFFD, as encoding/json writes them.
//
// Decisions (the why is next to the code below):
//   - A ping follows the first content_block_start, as the real API does; a
//     tool_use block's first delta is an input_json_delta with
//     partial_json "", also as the real API does.
//   - A thinking block built from reasoning_content/reasoning closes with a
//     signature_delta carrying a marker, "ferry:" and a hash of the block's
//     text: it says "not signed by Anthropic" (see stSignaturePrefix).
//   - Parallel tool calls: one tool_use block streams live; a call first
//     seen while another call's arguments are still incomplete JSON waits,
//     its arguments buffered, and gets its turn as soon as the open call's
//     arguments form a complete JSON object (or at the finish); text and
//     reasoning arriving meanwhile wait the same way. See Stream.drain.
//   - finish_reason closes the open block; message_delta waits for usage,
//     [DONE] or EOF. A tool call makes stop_reason tool_use, except after
//     finish_reason "length" (max_tokens: the arguments are cut off).
//   - EOF before any finish_reason, a broken body, an "error" chunk or a
//     chunk that is not a JSON object end the stream with an error event.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

// stSignaturePrefix starts the signature of every thinking block that Ferry
// builds from an OpenAI-compatible upstream's reasoning text. The full value
// is the prefix and the first 16 hex digits of the SHA-256 of the block's
// thinking text, as the client accumulates it: deterministic, and the same
// value response.go's Signature gives a non-streaming answer's thinking.
// It is a marker, not a signature: nothing signed the block, and Anthropic
// rejects such a block if it is replayed to it ("Invalid `signature` in
// `thinking` block", VENDORS C.2). Anthropic's signatures are base64 and
// never contain ':', so a request translator recognises ours by the prefix
// and drops the block (or turns it into reasoning_content) instead of
// forwarding it to Anthropic.
const stSignaturePrefix = "ferry:"

// stToolIDPrefix starts the tool_use ids Ferry makes up for calls whose
// upstream gave none, in the shape of Anthropic's ids ("toolu_01…").
const stToolIDPrefix = "toolu_"

// stMaxErrorMessage bounds a vendor's error message copied into an error
// event.
const stMaxErrorMessage = 1024

// Bounds on what a misbehaving upstream can make a Stream hold: tool calls
// (a real answer has a handful; Claude Code runs a few dozen at most) and
// bytes buffered while the open block is blocked. Beyond them the stream
// fails with an error event rather than growing without end.
const (
	stMaxCalls    = 1024
	stMaxBuffered = 32 << 20
)

// stDefaultReasoning is used when NewStream gets no Profile (VENDORS C.20:
// DeepSeek, Zhipu and DashScope say reasoning_content, vLLM and OpenRouter
// reasoning).
var stDefaultReasoning = []string{"reasoning_content", "reasoning"}

// stKind is the kind of a content block (and of a text channel).
type stKind uint8

const (
	stNone stKind = iota
	stText
	stThinking
	stTool
)

// stCallState is where a tool call is in its life.
type stCallState uint8

const (
	stCallLimbo  stCallState = iota // seen, but no name yet: arguments are buffered
	stCallQueued                    // named, waiting for its turn in s.queue
	stCallOpen                      // its tool_use block is the open block
	stCallClosed                    // its block was closed; later fragments are dropped
)

// stCarry holds the bytes at the end of a fragment that begin a UTF-8
// sequence the fragment cuts off, to be joined with the next fragment of the
// same channel, so a character split across two chunks is not turned into
// two U+FFFD.
type stCarry struct {
	b [utf8.UTFMax - 1]byte
	n uint8
}

// stScan follows a tool call's arguments far enough to tell when they form
// one complete JSON object: after that JSON allows only whitespace, so the
// call can give up its turn without anything being lost.
type stScan struct {
	state uint8 // stScanStart, stScanObject, stScanDone, stScanOther
	inStr bool
	esc   bool
	depth int32
}

const (
	stScanStart  = iota // only whitespace so far
	stScanObject        // inside the top-level object
	stScanDone          // the top-level object has closed
	stScanOther         // the arguments are not a JSON object
)

func (sc *stScan) feed(b []byte) {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch sc.state {
		case stScanStart:
			switch c {
			case ' ', '\t', '\n', '\r':
			case '{':
				sc.state, sc.depth = stScanObject, 1
			default:
				sc.state = stScanOther
				return
			}
		case stScanObject:
			switch {
			case sc.inStr:
				switch {
				case sc.esc:
					sc.esc = false
				case c == '\\':
					sc.esc = true
				case c == '"':
					sc.inStr = false
				}
			case c == '"':
				sc.inStr = true
			case c == '{' || c == '[':
				sc.depth++
			case c == '}' || c == ']':
				sc.depth--
				if sc.depth == 0 {
					sc.state = stScanDone
					return
				}
			}
		default:
			return
		}
	}
}

func (sc *stScan) complete() bool { return sc.state == stScanDone }

// stCall is one upstream tool call.
type stCall struct {
	key   int    // the upstream's index, or the call's position in tool_calls if it had none
	upID  string // the upstream's id, "" if it gave none (yet)
	name  string
	named bool
	state stCallState
	args  []byte // argument text received but not yet sent
	scan  stScan
	carry stCarry
}

// stSeg is something waiting for its turn while an incomplete tool call
// holds the open block: a named tool call, or text or reasoning that
// arrived meanwhile.
type stSeg struct {
	kind stKind
	call int    // index in s.calls, for stTool
	text []byte // for stText and stThinking
}

// stEvent locates one queued frame in s.out.
type stEvent struct {
	raw, name, nameEnd, data, dataEnd, end int
}

// stUsage is the upstream's usage, as last reported.
type stUsage struct {
	prompt, completion, cached, written int64
}

// Stream turns one OpenAI-compatible Chat Completions stream into the
// Anthropic Messages event stream. Feed it the data of every upstream SSE
// event, then call End; after each call, drain Next. It does no I/O and
// keeps no reference to the data it is fed.
//
// A Stream is not safe for concurrent use.
type Stream struct {
	// Fixed by NewStream.
	model         string
	messageID     string
	inputEstimate int64
	stopSeqs      []string
	reasoning     []string // delta fields carrying reasoning text, by preference
	oneTool       bool     // disable_parallel_tool_use: calls after the first are dropped
	droppedCalls  []string // their names, as far as known

	// What has been sent.
	messageStarted bool
	pinged         bool
	open           stKind    // kind of the open block; stNone if none is open
	openIndex      int       // index of the open block
	openCall       int       // s.calls index of the open tool_use block
	nextIndex      int       // index of the next block
	toolUsed       bool      // a tool_use block was sent
	thinkingHash   hash.Hash // SHA-256 of the open thinking block's text

	// Tool calls and what waits for the open block.
	calls         []stCall
	queue         []stSeg
	buffered      int // bytes held in queued text and call arguments
	textCarry     stCarry
	thinkingCarry stCarry

	// The end of the message.
	finishSeen bool
	finish     string // stop_reason mapped from the last finish_reason
	stopSeq    string // the matched stop sequence, if the vendor said which
	usageSeen  bool
	usage      stUsage
	stopReason string // as sent in message_delta
	done       bool   // message_stop or error queued
	muted      bool   // the frame being written comes after the end: drop it
	failed     string // the message of the error event, if one was sent

	// Output: frames queued in out, located by evs[head:].
	out     []byte
	evs     []stEvent
	head    int
	scratch []byte // decoded strings of the chunk being fed
}

// NewStream returns a Stream for a request described by info, from an
// upstream described by p (nil: reasoning_content and reasoning are read as
// reasoning). messageID is the Anthropic message id ("msg_…"); it also
// seeds the ids made up for tool calls that come without one.
func NewStream(info *RequestInfo, p *Profile, messageID string) *Stream {
	s := &Stream{messageID: messageID, reasoning: stDefaultReasoning}
	if info != nil {
		s.model = info.Model
		s.inputEstimate = int64(max(info.InputEstimate, 0))
		s.stopSeqs = info.StopSequences
		s.oneTool = info.OneToolCall
	}
	if p != nil {
		s.reasoning = p.ReasoningFields
	}
	return s
}

// Next pops the next event ready to be sent. Raw is the whole frame,
// "event: NAME\ndata: JSON\n\n"; Name and Data are parts of it. The slices
// are valid until the next call to Feed or End. ok is false when no event
// is queued.
func (s *Stream) Next() (ev sse.Event, ok bool) {
	if s.head >= len(s.evs) {
		return sse.Event{}, false
	}
	e := s.evs[s.head]
	s.head++
	return sse.Event{
		Name: s.out[e.name:e.nameEnd:e.nameEnd],
		Data: s.out[e.data:e.dataEnd:e.dataEnd],
		Raw:  s.out[e.raw:e.end:e.end],
	}, true
}

// DroppedToolCalls is the error noting the tool calls dropped because the
// request set disable_parallel_tool_use, nil when none was: for the log.
func (s *Stream) DroppedToolCalls() error {
	if len(s.droppedCalls) == 0 {
		return nil
	}
	return &ExtraToolCallsError{Names: s.droppedCalls}
}

// Finished reports whether message_stop or an error event has been queued.
// Feed and End do nothing after that.
func (s *Stream) Finished() bool { return s.done }

// StopReason is the stop_reason sent in message_delta, "" before it (and
// after an error).
func (s *Stream) StopReason() string { return s.stopReason }

// Usage returns the message's token counts as far as they are known: what
// message_delta carried once it is sent; before that (or without upstream
// usage) the input estimate stands in for input tokens.
func (s *Stream) Usage() anthropic.Totals {
	if !s.usageSeen {
		return anthropic.Totals{Input: s.inputEstimate}
	}
	u := s.usage
	cached, written := max(u.cached, 0), max(u.written, 0)
	return anthropic.Totals{
		Input:         max(u.prompt-cached-written, 0),
		Output:        max(u.completion, 0),
		CacheRead:     cached,
		CacheCreation: written,
	}
}

// Feed takes the data of one upstream SSE event: a chunk's JSON or
// "[DONE]". Data that is empty or only whitespace is ignored.
//
// A chunk that is not a JSON object, or that carries an "error" member, or
// that would make the Stream hold too much (stMaxCalls, stMaxBuffered),
// queues an error event and ends the stream; Feed then returns an error
// saying why, for the log. The event for the client is queued either way,
// so drain Next before giving up on the stream.
func (s *Stream) Feed(data []byte) error {
	if s.done {
		return nil
	}
	s.reclaim()
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil
	}
	s.start()
	if string(data) == "[DONE]" {
		s.finalize()
		return s.failure()
	}
	choices, usage, errv, err := stMembers(data)
	if err != nil {
		if bytes.IndexByte(data, '\n') >= 0 && stSplittable(data) {
			// Two chunks in one event: an upstream left out the blank
			// line between "data:" lines (the DashScope sample in
			// vendor-samples §3b reads that way), and SSE joined them
			// with "\n". A pretty-printed chunk never gets here: it
			// parses as a whole.
			for line := range bytes.Lines(data) {
				if err := s.Feed(line); err != nil {
					return err
				}
			}
			return nil
		}
		s.fail("api_error", "upstream sent a malformed stream chunk")
		return fmt.Errorf("translate: upstream stream chunk: %w", err)
	}
	return s.chunk(choices, usage, errv)
}

// stSplittable reports whether every non-blank line of data is a JSON
// object or [DONE].
func stSplittable(data []byte) bool {
	for line := range bytes.Lines(data) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && string(line) != "[DONE]" && !jsonpeek.Valid(line) {
			return false
		}
	}
	return true
}

// stMembers validates a chunk and returns the members the stream reads.
func stMembers(data []byte) (choices, usage, errv []byte, err error) {
	err = jsonpeek.Object(data, func(key []byte, start, end int) bool {
		switch string(key) {
		case "choices":
			choices = data[start:end]
		case "usage":
			usage = data[start:end]
		case "error":
			errv = data[start:end]
		}
		return true
	})
	return choices, usage, errv, err
}

// End is called when the upstream body ended: err == nil at a clean EOF,
// otherwise the error that broke it. At EOF (io.ErrUnexpectedEOF, an EOF
// inside a frame, included) a stream that saw a finish_reason is finished
// normally (usage or [DONE] may be missing: "may be missing if the stream
// is interrupted", PROTOCOL §9); anything else is an error event,
// since the message may be cut short and the client must not take it for a
// whole one (Claude Code re-sends the request, PROTOCOL §4).
func (s *Stream) End(err error) {
	if s.done {
		return
	}
	s.reclaim()
	s.start()
	cut := errors.Is(err, io.ErrUnexpectedEOF) // EOF inside a frame
	switch {
	case (err == nil || cut) && s.finishSeen:
		// After finish_reason only usage and [DONE] are left to come; a
		// server that closes after "data: [DONE]\n" without the blank
		// line leaves a cut frame, not a cut message.
		s.finalize()
	case err == nil || cut:
		s.fail("api_error", "upstream stream ended before it finished")
	default:
		typ, msg := "api_error", "upstream stream failed"
		var ae *apierr.Error
		if errors.As(err, &ae) {
			if ae.Kind == apierr.Overloaded {
				typ = "overloaded_error"
			}
			if ae.Public != "" {
				msg = ae.Public
			}
		} else if strings.Contains(strings.ToLower(err.Error()), "overload") {
			typ = "overloaded_error"
		}
		s.fail(typ, msg)
	}
}

// reclaim reuses the output buffers once every queued event was taken.
func (s *Stream) reclaim() {
	if s.head == len(s.evs) {
		s.out, s.evs, s.head = s.out[:0], s.evs[:0], 0
	}
	s.scratch = s.scratch[:0]
}

// chunk handles the members of one chunk.
func (s *Stream) chunk(choices, usage, errv []byte) error {
	if typ, msg, ok := s.vendorError(errv); ok {
		// Some vendors report failures inside a 200 stream; the OpenAI SDK
		// throws on such a chunk too (PROTOCOL §9).
		s.fail(typ, msg)
		return fmt.Errorf("translate: upstream error in stream: %s", msg)
	}
	if len(choices) > 0 && choices[0] == '[' {
		for it := (stElems{b: choices}); it.next() && !s.done; {
			s.choice(it.elem)
		}
	}
	if s.done {
		return s.failure() // failed on the way (too many calls or held bytes)
	}
	if len(usage) > 0 && usage[0] == '{' && s.readUsage(usage) && s.finishSeen {
		// Zhipu puts usage in the finish_reason chunk, OpenAI and DashScope
		// in a later chunk with "choices":[] (VENDORS C.11).
		s.finalize()
	}
	return s.failure()
}

// failure returns the error behind the error event queued, if one was.
func (s *Stream) failure() error {
	if s.failed == "" {
		return nil
	}
	return errors.New("translate: " + s.failed)
}

// choice handles one element of choices. Only the first choice (index 0 or
// none) is read: an Anthropic message has one.
func (s *Stream) choice(b []byte) {
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
func (s *Stream) delta(b []byte) {
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
		for it := (stElems{b: content}); it.next(); {
			s.contentPart(it.elem)
		}
	}
	// An OpenAI refusal is the model's answer to the user; it travels as
	// text (the finish_reason says content_filter when it matters).
	if t, ok := s.str(refusal); ok {
		s.channelText(stText, t)
	}
	if len(tools) > 0 && tools[0] == '[' {
		for it := (stElems{b: tools}); it.next() && !s.done; {
			s.toolEntry(it.elem, it.pos, false)
		}
	}
	if len(fcall) > 0 && fcall[0] == '{' && !s.done {
		s.toolEntry(fcall, 0, true)
	}
	if !s.done {
		s.drain(false)
	}
}

func (s *Stream) contentPart(b []byte) {
	var typ, text []byte
	if jsonpeek.Object(b, func(key []byte, start, end int) bool {
		switch string(key) {
		case "type":
			typ = b[start:end]
		case "text":
			text = b[start:end]
		}
		return true
	}) != nil || string(typ) != `"text"` {
		return
	}
	if t, ok := s.str(text); ok {
		s.channelText(stText, t)
	}
}

// channelText sends reasoning or content text, joining a character that a
// previous fragment cut off.
func (s *Stream) channelText(kind stKind, t []byte) {
	c := &s.textCarry
	if kind == stThinking {
		c = &s.thinkingCarry
	}
	s.fragment(kind, s.join(c, t))
}

// fragment sends text or reasoning: into the open block of its kind, or a
// new block, or, while an incomplete tool call holds the open block, into
// the queue behind it.
func (s *Stream) fragment(kind stKind, b []byte) {
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
func (s *Stream) hold(n int) bool {
	s.buffered += n
	if s.buffered > stMaxBuffered {
		s.fail("api_error", "upstream stream could not be translated: too much output held back")
		return false
	}
	return true
}

// toolEntry handles one element of delta.tool_calls (pos is its position
// there), or, with legacy, the deprecated delta.function_call.
func (s *Stream) toolEntry(b []byte, pos int, legacy bool) {
	var idx, id, fn, name, args []byte
	if !legacy {
		if jsonpeek.Object(b, func(key []byte, start, end int) bool {
			switch string(key) {
			case "index":
				idx = b[start:end]
			case "id":
				id = b[start:end]
			case "function":
				fn = b[start:end]
			}
			return true
		}) != nil {
			return
		}
	} else {
		fn = b
	}
	if len(fn) > 0 && fn[0] == '{' {
		jsonpeek.Object(fn, func(key []byte, start, end int) bool {
			switch string(key) {
			case "name":
				name = fn[start:end]
			case "arguments":
				args = fn[start:end]
			}
			return true
		})
	}
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
func (s *Stream) findCall(key int, id, name []byte, args bool) int {
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
func (s *Stream) args(ci int, frag []byte) {
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
func (s *Stream) blocked() bool {
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
func (s *Stream) drain(force bool) {
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
func (s *Stream) finishReason(f, stopR, matched []byte) {
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
func (s *Stream) readUsage(b []byte) bool {
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
func (s *Stream) vendorError(v []byte) (typ, msg string, ok bool) {
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
func (s *Stream) finalize() {
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

// fail queues an error event, which ends the stream. An open block stays
// unclosed, as in the real API's mid-stream errors.
func (s *Stream) fail(typ, msg string) {
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
func (s *Stream) start() {
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
func (s *Stream) openBlock(kind stKind) {
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
func (s *Stream) openTool(ci int) {
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
func (s *Stream) appendToolID(dst []byte, ci int) []byte {
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
func (s *Stream) blockStart() {
	s.openIndex = s.nextIndex
	s.nextIndex++
	s.begin("content_block_start")
	s.out = append(s.out, `{"type":"content_block_start","index":`...)
	s.out = strconv.AppendInt(s.out, int64(s.openIndex), 10)
	s.out = append(s.out, `,"content_block":`...)
}

// ping queues the ping the real API sends after the first block's start.
func (s *Stream) ping() {
	if s.pinged {
		return
	}
	s.pinged = true
	s.begin("ping")
	s.out = append(s.out, `{"type":"ping"}`...)
	s.end()
}

// closeBlock closes the open block, if any.
func (s *Stream) closeBlock() {
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
func (s *Stream) flushCarries() {
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

func (s *Stream) deltaStart() {
	s.begin("content_block_delta")
	s.out = append(s.out, `{"type":"content_block_delta","index":`...)
	s.out = strconv.AppendInt(s.out, int64(s.openIndex), 10)
	s.out = append(s.out, `,"delta":`...)
}

func (s *Stream) textDelta(kind stKind, b []byte) {
	s.deltaStart()
	if kind == stThinking {
		s.out = append(s.out, `{"type":"thinking_delta","thinking":`...)
		s.hashThinking(b)
	} else {
		s.out = append(s.out, `{"type":"text_delta","text":`...)
	}
	s.out = stAppendBytes(s.out, b)
	s.out = append(s.out, "}}"...)
	s.end()
}

// hashThinking adds b to the thinking block's hash as the client will read
// it: each invalid byte as U+FFFD.
func (s *Stream) hashThinking(b []byte) {
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

func (s *Stream) inputDelta(b []byte) {
	s.deltaStart()
	s.out = append(s.out, `{"type":"input_json_delta","partial_json":`...)
	s.out = stAppendBytes(s.out, b)
	s.out = append(s.out, "}}"...)
	s.end()
}

// begin starts a frame: "event: NAME\ndata: ", the JSON to follow. Once
// the stream is done, frames are written and then dropped by end: nothing
// can follow message_stop or an error event, whatever path tries.
func (s *Stream) begin(name string) {
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
func (s *Stream) end() {
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
func (s *Stream) str(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	in := v[1 : len(v)-1]
	if bytes.IndexByte(in, '\\') < 0 {
		return in, true
	}
	start := len(s.scratch)
	s.scratch = stAppendUnquoted(s.scratch, in)
	return s.scratch[start:len(s.scratch):len(s.scratch)], true
}

// join prepends the bytes c holds to b and holds back the start of a
// character that b cuts off at its end.
func (s *Stream) join(c *stCarry, b []byte) []byte {
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

// stCutTail returns how many bytes at the end of b begin a UTF-8 sequence
// that b cuts off (0 to 3).
func stCutTail(b []byte) int {
	for k := 1; k < utf8.UTFMax && k <= len(b); k++ {
		c := b[len(b)-k]
		if c < utf8.RuneSelf {
			return 0
		}
		if utf8.RuneStart(c) {
			if utf8.FullRune(b[len(b)-k:]) {
				return 0
			}
			return k
		}
	}
	return 0
}

// stElems iterates over the elements of a JSON array that jsonpeek has
// validated as part of its chunk, so it only needs to find boundaries.
type stElems struct {
	b    []byte
	i    int
	pos  int // position of elem
	elem []byte
}

func (it *stElems) next() bool {
	if it.i == 0 {
		it.i = stSkipSpace(it.b, 1)
		it.pos = -1
	} else {
		it.i = stSkipSpace(it.b, it.i)
		if it.i >= len(it.b) || it.b[it.i] != ',' {
			return false
		}
		it.i = stSkipSpace(it.b, it.i+1)
	}
	if it.i >= len(it.b) || it.b[it.i] == ']' {
		it.i = len(it.b)
		return false
	}
	j := stSkipValue(it.b, it.i)
	it.elem = it.b[it.i:j]
	it.i = j
	it.pos++
	return true
}

func stSkipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stSkipValue returns the end of the valid JSON value starting at b[i].
func stSkipValue(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

// stZeroIndex reports whether a choice's index (absent, null, or a number
// however written: 0, 0.0, 0e1) designates the first choice.
func stZeroIndex(v []byte) bool {
	if len(v) == 0 || string(v) == "null" {
		return true
	}
	if n, ok := stInt(v); ok {
		return n == 0
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return err == nil && f == 0
}

// stInt reads a JSON integer small enough for an int; ok is false for
// anything else (absent, null, a fraction…).
func stInt(v []byte) (int, bool) {
	n, ok := stInt64(v)
	if !ok || n != int64(int32(n)) {
		return 0, false
	}
	return int(n), true
}

func stInt64(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 19 {
		return 0, false
	}
	neg := v[0] == '-'
	if neg {
		v = v[1:]
		if len(v) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// stContainsFold reports whether b contains the lowercase ASCII word w,
// ignoring ASCII case.
func stContainsFold(b []byte, w string) bool {
	for i := 0; i+len(w) <= len(b); i++ {
		j := 0
		for j < len(w) && b[i+j]|0x20 == w[j] {
			j++
		}
		if j == len(w) {
			return true
		}
	}
	return false
}

// stAppendUnquoted appends the decoded contents of a JSON string literal
// already validated by jsonpeek, the way encoding/json decodes it (a valid
// surrogate pair becomes one character, any other surrogate escape U+FFFD)
// except that invalid UTF-8 bytes are copied as they are: they are replaced
// when written, after join had its chance to reassemble a split character.
func stAppendUnquoted(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		j := bytes.IndexByte(s[i:], '\\')
		if j < 0 {
			return append(dst, s[i:]...)
		}
		dst = append(dst, s[i:i+j]...)
		i += j
		if i+1 >= len(s) {
			return dst // cannot happen in a validated literal
		}
		switch s[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := stU4(s[i:])
			i += 6
			if r < 0 {
				r = utf8.RuneError
			} else if 0xD800 <= r && r < 0xE000 {
				r2 := stU4(s[i:])
				if r < 0xDC00 && 0xDC00 <= r2 && r2 < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[i+1])
		}
		i += 2
	}
	return dst
}

// stU4 decodes the \uXXXX escape at the start of s, or returns -1.
func stU4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// stAppendBytes appends b as a JSON string, as encoding/json writes it with
// HTML escaping off (the Anthropic API does not escape <, > and &), each
// invalid byte as \ufffd: jsonpeek.AppendStringBytes, which keeps the
// per-chunk path free of allocations.
func stAppendBytes(dst, b []byte) []byte { return jsonpeek.AppendStringBytes(dst, b) }
