package testkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/sse"
)

// Stream is what [CheckStream] learned from an Anthropic event stream.
type Stream struct {
	Message map[string]any // the message an SDK accumulator builds (content, stop_reason, usage…)
	Names   []string       // event names in order, pings included
	Raw     string         // the frames, concatenated
	Deltas  []string       // the delta strings (text, thinking, partial_json), in order
	Error   map[string]any // the "error" object of a closing error event, nil if none
}

// StreamRules loosen or tighten [CheckStream]'s checks.
type StreamRules struct {
	// Partial: the stream may stop anywhere (a translator fed part of an
	// upstream stream, not finished); what came must still be well formed.
	Partial bool
	// Exact adds what the gateway's own translators promise beyond the
	// grammar: no empty text or thinking delta, no text or thinking block
	// without one, a stop_reason of the API's with a stop_sequence exactly
	// when it is "stop_sequence", and message_delta usage with
	// input_tokens, cache_read_input_tokens and output_tokens as
	// non-negative integers.
	Exact bool
	// UpstreamTools: tool calls are an upstream's, as a translated stream
	// passes them on: any non-empty id (not only "toolu_…"), a name that
	// may be empty, arguments that may not be whole JSON (a cut stream).
	UpstreamTools bool
}

// streamState is the checker's state between events.
type streamState struct {
	rules    StreamRules
	res      *Stream
	msg      map[string]any
	content  []any
	open     int // the open block's index, -1 if none
	next     int // the next block's index
	partial  strings.Builder
	sawDelta bool
	filled   bool // the open block had a delta
	done     bool // message_stop or error seen
}

// CheckStream drains src and checks it against Anthropic's streaming
// grammar (PROTOCOL.md §4): message_start first and once; blocks opened,
// filled with deltas of their type and closed in index order; one
// message_delta with a stop_reason and usage; message_stop last. A
// stream may instead end with one error event. Frames must be exactly
// "event: <name>\ndata: <one line of JSON>\n\n" in valid UTF-8, with the
// JSON's type equal to the event name. It returns the message an SDK would
// accumulate, or the first violation.
func CheckStream(src sse.Source) (*Stream, error) {
	return CheckStreamRules(src, StreamRules{})
}

// CheckStreamRules is [CheckStream] with rules.
func CheckStreamRules(src sse.Source, rules StreamRules) (*Stream, error) {
	s := &streamState{rules: rules, res: &Stream{}, content: []any{}, open: -1}
	for i := 0; ; i++ {
		ev, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		if err := s.event(i, ev); err != nil {
			return nil, fmt.Errorf("event %d (%s): %w", i, ev.Name, err)
		}
	}
	if !s.done && !rules.Partial {
		return nil, errors.New("stream ended without message_stop or error")
	}
	if _, err := src.Next(); s.done && err != io.EOF {
		return nil, fmt.Errorf("Next after the end: %v, want io.EOF", err)
	}
	if s.msg != nil {
		s.msg["content"] = s.content
	}
	s.res.Message = s.msg
	return s.res, nil
}

func (s *streamState) event(i int, ev sse.Event) error {
	name := string(ev.Name)
	raw := "event: " + name + "\ndata: " + string(ev.Data) + "\n\n"
	switch {
	case string(ev.Raw) != raw:
		return fmt.Errorf("raw %q is not the frame of its name and data %q", ev.Raw, raw)
	case !utf8.Valid(ev.Raw):
		return fmt.Errorf("invalid UTF-8 in %q", ev.Raw)
	case strings.Contains(string(ev.Data), "\n"):
		return fmt.Errorf("data spans lines: %q", ev.Data)
	case s.done:
		return errors.New("event after the stream's end")
	}
	s.res.Raw += raw
	s.res.Names = append(s.res.Names, name)
	var d map[string]any
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return err
	}
	if d["type"] != name {
		return fmt.Errorf("type %v", d["type"])
	}
	if (i == 0) != (name == "message_start") && name != "error" {
		return errors.New("message_start must come first, once")
	}
	switch name {
	case "ping":
		return nil
	case "message_start":
		return s.start(d)
	case "content_block_start":
		return s.blockStart(d)
	case "content_block_delta":
		return s.blockDelta(d)
	case "content_block_stop":
		return s.blockStop(d)
	case "message_delta":
		return s.messageDelta(d)
	case "message_stop":
		if !s.sawDelta {
			return errors.New("message_stop before message_delta")
		}
		if len(d) != 1 {
			return fmt.Errorf("message_stop %v", d)
		}
		s.done = true
		return nil
	case "error":
		e, _ := d["error"].(map[string]any)
		if typ, _ := e["type"].(string); typ == "" {
			return fmt.Errorf("error without a type: %v", d)
		}
		if msg, _ := e["message"].(string); msg == "" {
			return fmt.Errorf("error without a message: %v", d)
		}
		s.res.Error, s.done = e, true
		return nil
	}
	return errors.New("unknown event")
}

