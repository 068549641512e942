package cache

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"go.uber.org/goleak"

	"github.com/ferrygw/ferry/internal/fakeupstream"
	"github.com/ferrygw/ferry/internal/sse"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// FuzzAccumulate: any upstream stream is rebuilt into valid JSON or
// refused, never a panic; what is rebuilt replays into itself.
func FuzzAccumulate(f *testing.F) {
	for _, name := range []string{"stream_text", "stream_thinking_tool"} {
		f.Add(fakeupstream.MustLoad(f, fixtures+name+".txtar").Body)
	}
	if s, err := AppendStream(nil, []byte(thinkingToolMessage)); err == nil {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := sse.NewReader(bytes.NewReader(stream), 1<<16)
		a := NewAccumulator(1 << 20)
		for {
			ev, err := r.Next()
			if err != nil {
				if err != io.EOF {
					return
				}
				break
			}
			a.Add(ev.Name, ev.Data)
		}
		msg, ok := a.Message()
		if !ok {
			return
		}
		if !json.Valid(msg) {
			t.Fatalf("rebuilt message is not JSON: %s", msg)
		}
		again, err := AppendStream(nil, msg)
		if err != nil {
			return // e.g. a block without a string type: not replayable, but stored only if it was
		}
		b := NewAccumulator(1 << 20)
		r = sse.NewReader(bytes.NewReader(again), 1<<20)
		for {
			ev, err := r.Next()
			if err != nil {
				break
			}
			b.Add(ev.Name, ev.Data)
		}
		got, ok := b.Message()
		if !ok {
			t.Fatalf("replay of a rebuilt message is refused:\n%s\n%s", msg, again)
		}
		var x, y any
		json.Unmarshal(msg, &x)
		json.Unmarshal(got, &y)
		if !jsonDeepEqual(x, y) {
			t.Fatalf("replay rebuilds another message:\n%s\n%s", msg, got)
		}
	})
}

// FuzzAppendStream: any stored entry (Redis is shared) replays or is
// refused, never a panic.
func FuzzAppendStream(f *testing.F) {
	f.Add([]byte(thinkingToolMessage))
	f.Add([]byte(`{"content":[{"type":"text","text":"x"}]}`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		out, err := AppendStream(nil, msg)
		if err == nil && !bytes.HasSuffix(out, []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")) {
			t.Fatalf("replay does not end with message_stop: %q", out)
		}
		decodeEntry(msg)
	})
}

func jsonDeepEqual(x, y any) bool {
	a, _ := json.Marshal(x)
	b, _ := json.Marshal(y)
	return bytes.Equal(a, b)
}
