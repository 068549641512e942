package shadow

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/sse"
)

// FuzzRecorder feeds arbitrary answers, as a body and as a stream, and
// checks the bounds: no panic, text within MaxText and valid UTF-8 when
// the input is, tool calls and inputs within theirs.
func FuzzRecorder(f *testing.F) {
	for _, name := range []string{"stream_text", "stream_thinking_tool", "message_tool_use", "error_429"} {
		_, body := fixture(f, name)
		f.Add(body, uint16(200))
	}
	f.Add([]byte(`{"content":[{"type":"text","text":"\ud83d"},{"type":"tool_use","name":"x","input":[1,{"a":"]"}]}]}`), uint16(200))
	f.Add([]byte("event: content_block_start\ndata: {\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"name\":\"f\"}}\n\nevent: content_block_delta\ndata: {\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"\"}}\n\n"), uint16(200))
	f.Fuzz(func(t *testing.T, body []byte, status uint16) {
		check := func(o Outcome) {
			if len(o.Text) > MaxText {
				t.Fatalf("text %d bytes", len(o.Text))
			}
			if utf8.Valid(body) && !utf8.ValidString(o.Text) {
				t.Fatalf("invalid UTF-8 text %q from valid input", o.Text)
			}
			if len(o.ToolCalls) > MaxToolCalls {
				t.Fatalf("%d tool calls", len(o.ToolCalls))
			}
			n := 0
			for _, tc := range o.ToolCalls {
				n += len(tc.Input)
			}
			if n > MaxToolInput {
				t.Fatalf("%d bytes of tool input", n)
			}
		}
		r := NewRecorder(nil)
		r.Status(int(status))
		r.FeedBody(body)
		check(r.Outcome())

		r = NewRecorder(nil)
		r.Status(int(status))
		check(r.Drain(nil, sse.NewReader(bytes.NewReader(body), 1<<16)))
	})
}