func (s *streamState) start(d map[string]any) error {
	m, ok := d["message"].(map[string]any)
	if !ok {
		return errors.New("no message")
	}
	if c, ok := m["content"].([]any); !ok || len(c) != 0 {
		return fmt.Errorf("content %v, want []", m["content"])
	}
	for _, k := range []string{"stop_reason", "stop_sequence"} {
		if v, ok := m[k]; !ok || v != nil {
			return fmt.Errorf("%s = %v, want null", k, v)
		}
	}
	if _, ok := m["usage"].(map[string]any); !ok {
		return errors.New("no usage")
	}
	s.msg = m
	return nil
}

func (s *streamState) blockStart(d map[string]any) error {
	idx, err := index(d)
	if err != nil {
		return err
	}
	switch {
	case s.open >= 0:
		return fmt.Errorf("block %d starts while %d is open", idx, s.open)
	case idx != s.next:
		return fmt.Errorf("block index %d, want %d", idx, s.next)
	case s.sawDelta:
		return errors.New("block after message_delta")
	}
	b, ok := d["content_block"].(map[string]any)
	if !ok {
		return errors.New("no content_block")
	}
	if err := checkEmptyBlock(b, s.rules.UpstreamTools); err != nil {
		return err
	}
	s.content = append(s.content, b)
	s.open, s.next, s.filled = idx, s.next+1, false
	s.partial.Reset()
	return nil
}

// deltaBlock is the block type each delta type belongs in.
var deltaBlock = map[string]string{
	"text_delta": "text", "thinking_delta": "thinking", "signature_delta": "thinking", "input_json_delta": "tool_use",
}

// openBlock returns the block d's index names, which must be the open one.
func (s *streamState) openBlock(d map[string]any) (map[string]any, error) {
	idx, err := index(d)
	if err != nil {
		return nil, err
	}
	if s.open < 0 || idx != s.open {
		return nil, fmt.Errorf("%v for block %d, open is %d", d["type"], idx, s.open)
	}
	return s.content[s.open].(map[string]any), nil
}

func (s *streamState) blockDelta(d map[string]any) error {
	b, err := s.openBlock(d)
	if err != nil {
		return err
	}
	delta, _ := d["delta"].(map[string]any)
	typ, _ := delta["type"].(string)
	if want := deltaBlock[typ]; want == "" || b["type"] != want {
		return fmt.Errorf("%s in a %v block", typ, b["type"])
	}
	if err := s.exactDelta(typ, delta); err != nil {
		return err
	}
	s.filled = true
	switch typ {
	case "text_delta":
		str, _ := delta["text"].(string)
		b["text"] = b["text"].(string) + str
		s.res.Deltas = append(s.res.Deltas, str)
	case "thinking_delta":
		str, _ := delta["thinking"].(string)
		if b["signature"] != "" {
			return errors.New("thinking after signature")
		}
		b["thinking"] = b["thinking"].(string) + str
		s.res.Deltas = append(s.res.Deltas, str)
	case "signature_delta":
		str, _ := delta["signature"].(string)
		b["signature"] = str
	case "input_json_delta":
		str, ok := delta["partial_json"].(string)
		if !ok {
			return errors.New("partial_json missing")
		}
		s.partial.WriteString(str)
		s.res.Deltas = append(s.res.Deltas, str)
	}
	return nil
}

func (s *streamState) blockStop(d map[string]any) error {
	b, err := s.openBlock(d)
	if err != nil {
		return err
	}
	if b["type"] == "tool_use" {
		in := s.partial.String()
		if in == "" {
			in = "{}"
		}
		var v any
		if err := json.Unmarshal([]byte(in), &v); err == nil {
			b["input"] = v
		} else if !s.rules.UpstreamTools {
			return fmt.Errorf("tool input %q: %w", in, err)
		}
	}
	if b["type"] == "thinking" && b["signature"] == "" {
		return errors.New("thinking block without signature")
	}
	if s.rules.Exact && !s.filled && b["type"] != "tool_use" {
		return fmt.Errorf("empty %v block", b["type"])
	}
	s.open = -1
	return nil
}

