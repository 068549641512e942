package shadow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

// Block kinds the recorder keeps; others (thinking, redacted_thinking,
// server tool results) are skipped.
const (
	kindOther uint8 = iota
	kindText
	kindTool
)

// maxBlocks bounds the per-index block table of a stream; blocks past it
// are ignored (and the outcome marked Truncated).
const maxBlocks = 1024

// The members the recorder reads: of a message body, of a content block
// (in a message or a content_block_start), of content_block_start and
// content_block_delta events, and of a delta.
var (
	bodyNames      = []string{"content", "stop_reason", "usage"}
	blockNames     = []string{"type", "text", "name", "input"}
	startNames     = []string{"index", "content_block"}
	deltaNames     = []string{"index", "delta"}
	deltaBodyNames = []string{"type", "text", "partial_json"}
)

// blockMembers reads a content block's type, text, name and input, each as
// written (nil when absent).
func blockMembers(b []byte) (typ, text, name, input []byte) {
	var v [4][]byte
	jsonpeek.Members(b, blockNames, v[:])
	return v[0], v[1], v[2], v[3]
}

type block struct {
	kind uint8
	tool int // index into Recorder.tools when kind is kindTool
}

// Recorder builds an Outcome from an Anthropic answer as it passes: a JSON
// body (FeedBody) or the events of a stream (FeedEvent). It keeps at most
// MaxText bytes of text and MaxToolInput bytes of tool input whatever the
// answer's size, and decodes only the fields it needs, without allocating
// per event.
//
// A Recorder is for one answer and is not safe for concurrent use.
type Recorder struct {
	now   func() time.Time
	start time.Time
	out   Outcome

	usage     anthropic.Totals
	text      []byte
	tools     []ToolCall
	toolBytes int     // tool input bytes kept, all calls together
	fresh     []bool  // per tool: Input still holds content_block_start's value
	blocks    []block // stream blocks by index
	fed       uint8   // 0 nothing, 1 body, 2 events
	ended     bool    // a whole answer was seen (parsed body, message_stop, error event)
	final     bool    // Outcome was called
}

// NewRecorder starts recording an answer whose call starts now; latencies
// are measured from here with now (nil: time.Now). Call Status when the
// answer's headers arrive: an Outcome without a status is no answer.
func NewRecorder(now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	return &Recorder{now: now, start: now()}
}

// NewRecorderAt is NewRecorder for a call that started at start, before
// the recorder was made (the primary request, once it is known to be
// mirrored).
func NewRecorderAt(start time.Time, now func() time.Time) *Recorder {
	r := NewRecorder(now)
	r.start = start
	return r
}

// Status records the answer's status as its headers arrive, which is the
// time to first byte.
func (r *Recorder) Status(code int) { r.StatusAt(code, r.now()) }

// StatusAt records the answer's status, whose headers arrived at at.
func (r *Recorder) StatusAt(code int, at time.Time) {
	r.out.Status = code
	r.out.TTFB = at.Sub(r.start)
}

// Fail records why the answer is missing or incomplete. The first failure
// is kept.
func (r *Recorder) Fail(err error) {
	if err != nil && r.out.Err == "" {
		r.out.Err = err.Error()
	}
}

// FeedBody records a whole JSON answer: a Message for a 2xx status, else
// an error envelope.
func (r *Recorder) FeedBody(b []byte) {
	r.fed = 1
	if r.out.Status != 0 && (r.out.Status < 200 || r.out.Status > 299) {
		r.ended = true
		r.out.ErrorType = errorType(b)
		return
	}
	var v [3][]byte
	err := jsonpeek.Members(b, bodyNames, v[:])
	content, stop, usage := v[0], v[1], v[2]
	// The usage counts even when the body breaks after it.
	anthropic.MergeUsage(usage, &r.usage)
	if err != nil {
		r.Fail(fmt.Errorf("unreadable answer: %w", err))
		return
	}
	r.ended = true
	r.setStop(stop)
	jsonpeek.SkimArray(content, func(start, end int) bool {
		typ, text, name, input := blockMembers(content[start:end])
		switch string(typ) {
		case `"text"`:
			r.appendText(text)
		case `"tool_use"`:
			if t := r.addTool(name); t >= 0 {
				r.appendInput(t, input, false)
			}
		}
		return true
	})
}

// FeedEvent records one event of a stream. The event's slices are not
// kept.
func (r *Recorder) FeedEvent(ev sse.Event) {
	r.fed = 2
	switch string(ev.Name) {
	case "content_block_delta":
		r.delta(ev.Data)
	case "content_block_start":
		r.blockStart(ev.Data)
	case "message_start":
		anthropic.StartUsage(ev.Data, &r.usage)
	case "message_delta":
		anthropic.DeltaUsage(ev.Data, &r.usage)
		if d := jsonpeek.Member(ev.Data, "delta"); d != nil {
			r.setStop(jsonpeek.Member(d, "stop_reason"))
		}
	case "message_stop":
		r.ended = true
	case "error":
		r.ended = true
		r.out.ErrorType = errorType(ev.Data)
		r.Fail(errors.New("stream error event: " + r.out.ErrorType))
	}
}

