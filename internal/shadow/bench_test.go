package shadow

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/sse"
)

// BenchmarkRecorderStream is the recorder's cost per event on a mirrored
// stream: the recorded fixtures' events (text, thinking, tool input,
// usage) fed over and over; ns/op is per event.
func BenchmarkRecorderStream(b *testing.B) {
	var evs []sse.Event
	for _, name := range []string{"stream_text", "stream_thinking_tool"} {
		_, body := fixture(b, name)
		evs = append(evs, events(b, body)...)
	}
	// Text deltas dominate real streams: add a typical one many times.
	delta := sse.Event{Name: []byte("content_block_delta"), Data: []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"The function returns the sum of\n two numbers, \"a\" and \"b\"."}}`)}
	for range 40 {
		evs = append(evs[:len(evs)-3], append([]sse.Event{delta}, evs[len(evs)-3:]...)...)
	}
	size := 0
	for _, ev := range evs {
		size += len(ev.Raw) + len(ev.Data)
	}
	b.SetBytes(int64(size / len(evs)))
	b.ReportAllocs()
	r := NewRecorder(nil)
	for i := 0; b.Loop(); i++ {
		if i%len(evs) == 0 {
			r = NewRecorder(nil)
			r.Status(200)
		}
		r.FeedEvent(evs[i%len(evs)])
	}
}

// BenchmarkRecorderBody is one whole JSON answer, Outcome included.
func BenchmarkRecorderBody(b *testing.B) {
	_, body := fixture(b, "message_tool_use")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewRecorder(nil)
		r.Status(200)
		r.FeedBody(body)
		r.Outcome()
	}
}

// BenchmarkCompare compares two ~4 KB answers that say much the same with
// a tool call each, as a worker does once per pair (buffers reused).
func BenchmarkCompare(b *testing.B) {
	para := "To install the package, run npm install express and then require it in your app.js file. "
	p := okOutcome(strings.Repeat(para, 45))
	s := okOutcome(strings.Repeat("Run `npm install express` to install the package, then require it from app.js. ", 50))
	p.ToolCalls = []ToolCall{{Name: "bash", Input: json.RawMessage(`{"command":"npm install express","timeout":30}`)}}
	s.ToolCalls = []ToolCall{{Name: "bash", Input: json.RawMessage(`{"timeout":30, "command":"npm install express"}`)}}
	b.SetBytes(int64(len(p.Text) + len(s.Text)))
	b.ReportAllocs()
	var sim similarity
	for b.Loop() {
		sim.compare(p, s, DefaultThreshold)
	}
}

// BenchmarkCompareMaxText is the worst case: two MaxText answers.
func BenchmarkCompareMaxText(b *testing.B) {
	words := strings.Fields("the a function returns sum of two numbers install package run require file answer model gateway shadow traffic compare latency tokens")
	var x, y strings.Builder
	for i := 0; x.Len() < MaxText-16; i++ {
		x.WriteString(words[i*7%len(words)] + " ")
		y.WriteString(words[i*5%len(words)] + " ")
	}
	p, s := okOutcome(x.String()), okOutcome(y.String()[:x.Len()])
	b.SetBytes(int64(len(p.Text) + len(s.Text)))
	b.ReportAllocs()
	var sim similarity
	for b.Loop() {
		sim.compare(p, s, DefaultThreshold)
	}
}

// BenchmarkSubmit is the request path's share: a sampling decision and a
// queue send, with the counters. The benchmark takes the job off the queue
// itself, as a worker would.
func BenchmarkSubmit(b *testing.B) {
	m, err := New(Options{Queue: 16, Workers: 1, Keep: 10, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	j := job(answer(okOutcome("x")))
	b.ReportAllocs()
	for b.Loop() {
		if m.Sample(0.5) {
			j.Primary.OutputTokens++
		}
		if !m.Submit(j) {
			b.Fatal("Submit refused")
		}
		<-m.queue
	}
	b.StopTimer()
	m.Close(context.Background())
}
