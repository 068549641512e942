package guard

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/sse"
)

type closeReader struct {
	*sse.Reader
	closed bool
}

func (c *closeReader) Close() error { c.closed = true; return nil }

func TestSourceRefusalStopsReading(t *testing.T) {
	wl, _ := NewWordList([]string{"forbidden"})
	g, _ := New(Policy{Words: wl, WordsOutput: WordsRefuse})
	var up []byte
	for _, ev := range []sse.Event{
		event("message_start", `{"type":"message_start","message":{}}`),
		event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ok forbidden"}}`),
		event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"never read"}}`),
	} {
		up = append(up, ev.Raw...)
	}
	src := &closeReader{Reader: sse.NewReader(strings.NewReader(string(up)), 1<<16)}
	s := g.Answer(nil).Source(src)
	var names []string
	var all strings.Builder
	for {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, string(ev.Name))
		all.Write(ev.Data)
	}
	want := "message_start content_block_delta content_block_stop message_delta message_stop"
	if got := strings.Join(names, " "); got != want || strings.Contains(all.String(), "never read") || !strings.Contains(all.String(), `"refusal"`) {
		t.Fatalf("events %s\n%s", got, all.String())
	}
	if err := s.Close(); err != nil || !src.closed {
		t.Fatal("Close did not reach the upstream")
	}
}
