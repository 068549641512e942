package shadow

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ferrygw/ferry/internal/sse"
)

func streamOutcome(t testing.TB, name string) Outcome {
	status, body := fixture(t, name)
	c := newClock()
	r := NewRecorder(c.Now)
	c.Advance(100 * time.Millisecond)
	r.Status(status)
	for _, ev := range events(t, body) {
		r.FeedEvent(ev)
	}
	c.Advance(900 * time.Millisecond)
	return r.Outcome()
}

func bodyOutcome(status int, body []byte) Outcome {
	c := newClock()
	r := NewRecorder(c.Now)
	c.Advance(100 * time.Millisecond)
	r.Status(status)
	r.FeedBody(body)
	c.Advance(900 * time.Millisecond)
	return r.Outcome()
}

// accumulated is the JSON answer equivalent to a stream, built by the
// official SDK's accumulator: an oracle independent of the recorder.
func accumulated(t *testing.T, evs []sse.Event) []byte {
	t.Helper()
	var msg sdk.Message
	for _, ev := range evs {
		var u sdk.MessageStreamEventUnion
		if err := json.Unmarshal(ev.Data, &u); err != nil {
			t.Fatal(err)
		}
		if err := msg.Accumulate(u); err != nil {
			t.Fatal(err)
		}
	}
	return []byte(msg.RawJSON())
}

func TestRecorderFixtures(t *testing.T) {
	tests := []struct {
		name   string
		stream bool
		want   Outcome
	}{
		{
			name:   "stream_text",
			stream: true,
			want: Outcome{
				Status: 200, Latency: time.Second, TTFB: 100 * time.Millisecond,
				InputTokens: 25, CacheReadTokens: 12, OutputTokens: 21,
				Text:       "Hello! Bonjour! こんにちは、你好 👋 — how can I help?",
				StopReason: "end_turn",
			},
		},
		{
			name:   "stream_thinking_tool",
			stream: true,
			want: Outcome{
				Status: 200, Latency: time.Second, TTFB: 100 * time.Millisecond,
				InputTokens: 424, OutputTokens: 119,
				ToolCalls:  []ToolCall{{Name: "weather", Input: json.RawMessage(`{"location":"Florence, Italy"}`)}},
				StopReason: "tool_use",
			},
		},
		{
			name: "message_tool_use",
			want: Outcome{
				Status: 200, Latency: time.Second, TTFB: 100 * time.Millisecond,
				InputTokens: 402, OutputTokens: 89,
				Text:       "I'll get ...",
				ToolCalls:  []ToolCall{{Name: "get_weather", Input: json.RawMessage(`{"city":"San Francisco","units":"fahrenheit"}`)}},
				StopReason: "tool_use",
			},
		},
		{
			name: "error_429",
			want: Outcome{Status: 429, Latency: time.Second, TTFB: 100 * time.Millisecond, ErrorType: "rate_limit_error"},
		},
		{
			name: "error_529",
			want: Outcome{Status: 529, Latency: time.Second, TTFB: 100 * time.Millisecond, ErrorType: "overloaded_error"},
		},
		{
			name: "error_400_context",
			want: Outcome{Status: 400, Latency: time.Second, TTFB: 100 * time.Millisecond, ErrorType: "invalid_request_error"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Outcome
			if tt.stream {
				got = streamOutcome(t, tt.name)
			} else {
				got = bodyOutcome(fixture(t, tt.name))
			}
			if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("outcome (-want +got):\n%s", d)
			}
		})
	}
}

// A stream and the JSON answer the SDK accumulates from it give the same
// Outcome.
func TestRecorderStreamMatchesJSON(t *testing.T) {
	for _, name := range []string{"stream_text", "stream_thinking_tool"} {
		t.Run(name, func(t *testing.T) {
			status, body := fixture(t, name)
			fromStream := streamOutcome(t, name)
			fromJSON := bodyOutcome(status, accumulated(t, events(t, body)))
			if d := cmp.Diff(fromStream, fromJSON, jsonValues, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("stream vs JSON (-stream +json):\n%s", d)
			}
			if fromStream.Err != "" {
				t.Errorf("Err = %q", fromStream.Err)
			}
		})
	}
}

