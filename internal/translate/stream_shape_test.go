package translate

import (
	"bytes"
	"testing"

	"github.com/ferrygw/ferry/internal/sse"
)

// streamTranslator is the one shape of the three stream translators: fed
// one upstream event at a time, ended once, drained after each call. In
// and Out differ only with the formats.
type streamTranslator[In, Out any] interface {
	Feed(In)
	Finish(error)
	Next() (Out, bool)
}

// TestStreamShape: the three stream translators have the one shape, and
// each ends an empty upstream with one closing frame and nothing after it.
func TestStreamShape(t *testing.T) {
	var (
		oa streamTranslator[[]byte, sse.Event] = NewOpenAIToAnthropicStream(nil, nil, "msg_1")
		ao streamTranslator[sse.Event, []byte] = NewAnthropicToOpenAIStream(nil)
		ac streamTranslator[sse.Event, []byte] = NewAnthropicToCompleteStream(nil)
	)
	count := func(next func() bool) int {
		n := 0
		for next() {
			n++
		}
		return n
	}
	oa.Finish(nil)
	ao.Finish(nil)
	ac.Finish(nil)
	// OpenAIToAnthropicStream opens the message before its error event.
	if n := count(func() bool { _, ok := oa.Next(); return ok }); n != 2 {
		t.Errorf("OpenAIToAnthropicStream: %d events, want message_start and error", n)
	}
	for name, s := range map[string]streamTranslator[sse.Event, []byte]{"AnthropicToOpenAI": ao, "AnthropicToComplete": ac} {
		if n := count(func() bool { _, ok := s.Next(); return ok }); n != 1 {
			t.Errorf("%s: %d frames, want one error frame", name, n)
		}
		s.Feed(sse.Event{Name: []byte("message_stop"), Data: []byte(`{"type":"message_stop"}`)})
		if _, ok := s.Next(); ok {
			t.Errorf("%s: a frame after the end", name)
		}
	}
}

// TestAnthropicStreamsMalformedEvent: a known event whose data is not an
// object ends both Anthropic-reading streams with an error naming the
// event's type, and later events are dropped. (An event without a name is
// typed by its data, so it is never a known malformed one.)
func TestAnthropicStreamsMalformedEvent(t *testing.T) {
	for _, ev := range []sse.Event{
		{Name: []byte("content_block_delta"), Data: []byte(`{"type":"content_block_delta","index":0,"delta":`)},
		{Name: []byte("message_delta"), Data: []byte(`[1]`)},
	} {
		for name, s := range map[string]streamTranslator[sse.Event, []byte]{
			"AnthropicToOpenAI":   NewAnthropicToOpenAIStream(nil),
			"AnthropicToComplete": NewAnthropicToCompleteStream(nil),
		} {
			s.Feed(ev)
			var out []byte
			for f, ok := s.Next(); ok; f, ok = s.Next() {
				out = append(out, f...)
			}
			if !bytes.Contains(out, []byte(`"upstream sent a malformed `+string(ev.Name)+` event"`)) {
				t.Errorf("%s, %q: output %s", name, ev.Data, out)
			}
			s.Feed(sse.Event{Name: []byte("ping"), Data: []byte(`{"type":"ping"}`)})
			if f, ok := s.Next(); ok {
				t.Errorf("%s: frame %q after the end", name, f)
			}
		}
	}
}
