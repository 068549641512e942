package simulator

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
)

// benchText is a 200-word answer: about 200 events per stream.
var benchText = strings.Repeat(`The quick brown fox jumps over the "lazy" dog; café 🙂 `, 20)

const benchBody = `{"model":"claude-sonnet-4-5","max_tokens":4096,"stream":true,"system":"You are a helpful assistant.","messages":[{"role":"user","content":"Tell me a story about a fox."}]}`

// BenchmarkStream measures a whole streamed answer: the request decode, then
// every event. ns/event is the cost per event including the per-request work.
func BenchmarkStream(b *testing.B) {
	p := newProvider(b, config.Simulator{Text: benchText})
	c := &provider.Call{Op: provider.OpMessages, Body: []byte(benchBody), Model: "claude-sonnet-4-5", Stream: true}
	ctx := context.Background()
	b.ReportAllocs()
	events, bytes := 0, 0
	for b.Loop() {
		resp, err := p.Do(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		for {
			ev, err := resp.Events.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			events++
			bytes += len(ev.Raw)
		}
		resp.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
	b.SetBytes(int64(bytes / b.N))
}

// BenchmarkJSON measures a whole non-streaming answer.
func BenchmarkJSON(b *testing.B) {
	p := newProvider(b, config.Simulator{Text: benchText})
	c := &provider.Call{Op: provider.OpMessages, Body: []byte(benchBody), Model: "claude-sonnet-4-5"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := p.Do(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Close()
	}
}