func (s *streamState) messageDelta(d map[string]any) error {
	if s.open >= 0 || s.sawDelta || s.msg == nil {
		return errors.New("message_delta out of place")
	}
	s.sawDelta = true
	delta, _ := d["delta"].(map[string]any)
	for _, k := range []string{"stop_reason", "stop_sequence"} {
		v, ok := delta[k]
		if !ok {
			return fmt.Errorf("no %s", k)
		}
		s.msg[k] = v
	}
	if s.msg["stop_reason"] == nil {
		return errors.New("null stop_reason")
	}
	usage, ok := d["usage"].(map[string]any)
	if !ok {
		return errors.New("no usage")
	}
	if s.rules.Exact {
		if err := exactEnd(delta, usage); err != nil {
			return err
		}
	}
	// Cumulative totals that overwrite (PROTOCOL.md §4).
	for k, v := range usage {
		s.msg["usage"].(map[string]any)[k] = v
	}
	return nil
}

func index(d map[string]any) (int, error) {
	f, ok := d["index"].(float64)
	if !ok || f != float64(int(f)) {
		return 0, fmt.Errorf("bad index %v", d["index"])
	}
	return int(f), nil
}

// checkEmptyBlock checks a content_block_start's block (PROTOCOL.md §4).
// A tool_use block has an id starting "toolu_" and a name, unless
// upstream (StreamRules.UpstreamTools).
func checkEmptyBlock(b map[string]any, upstream bool) error {
	var want map[string]any
	switch b["type"] {
	case "text":
		want = map[string]any{"type": "text", "text": ""}
	case "thinking":
		want = map[string]any{"type": "thinking", "thinking": "", "signature": ""}
	case "tool_use":
		id, _ := b["id"].(string)
		name, _ := b["name"].(string)
		if id == "" || !upstream && (!strings.HasPrefix(id, "toolu_") || name == "") {
			return fmt.Errorf("tool_use block id %q name %q", id, name)
		}
		want = map[string]any{"type": "tool_use", "id": id, "name": name, "input": map[string]any{}}
	default:
		return fmt.Errorf("unknown block type %v", b["type"])
	}
	if fmt.Sprint(b) != fmt.Sprint(want) {
		return fmt.Errorf("starting block %v, want %v", b, want)
	}
	return nil
}

// exactDelta holds a delta to StreamRules.Exact: no empty text or
// thinking, nothing after a signature.
func (s *streamState) exactDelta(typ string, delta map[string]any) error {
	if !s.rules.Exact {
		return nil
	}
	field := map[string]string{"text_delta": "text", "thinking_delta": "thinking", "signature_delta": "signature"}[typ]
	if str, _ := delta[field].(string); field != "" && str == "" {
		return fmt.Errorf("empty %s", typ)
	}
	if b := s.content[s.open].(map[string]any); b["type"] == "thinking" && b["signature"] != "" {
		return fmt.Errorf("%s after the signature", typ)
	}
	return nil
}

// exactEnd holds message_delta's stop reason and usage to
// StreamRules.Exact.
func exactEnd(delta, usage map[string]any) error {
	sr, _ := delta["stop_reason"].(string)
	switch sr {
	case "end_turn", "max_tokens", "tool_use", "refusal", "pause_turn":
		if delta["stop_sequence"] != nil {
			return fmt.Errorf("stop_sequence %v with %s", delta["stop_sequence"], sr)
		}
	case "stop_sequence":
		if _, ok := delta["stop_sequence"].(string); !ok {
			return fmt.Errorf("stop_sequence %v", delta["stop_sequence"])
		}
	default:
		return fmt.Errorf("stop_reason %q", sr)
	}
	for _, k := range []string{"input_tokens", "cache_read_input_tokens", "output_tokens"} {
		f, ok := usage[k].(float64)
		if !ok || f < 0 || f != float64(int64(f)) {
			return fmt.Errorf("usage.%s %v", k, usage[k])
		}
	}
	return nil
}