func TestRecorderIncomplete(t *testing.T) {
	_, body := fixture(t, "stream_text")
	evs := events(t, body)

	t.Run("stream without message_stop", func(t *testing.T) {
		r := NewRecorder(nil)
		r.Status(200)
		for _, ev := range evs[:len(evs)-1] {
			r.FeedEvent(ev)
		}
		if got := r.Outcome().Err; got != "stream ended before message_stop" {
			t.Errorf("Err = %q", got)
		}
	})
	t.Run("error event", func(t *testing.T) {
		r := NewRecorder(nil)
		r.Status(200)
		for _, ev := range evs[:4] {
			r.FeedEvent(ev)
		}
		r.FeedEvent(sse.Event{Name: []byte("error"), Data: []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)})
		o := r.Outcome()
		if o.Err != "stream error event: overloaded_error" || o.ErrorType != "overloaded_error" || o.Text != "Hello! Bonjour! " {
			t.Errorf("Err = %q, ErrorType = %q, Text = %q", o.Err, o.ErrorType, o.Text)
		}
	})
	t.Run("truncated JSON", func(t *testing.T) {
		_, b := fixture(t, "message_tool_use")
		o := bodyOutcome(200, b[:len(b)/2])
		if !strings.HasPrefix(o.Err, "unreadable answer: ") {
			t.Errorf("Err = %q", o.Err)
		}
	})
	t.Run("headers but no body", func(t *testing.T) {
		r := NewRecorder(nil)
		r.Status(200)
		if got := r.Outcome().Err; got != "no answer body read" {
			t.Errorf("Err = %q", got)
		}
	})
	t.Run("Fail keeps the first error", func(t *testing.T) {
		r := NewRecorder(nil)
		r.Fail(errors.New("dial tcp: refused"))
		r.Fail(errors.New("second"))
		if o := r.Outcome(); o.Err != "dial tcp: refused" || o.Status != 0 {
			t.Errorf("Outcome = %+v", o)
		}
	})
}

func TestRecorderOutcomeIsFinal(t *testing.T) {
	c := newClock()
	r := NewRecorder(c.Now)
	r.Status(200)
	r.FeedBody([]byte(`{"content":[{"type":"text","text":"a"}],"usage":{"output_tokens":1}}`))
	c.Advance(time.Second)
	first := r.Outcome()
	c.Advance(time.Second)
	if second := r.Outcome(); second.Latency != time.Second || first.Latency != second.Latency {
		t.Errorf("latencies %v, %v; want 1s twice", first.Latency, second.Latency)
	}
}

// textEvents is a stream with n text deltas of s each.
func textEvents(n int, s string) []sse.Event {
	q, _ := json.Marshal(s)
	evs := []sse.Event{
		{Name: []byte("message_start"), Data: []byte(`{"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}}`)},
		{Name: []byte("content_block_start"), Data: []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)},
	}
	d := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":` + string(q) + `}}`)
	for range n {
		evs = append(evs, sse.Event{Name: []byte("content_block_delta"), Data: d})
	}
	return append(evs,
		sse.Event{Name: []byte("content_block_stop"), Data: []byte(`{"type":"content_block_stop","index":0}`)},
		sse.Event{Name: []byte("message_delta"), Data: []byte(`{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":9999}}`)},
		sse.Event{Name: []byte("message_stop"), Data: []byte(`{"type":"message_stop"}`)},
	)
}

func TestRecorderBounds(t *testing.T) {
	t.Run("text is cut at MaxText on a character boundary", func(t *testing.T) {
		r := NewRecorder(nil)
		r.Status(200)
		for _, ev := range textEvents(20000, "日本\n") { // 7 bytes a delta, 140 kB
			r.FeedEvent(ev)
		}
		o := r.Outcome()
		if !o.Truncated || len(o.Text) > MaxText || len(o.Text) < MaxText-3 || !utf8.ValidString(o.Text) {
			t.Errorf("Truncated = %v, len(Text) = %d, valid UTF-8 %v", o.Truncated, len(o.Text), utf8.ValidString(o.Text))
		}
		if o.Err != "" || o.StopReason != "max_tokens" || o.OutputTokens != 9999 {
			t.Errorf("Err %q, StopReason %q, OutputTokens %d", o.Err, o.StopReason, o.OutputTokens)
		}
	})
	t.Run("tool calls and inputs are bounded", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(`{"content":[`)
		big := `{"blob":"` + strings.Repeat("x", 10<<10) + `"}`
		for i := range MaxToolCalls + 10 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"type":"tool_use","id":"t","name":"f","input":` + big + `}`)
		}
		b.WriteString(`],"stop_reason":"tool_use"}`)
		o := bodyOutcome(200, []byte(b.String()))
		if len(o.ToolCalls) != MaxToolCalls || !o.Truncated {
			t.Fatalf("%d tool calls, Truncated %v", len(o.ToolCalls), o.Truncated)
		}
		total := 0
		for _, tc := range o.ToolCalls {
			total += len(tc.Input)
		}
		if total != MaxToolInput {
			t.Errorf("tool input bytes = %d, want %d", total, MaxToolInput)
		}
		if o.ToolCalls[0].Truncated || !o.ToolCalls[6].Truncated || len(o.ToolCalls[7].Input) != 0 {
			t.Errorf("truncation flags: %v %v, len %d", o.ToolCalls[0].Truncated, o.ToolCalls[6].Truncated, len(o.ToolCalls[7].Input))
		}
	})
	t.Run("a body over MaxBody is not parsed", func(t *testing.T) {
		r := NewRecorder(nil)
		r.Status(200)
		o := r.Drain(io.MultiReader(strings.NewReader(`{"content":[{"type":"text","text":"`), strings.NewReader(strings.Repeat("a", MaxBody))), nil)
		if o.Err != "answer over 8388608 bytes" || o.Text != "" {
			t.Errorf("Err = %q, len(Text) = %d", o.Err, len(o.Text))
		}
	})
}

