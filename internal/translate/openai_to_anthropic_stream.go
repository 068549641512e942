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
//     reasoning arriving meanwhile wait the same way. See OpenAIToAnthropicStream.drain.
//   - finish_reason closes the open block; message_delta waits for usage,
//     [DONE] or EOF. A tool call makes stop_reason tool_use, except after
//     finish_reason "length" (max_tokens: the arguments are cut off).
//   - EOF before any finish_reason, a broken body, an "error" chunk or a
//     chunk that is not a JSON object end the stream with an error event.

import (
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

// stSignaturePrefix starts the signature of every thinking block that Ferry
// builds from an OpenAI-compatible upstream's reasoning text. The full value
// is the prefix and the first 16 hex digits of the SHA-256 of the block's
// thinking text, as the client accumulates it: deterministic, and the same
// value openai_to_anthropic_response.go's Signature gives a non-streaming answer's thinking.
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

// Bounds on what a misbehaving upstream can make a OpenAIToAnthropicStream hold: tool calls
// (a real answer has a handful; Claude Code runs a few dozen at most) and
// bytes buffered while the open block is blocked. Beyond them the stream
// fails with an error event rather than growing without end.
const (
	stMaxCalls    = 1024
	stMaxBuffered = 32 << 20
)

// stDefaultReasoning is used when NewOpenAIToAnthropicStream gets no Profile (VENDORS C.20:
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

// OpenAIToAnthropicStream turns one OpenAI-compatible Chat Completions stream into the
// Anthropic Messages event stream. Feed it the data of every upstream SSE
// event, then call Finish; after each call, drain Next. It does no I/O and
// keeps no reference to the data it is fed.
//
// A OpenAIToAnthropicStream is not safe for concurrent use.
type OpenAIToAnthropicStream struct {
	// Fixed by NewOpenAIToAnthropicStream.
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
	err        error  // why Feed sent it, for Err

	// Output: frames queued in out, located by evs[head:].
	out     []byte
	evs     []stEvent
	head    int
	scratch []byte // decoded strings of the chunk being fed
}

// NewOpenAIToAnthropicStream returns a OpenAIToAnthropicStream for a request described by info, from an
// upstream described by p (nil: reasoning_content and reasoning are read as
// reasoning). messageID is the Anthropic message id ("msg_…"), which the
// caller makes (translate has no random source: the caller's Env.ID("msg_"),
// say); it also seeds the ids made up for tool calls that come without one,
// so the stream itself is deterministic.
func NewOpenAIToAnthropicStream(info *RequestInfo, p *Profile, messageID string) *OpenAIToAnthropicStream {
	s := &OpenAIToAnthropicStream{messageID: messageID, reasoning: stDefaultReasoning}
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
// are valid until the next call to Feed or Finish. ok is false when no event
// is queued.
func (s *OpenAIToAnthropicStream) Next() (ev sse.Event, ok bool) {
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
func (s *OpenAIToAnthropicStream) DroppedToolCalls() error {
	if len(s.droppedCalls) == 0 {
		return nil
	}
	return &ExtraToolCallsError{Names: s.droppedCalls}
}

// Finished reports whether message_stop or an error event has been queued.
// Feed and Finish do nothing after that.
func (s *OpenAIToAnthropicStream) Finished() bool { return s.done }

// StopReason is the stop_reason sent in message_delta, "" before it (and
// after an error).
func (s *OpenAIToAnthropicStream) StopReason() string { return s.stopReason }

// Usage returns the message's token counts as far as they are known: what
// message_delta carried once it is sent; before that (or without upstream
// usage) the input estimate stands in for input tokens.
func (s *OpenAIToAnthropicStream) Usage() anthropic.Totals {
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
// that would make the OpenAIToAnthropicStream hold too much (stMaxCalls, stMaxBuffered),
// queues an error event and ends the stream; Err then says why, for the
// log. Drain Next after each call either way.
func (s *OpenAIToAnthropicStream) Feed(data []byte) {
	if err := s.feed(data); err != nil && s.err == nil {
		s.err = err
	}
}

// Err is why Feed ended the stream with an error event, nil if it did not.
func (s *OpenAIToAnthropicStream) Err() error { return s.err }

func (s *OpenAIToAnthropicStream) feed(data []byte) error {
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
				if err := s.feed(line); err != nil {
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

// Finish is called when the upstream body ended: err == nil at a clean EOF,
// otherwise the error that broke it. At EOF (io.ErrUnexpectedEOF, an EOF
// inside a frame, included) a stream that saw a finish_reason is finished
// normally (usage or [DONE] may be missing: "may be missing if the stream
// is interrupted", PROTOCOL §9); anything else is an error event,
// since the message may be cut short and the client must not take it for a
// whole one (Claude Code re-sends the request, PROTOCOL §4).
func (s *OpenAIToAnthropicStream) Finish(err error) {
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
		var ce clientError
		if errors.As(err, &ce) {
			t, m := ce.ClientError()
			if t == "overloaded_error" {
				typ = t
			}
			if m != "" {
				msg = m
			}
		} else if strings.Contains(strings.ToLower(err.Error()), "overload") {
			typ = "overloaded_error"
		}
		s.fail(typ, msg)
	}
}

// clientError is a read error that says what the client may see of it:
// an Anthropic error type and a public message (the gateway's
// apierr.Error is one; translate does not import apierr).
type clientError interface {
	error
	ClientError() (typ, msg string)
}

// reclaim reuses the output buffers once every queued event was taken.
func (s *OpenAIToAnthropicStream) reclaim() {
	if s.head == len(s.evs) {
		s.out, s.evs, s.head = s.out[:0], s.evs[:0], 0
	}
	s.scratch = s.scratch[:0]
}

// chunk handles the members of one chunk.
func (s *OpenAIToAnthropicStream) chunk(choices, usage, errv []byte) error {
	if typ, msg, ok := s.vendorError(errv); ok {
		// Some vendors report failures inside a 200 stream; the OpenAI SDK
		// throws on such a chunk too (PROTOCOL §9).
		s.fail(typ, msg)
		return fmt.Errorf("translate: upstream error in stream: %s", msg)
	}
	if len(choices) > 0 && choices[0] == '[' && !s.done {
		jsonpeek.Array(choices, func(start, end int) bool {
			s.choice(choices[start:end])
			return !s.done
		})
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
func (s *OpenAIToAnthropicStream) failure() error {
	if s.failed == "" {
		return nil
	}
	return errors.New("translate: " + s.failed)
}
