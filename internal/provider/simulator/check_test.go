package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/sse"
)

// streamResult is what checkStream learned from a stream.
type streamResult struct {
	msg    map[string]any // the message an SDK accumulator builds
	names  []string       // event names in order
	raw    string         // the frames, concatenated
	deltas []string       // the delta strings (text, thinking, partial_json), in order
}

// checkStream drains src, checks the event sequence against PROTOCOL.md §4
// (plus the simulator's own promise of one ping right after the first
// content_block_start), and accumulates the message the way the SDKs do.
func checkStream(src sse.Source) (*streamResult, error) {
	res := &streamResult{}
	var (
		msg      map[string]any
		content  = []any{}
		open     = -1 // the open block's index
		next     = 0  // the next block's index
		partial  strings.Builder
		sawDelta bool
		sawStop  bool
	)
	for i := 0; ; i++ {
		ev, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		name := string(ev.Name)
		raw := "event: " + name + "\ndata: " + string(ev.Data) + "\n\n"
		if string(ev.Raw) != raw {
			return nil, fmt.Errorf("event %d: Raw %q is not the frame of Name and Data %q", i, ev.Raw, raw)
		}
		if !utf8.Valid(ev.Raw) {
			return nil, fmt.Errorf("event %d: invalid UTF-8 in %q", i, ev.Raw)
		}
		if strings.Contains(string(ev.Data), "\n") {
			return nil, fmt.Errorf("event %d: data spans lines: %q", i, ev.Data)
		}
		res.raw += raw
		res.names = append(res.names, name)
		if sawStop {
			return nil, fmt.Errorf("event %d (%s) after message_stop", i, name)
		}
		var d map[string]any
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return nil, fmt.Errorf("event %d (%s): %v", i, name, err)
		}
		if d["type"] != name {
			return nil, fmt.Errorf("event %d: name %q but type %v", i, name, d["type"])
		}
		if (i == 0) != (name == "message_start") {
			return nil, fmt.Errorf("event %d is %s; message_start must come first, once", i, name)
		}
		if name == "ping" {
			if next != 1 || open != 0 || res.names[i-1] != "content_block_start" {
				return nil, fmt.Errorf("event %d: ping must follow the first content_block_start", i)
			}
			if string(ev.Data) != `{"type": "ping"}` {
				return nil, fmt.Errorf("event %d: ping data %q", i, ev.Data)
			}
			continue
		}
		if next == 1 && open == 0 && res.names[i-1] == "content_block_start" {
			return nil, fmt.Errorf("event %d: %s follows the first content_block_start; want ping", i, name)
		}
		switch name {
		case "message_start":
			m, ok := d["message"].(map[string]any)
			if !ok {
				return nil, errors.New("message_start without message")
			}
			if c, ok := m["content"].([]any); !ok || len(c) != 0 {
				return nil, fmt.Errorf("message_start content %v, want []", m["content"])
			}
			for _, k := range []string{"stop_reason", "stop_sequence"} {
				if v, ok := m[k]; !ok || v != nil {
					return nil, fmt.Errorf("message_start %s = %v, want null", k, v)
				}
			}
			if _, ok := m["usage"].(map[string]any); !ok {
				return nil, errors.New("message_start without usage")
			}
			msg = m

		case "content_block_start":
			idx, err := index(d)
			if err != nil {
				return nil, err
			}
			if open >= 0 {
				return nil, fmt.Errorf("event %d: block %d starts while %d is open", i, idx, open)
			}
			if idx != next {
				return nil, fmt.Errorf("event %d: block index %d, want %d", i, idx, next)
			}
			if sawDelta {
				return nil, fmt.Errorf("event %d: block after message_delta", i)
			}
			b, ok := d["content_block"].(map[string]any)
			if !ok {
				return nil, fmt.Errorf("event %d: no content_block", i)
			}
			if err := checkEmptyBlock(b); err != nil {
				return nil, fmt.Errorf("event %d: %w", i, err)
			}
			content = append(content, b)
			open, next = idx, next+1
			partial.Reset()

		case "content_block_delta":
			idx, err := index(d)
			if err != nil {
				return nil, err
			}
			if idx != open {
				return nil, fmt.Errorf("event %d: delta for block %d, open is %d", i, idx, open)
			}
			b := content[open].(map[string]any)
			delta, _ := d["delta"].(map[string]any)
			typ, _ := delta["type"].(string)
			want := map[string]string{
				"text_delta": "text", "thinking_delta": "thinking", "signature_delta": "thinking", "input_json_delta": "tool_use",
			}[typ]
			if want == "" || b["type"] != want {
				return nil, fmt.Errorf("event %d: %s in a %v block", i, typ, b["type"])
			}
			switch typ {
			case "text_delta":
				s, _ := delta["text"].(string)
				b["text"] = b["text"].(string) + s
				res.deltas = append(res.deltas, s)
			case "thinking_delta":
				s, _ := delta["thinking"].(string)
				if b["signature"] != "" {
					return nil, fmt.Errorf("event %d: thinking after signature", i)
				}
				b["thinking"] = b["thinking"].(string) + s
				res.deltas = append(res.deltas, s)
			case "signature_delta":
				s, _ := delta["signature"].(string)
				b["signature"] = s
			case "input_json_delta":
				s, ok := delta["partial_json"].(string)
				if !ok {
					return nil, fmt.Errorf("event %d: partial_json missing", i)
				}
				partial.WriteString(s)
				res.deltas = append(res.deltas, s)
			}

		case "content_block_stop":
			idx, err := index(d)
			if err != nil {
				return nil, err
			}
			if idx != open {
				return nil, fmt.Errorf("event %d: stop for block %d, open is %d", i, idx, open)
			}
			b := content[open].(map[string]any)
			if b["type"] == "tool_use" {
				s := partial.String()
				if s == "" {
					s = "{}"
				}
				var in any
				if err := json.Unmarshal([]byte(s), &in); err != nil {
					return nil, fmt.Errorf("event %d: tool input %q: %v", i, s, err)
				}
				b["input"] = in
			}
			if b["type"] == "thinking" && b["signature"] == "" {
				return nil, fmt.Errorf("event %d: thinking block without signature", i)
			}
			open = -1

		case "message_delta":
			if open >= 0 || sawDelta || msg == nil {
				return nil, fmt.Errorf("event %d: message_delta out of place", i)
			}
			sawDelta = true
			delta, _ := d["delta"].(map[string]any)
			for _, k := range []string{"stop_reason", "stop_sequence"} {
				v, ok := delta[k]
				if !ok {
					return nil, fmt.Errorf("event %d: message_delta without %s", i, k)
				}
				msg[k] = v
			}
			if msg["stop_reason"] == nil {
				return nil, fmt.Errorf("event %d: null stop_reason", i)
			}
			usage, ok := d["usage"].(map[string]any)
			if !ok {
				return nil, fmt.Errorf("event %d: message_delta without usage", i)
			}
			// Cumulative totals that overwrite (PROTOCOL.md §4).
			for k, v := range usage {
				msg["usage"].(map[string]any)[k] = v
			}

		case "message_stop":
			if !sawDelta {
				return nil, fmt.Errorf("event %d: message_stop before message_delta", i)
			}
			if len(d) != 1 {
				return nil, fmt.Errorf("event %d: message_stop %v", i, d)
			}
			sawStop = true

		default:
			return nil, fmt.Errorf("event %d: unknown event %q", i, name)
		}
	}
	if !sawStop {
		return nil, errors.New("stream ended without message_stop")
	}
	if _, err := src.Next(); err != io.EOF {
		return nil, fmt.Errorf("Next after the end: %v, want io.EOF", err)
	}
	msg["content"] = content
	res.msg = msg
	return res, nil
}

func index(d map[string]any) (int, error) {
	f, ok := d["index"].(float64)
	if !ok || f != float64(int(f)) {
		return 0, fmt.Errorf("%v: bad index %v", d["type"], d["index"])
	}
	return int(f), nil
}

// checkEmptyBlock checks a content_block_start's block (PROTOCOL.md §4).
func checkEmptyBlock(b map[string]any) error {
	var want map[string]any
	switch b["type"] {
	case "text":
		want = map[string]any{"type": "text", "text": ""}
	case "thinking":
		want = map[string]any{"type": "thinking", "thinking": "", "signature": ""}
	case "tool_use":
		id, _ := b["id"].(string)
		name, _ := b["name"].(string)
		if !strings.HasPrefix(id, "toolu_") || name == "" {
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