func (r *Recorder) blockStart(data []byte) {
	var v [2][]byte
	jsonpeek.Members(data, startNames, v[:])
	idx, cb := v[0], v[1]
	i := jsonpeek.Index(idx)
	if i < 0 || cb == nil {
		return
	}
	if i >= maxBlocks {
		r.out.Truncated = true
		return
	}
	for len(r.blocks) <= i {
		r.blocks = append(r.blocks, block{})
	}
	typ, text, name, input := blockMembers(cb)
	switch string(typ) {
	case `"text"`:
		r.blocks[i] = block{kind: kindText}
		r.appendText(text)
	case `"tool_use"`:
		t := r.addTool(name)
		if t < 0 {
			r.blocks[i] = block{}
			return
		}
		r.blocks[i] = block{kind: kindTool, tool: t}
		// The start carries the input ({} in practice); deltas, if any,
		// replace it.
		r.appendInput(t, input, false)
		r.fresh[t] = true
	default:
		r.blocks[i] = block{}
	}
}

func (r *Recorder) delta(data []byte) {
	var v [2][]byte
	jsonpeek.Members(data, deltaNames, v[:])
	idx, d := v[0], v[1]
	i := jsonpeek.Index(idx)
	if i < 0 || i >= len(r.blocks) || d == nil {
		return
	}
	b := r.blocks[i]
	if b.kind == kindOther {
		return
	}
	var dv [3][]byte
	jsonpeek.Members(d, deltaBodyNames, dv[:])
	typ, text, partial := dv[0], dv[1], dv[2]
	switch {
	case b.kind == kindText && string(typ) == `"text_delta"`:
		r.appendText(text)
	case b.kind == kindTool && string(typ) == `"input_json_delta"`:
		if len(partial) <= 2 { // "" adds nothing
			return
		}
		if r.fresh[b.tool] {
			r.fresh[b.tool] = false
			r.toolBytes -= len(r.tools[b.tool].Input)
			r.tools[b.tool].Input = r.tools[b.tool].Input[:0]
		}
		r.appendInput(b.tool, partial, true)
	}
}

func (r *Recorder) appendText(v []byte) {
	if len(v) <= 2 { // "" adds nothing
		return
	}
	if r.text == nil {
		r.text = make([]byte, 0, min(4<<10, MaxText))
	}
	var cut bool
	r.text, cut = jsonpeek.AppendUnquoted(r.text, v, MaxText)
	if cut {
		r.out.Truncated = true
	}
}

// addTool starts a tool call and returns its index, or -1 past MaxToolCalls.
func (r *Recorder) addTool(name []byte) int {
	if len(r.tools) >= MaxToolCalls {
		r.out.Truncated = true
		return -1
	}
	n, _ := jsonpeek.String(name)
	r.tools = append(r.tools, ToolCall{Name: n})
	r.fresh = append(r.fresh, false)
	return len(r.tools) - 1
}

// appendInput adds v to tool t's input: raw JSON, or (quoted) a JSON string
// holding a fragment of it.
func (r *Recorder) appendInput(t int, v []byte, quoted bool) {
	tc := &r.tools[t]
	if tc.Truncated || len(v) == 0 {
		return
	}
	room := MaxToolInput - r.toolBytes
	before := len(tc.Input)
	if quoted {
		var cut bool
		tc.Input, cut = jsonpeek.AppendUnquoted(tc.Input, v, before+room)
		tc.Truncated = cut
	} else if len(v) > room {
		tc.Input, tc.Truncated = append(tc.Input, v[:room]...), true
	} else {
		tc.Input = append(tc.Input, v...)
	}
	r.toolBytes += len(tc.Input) - before
}

func (r *Recorder) setStop(v []byte) {
	if len(v) > 2 && v[0] == '"' {
		r.out.StopReason, _ = jsonpeek.String(v)
	}
}

// errorType reads error.type from an error envelope or error event.
func errorType(b []byte) string {
	e := jsonpeek.Member(b, "error")
	if e == nil {
		return ""
	}
	s, _ := jsonpeek.String(jsonpeek.Member(e, "type"))
	if len(s) > 64 { // upstream text: keep it short
		s = s[:64]
	}
	return s
}

// Outcome finishes the recording (the answer ended now) and returns it.
// Later calls return the same Outcome.
func (r *Recorder) Outcome() Outcome {
	if r.final {
		return r.out
	}
	r.final = true
	r.out.Latency = r.now().Sub(r.start)
	r.out.InputTokens = r.usage.Input
	r.out.OutputTokens = r.usage.Output
	r.out.CacheReadTokens = r.usage.CacheRead
	r.out.CacheCreationTokens = r.usage.CacheCreation
	r.out.Text = string(r.text)
	r.out.ToolCalls = r.tools
	for i := range r.tools {
		if r.tools[i].Truncated {
			r.out.Truncated = true
		}
	}
	if !r.ended && r.out.Err == "" {
		switch r.fed {
		case 2:
			r.out.Err = "stream ended before message_stop"
		case 1:
			r.out.Err = "unreadable answer"
		default:
			if r.out.Status != 0 {
				r.out.Err = "no answer body read"
			}
		}
	}
	return r.out
}

// Drain reads a whole answer, body or events (whichever is not nil), into
// the recorder and returns its Outcome. A body over MaxBody is not parsed.
// It does not close either.
func (r *Recorder) Drain(body io.Reader, events sse.Source) Outcome {
	switch {
	case events != nil:
		for {
			ev, err := events.Next()
			if err != nil {
				if err != io.EOF {
					r.Fail(fmt.Errorf("stream: %w", err))
				}
				break
			}
			r.FeedEvent(ev)
		}
	case body != nil:
		var buf bytes.Buffer
		_, err := buf.ReadFrom(io.LimitReader(body, MaxBody+1))
		switch {
		case err != nil:
			r.Fail(fmt.Errorf("reading the answer: %w", err))
		case buf.Len() > MaxBody:
			r.Fail(fmt.Errorf("answer over %d bytes", MaxBody))
		default:
			r.FeedBody(buf.Bytes())
		}
	}
	return r.Outcome()
}