func TestRecorderDrain(t *testing.T) {
	status, body := fixture(t, "stream_text")
	t.Run("events", func(t *testing.T) {
		r := NewRecorder(nil)
		r.Status(status)
		o := r.Drain(nil, sse.NewReader(bytes.NewReader(body), 0))
		if o.Err != "" || o.OutputTokens != 21 || !strings.HasPrefix(o.Text, "Hello!") {
			t.Errorf("Outcome = %+v", o)
		}
	})
	t.Run("broken stream", func(t *testing.T) {
		r := NewRecorder(nil)
		r.Status(status)
		src := &sliceSource{evs: events(t, body)[:3], err: errors.New("connection reset")}
		if o := r.Drain(nil, src); o.Err != "stream: connection reset" {
			t.Errorf("Err = %q", o.Err)
		}
	})
	t.Run("body", func(t *testing.T) {
		_, b := fixture(t, "message_tool_use")
		r := NewRecorder(nil)
		r.Status(200)
		if o := r.Drain(bytes.NewReader(b), nil); o.Err != "" || len(o.ToolCalls) != 1 {
			t.Errorf("Outcome = %+v", o)
		}
	})
}

func TestRecorderToolStream(t *testing.T) {
	// Two tool calls, one with no input deltas (keeps the start's {}),
	// one streamed in fragments; blocks addressed by index.
	evs := []sse.Event{
		{Name: []byte("content_block_start"), Data: []byte(`{"index":0,"content_block":{"type":"tool_use","id":"a","name":"now","input":{}}}`)},
		{Name: []byte("content_block_delta"), Data: []byte(`{"index":0,"delta":{"type":"input_json_delta","partial_json":""}}`)},
		{Name: []byte("content_block_stop"), Data: []byte(`{"index":0}`)},
		{Name: []byte("content_block_start"), Data: []byte(`{"index":1,"content_block":{"type":"tool_use","id":"b","name":"search","input":{}}}`)},
		{Name: []byte("content_block_delta"), Data: []byte(`{"index":1,"delta":{"type":"input_json_delta","partial_json":"{\"q\": \"caf\u00e9"}}`)},
		{Name: []byte("content_block_delta"), Data: []byte(`{"index":1,"delta":{"type":"input_json_delta","partial_json":"\\\"s\\\"\", \"n\": 2}"}}`)},
		{Name: []byte("content_block_stop"), Data: []byte(`{"index":1}`)},
		{Name: []byte("message_stop"), Data: []byte(`{}`)},
	}
	r := NewRecorder(nil)
	r.Status(200)
	for _, ev := range evs {
		r.FeedEvent(ev)
	}
	o := r.Outcome()
	want := []ToolCall{
		{Name: "now", Input: json.RawMessage(`{}`)},
		{Name: "search", Input: json.RawMessage(`{"q": "café\"s\"", "n": 2}`)},
	}
	if d := cmp.Diff(want, o.ToolCalls); d != "" {
		t.Errorf("tool calls (-want +got):\n%s", d)
	}
}

func TestRecorderAt(t *testing.T) {
	c := newClock()
	start := c.Now()
	c.Advance(300 * time.Millisecond)
	r := NewRecorderAt(start, c.Now)
	r.StatusAt(200, start.Add(100*time.Millisecond))
	r.FeedBody([]byte(`{"content":[]}`))
	c.Advance(time.Second)
	if o := r.Outcome(); o.TTFB != 100*time.Millisecond || o.Latency != 1300*time.Millisecond || o.Err != "" {
		t.Errorf("TTFB %v, Latency %v, Err %q", o.TTFB, o.Latency, o.Err)
	}
}
