package shadow

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/sse"
)

func TestTapEvents(t *testing.T) {
	status, body := fixture(t, "stream_text")
	evs := events(t, body)

	t.Run("passes events and reports once at the end", func(t *testing.T) {
		src := &sliceSource{evs: append([]sse.Event{}, evs...)}
		rec := NewRecorder(nil)
		rec.Status(status)
		var got []Outcome
		tap := TapEvents(src, rec, func(o Outcome) { got = append(got, o) })
		var raw bytes.Buffer
		for {
			ev, err := tap.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			raw.Write(ev.Raw)
		}
		if !bytes.Equal(raw.Bytes(), body) {
			t.Error("the tap changed the stream")
		}
		tap.Close()
		if len(got) != 1 || got[0].Err != "" || got[0].OutputTokens != 21 {
			t.Fatalf("done called %d times: %+v", len(got), got)
		}
		if src.closed != 1 {
			t.Errorf("source closed %d times", src.closed)
		}
	})
	t.Run("closed early: incomplete", func(t *testing.T) {
		src := &sliceSource{evs: append([]sse.Event{}, evs...)}
		var got []Outcome
		tap := TapEvents(src, NewRecorder(nil), func(o Outcome) { got = append(got, o) })
		tap.Next()
		tap.Close()
		tap.Close()
		if len(got) != 1 || got[0].Err != "stream ended before message_stop" {
			t.Fatalf("done: %+v", got)
		}
	})
	t.Run("broken stream", func(t *testing.T) {
		src := &sliceSource{evs: append([]sse.Event{}, evs[:2]...), err: errors.New("idle timeout")}
		var got []Outcome
		tap := TapEvents(src, NewRecorder(nil), func(o Outcome) { got = append(got, o) })
		for {
			if _, err := tap.Next(); err != nil {
				break
			}
		}
		tap.Close()
		if len(got) != 1 || got[0].Err != "idle timeout" {
			t.Fatalf("done: %+v", got)
		}
	})
}

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

func TestTapBody(t *testing.T) {
	status, body := fixture(t, "message_tool_use")
	t.Run("whole body", func(t *testing.T) {
		rc := &closeCounter{Reader: bytes.NewReader(body)}
		rec := NewRecorder(nil)
		rec.Status(status)
		var got []Outcome
		tap := TapBody(rc, rec, func(o Outcome) { got = append(got, o) })
		b, err := io.ReadAll(tap)
		if err != nil || !bytes.Equal(b, body) {
			t.Fatalf("read %d bytes, %v", len(b), err)
		}
		tap.Close()
		if len(got) != 1 || got[0].Err != "" || got[0].ToolCalls[0].Name != "get_weather" || rc.closed != 1 {
			t.Fatalf("done: %+v; closed %d", got, rc.closed)
		}
	})
	t.Run("closed before the end", func(t *testing.T) {
		rec := NewRecorder(nil)
		rec.Status(status)
		var got []Outcome
		tap := TapBody(io.NopCloser(bytes.NewReader(body)), rec, func(o Outcome) { got = append(got, o) })
		tap.Read(make([]byte, 10))
		tap.Close()
		if len(got) != 1 || !strings.HasPrefix(got[0].Err, "unreadable answer") {
			t.Fatalf("done: %+v", got)
		}
	})
	t.Run("over MaxBody", func(t *testing.T) {
		rec := NewRecorder(nil)
		rec.Status(200)
		var got []Outcome
		tap := TapBody(io.NopCloser(io.LimitReader(zeros{}, MaxBody+10)), rec, func(o Outcome) { got = append(got, o) })
		n, _ := io.Copy(io.Discard, tap)
		if n != MaxBody+10 || len(got) != 1 || got[0].Err != errTooBig.Error() {
			t.Fatalf("copied %d; done: %+v", n, got)
		}
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
