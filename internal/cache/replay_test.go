package cache

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/fakeupstream"
	"github.com/ferrygw/ferry/internal/sse"
)

const fixtures = "../../testdata/anthropic/"

// thinkingToolMessage has every block kind AppendStream treats specially.
const thinkingToolMessage = `{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[` +
	`{"type":"thinking","thinking":"The user wants \"weather\".\nCall the tool.","signature":"EtYDCkYI+/="},` +
	`{"type":"redacted_thinking","data":"EmwKAhgBEgy"},` +
	`{"type":"text","text":"Checking — ☀️ <now> & then.","citations":[{"type":"char_location","cited_text":"x","document_index":0,"start_char_index":0,"end_char_index":1},{"type":"char_location","cited_text":"y","document_index":0,"start_char_index":1,"end_char_index":2}]},` +
	`{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"Florence weather"}},` +
	`{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[{"type":"web_search_result","url":"https://example.com","title":"W"}]},` +
	`{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Florence","days":[1,2],"opts":{"units":"c"}},"caller":{"type":"direct"}},` +
	`{"type":"tool_use","id":"toolu_2","name":"ping","input":{}}` +
	`],"stop_reason":"stop_sequence","stop_sequence":"\n\nHuman:","stop_details":null,"container":{"id":"c1","expires_at":"2025-01-01T00:00:00Z"},` +
	`"usage":{"input_tokens":424,"cache_creation_input_tokens":0,"cache_read_input_tokens":12,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":119,"server_tool_use":{"web_search_requests":1},"service_tier":"standard"}}`

// events parses an event stream.
func events(t testing.TB, stream []byte) []sse.Event {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(stream), 1<<20)
	var out []sse.Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sse.Event{Name: bytes.Clone(ev.Name), Data: bytes.Clone(ev.Data), Raw: bytes.Clone(ev.Raw)})
	}
}

func accumulate(t testing.TB, evs []sse.Event) ([]byte, bool) {
	t.Helper()
	a := NewAccumulator(1 << 20)
	for _, ev := range evs {
		a.Add(ev.Name, ev.Data)
	}
	return a.Message()
}

// sdkAccumulate runs the stream through anthropic-sdk-go's accumulator and
// returns the message's wire JSON.
func sdkAccumulate(t testing.TB, evs []sse.Event) []byte {
	t.Helper()
	var msg anthropic.Message
	for _, ev := range evs {
		var u anthropic.MessageStreamEventUnion
		if err := json.Unmarshal(ev.Data, &u); err != nil {
			t.Fatalf("SDK cannot decode %s: %v", ev.Data, err)
		}
		if u.Type != string(ev.Name) && string(ev.Name) != "ping" {
			t.Fatalf("event %s carries type %q", ev.Name, u.Type)
		}
		if err := msg.Accumulate(u); err != nil {
			t.Fatal(err)
		}
	}
	return []byte(msg.RawJSON())
}

func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	if diff := cmp.Diff(x, y); diff != "" {
		t.Errorf("JSON differs (-a +b):\n%s", diff)
		return false
	}
	return true
}

// TestAccumulatorMatchesSDK: recorded upstream streams accumulate into the
// message anthropic-sdk-go's accumulator builds.
func TestAccumulatorMatchesSDK(t *testing.T) {
	for _, name := range []string{"stream_text", "stream_thinking_tool"} {
		t.Run(name, func(t *testing.T) {
			f := fakeupstream.MustLoad(t, fixtures+name+".txtar")
			evs := events(t, f.Body)
			got, ok := accumulate(t, evs)
			if !ok {
				t.Fatal("accumulator gave up")
			}
			jsonEqual(t, got, sdkAccumulate(t, evs))
		})
	}
}

// TestReplayRoundTrip: the stream AppendStream makes accumulates, in the
// SDK and in Accumulator, into exactly the cached message.
func TestReplayRoundTrip(t *testing.T) {
	tool := fakeupstream.MustLoad(t, fixtures+"message_tool_use.txtar")
	text, _ := accumulate(t, events(t, fakeupstream.MustLoad(t, fixtures+"stream_text.txtar").Body))
	thinking, _ := accumulate(t, events(t, fakeupstream.MustLoad(t, fixtures+"stream_thinking_tool.txtar").Body))
	for name, msg := range map[string][]byte{
		"every block kind":  []byte(thinkingToolMessage),
		"recorded message":  bytes.TrimSpace(tool.Body),
		"accumulated text":  text,
		"accumulated tools": thinking,
		"empty content":     []byte(`{"id":"m","type":"message","role":"assistant","model":"x","content":[],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":0}}`),
		"empty text":        []byte(`{"id":"m","type":"message","role":"assistant","model":"x","content":[{"type":"text","text":""}],"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":0}}`),
	} {
		t.Run(name, func(t *testing.T) {
			stream, err := AppendStream(nil, msg)
			if err != nil {
				t.Fatal(err)
			}
			evs := events(t, stream)
			got, ok := accumulate(t, evs)
			if !ok {
				t.Fatal("accumulator gave up on the replay")
			}
			if !bytes.Equal(got, msg) {
				t.Errorf("accumulated replay differs from the message:\n got %s\nwant %s", got, msg)
			}
			jsonEqual(t, sdkAccumulate(t, evs), msg)
		})
	}
}

// TestReplayEventSequence pins the exact events of a small answer.
func TestReplayEventSequence(t *testing.T) {
	msg := `{"id":"m1","type":"message","role":"assistant","model":"claude","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"text","text":"Hi \"you\""},{"type":"tool_use","id":"t1","name":"f","input":{"a":"b\n"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":5}}`
	got, err := AppendStream(nil, []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`event: message_start`,
		`data: {"type":"message_start","message":{"id":"m1","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":5}}}`,
		``,
		`event: content_block_start`,
		`data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
		``,
		`event: content_block_delta`,
		`data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}`,
		``,
		`event: content_block_delta`,
		`data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}`,
		``,
		`event: content_block_stop`,
		`data: {"type":"content_block_stop","index":0}`,
		``,
		`event: content_block_start`,
		`data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}`,
		``,
		`event: content_block_delta`,
		`data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hi \"you\""}}`,
		``,
		`event: content_block_stop`,
		`data: {"type":"content_block_stop","index":1}`,
		``,
		`event: content_block_start`,
		`data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"t1","name":"f","input":{}}}`,
		``,
		`event: content_block_delta`,
		`data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"a\":\"b\\n\"}"}}`,
		``,
		`event: content_block_stop`,
		`data: {"type":"content_block_stop","index":2}`,
		``,
		`event: message_delta`,
		`data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":3,"output_tokens":5}}`,
		``,
		`event: message_stop`,
		`data: {"type":"message_stop"}`,
		``, ``,
	}, "\n")
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("replay differs (-want +got):\n%s", diff)
	}
}

func TestReplayRefusesNonMessages(t *testing.T) {
	for _, in := range []string{`{}`, `{"content":{}}`, `{"content":[1]}`, `{"content":[{"type":1}]}`, `{"content":[{"type":"text","text":"x"}`} {
		if _, err := AppendStream(nil, []byte(in)); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

// TestAccumulatorGivesUp: whatever it could not rebuild exactly is not a
// message.
func TestAccumulatorGivesUp(t *testing.T) {
	f := fakeupstream.MustLoad(t, fixtures+"stream_thinking_tool.txtar")
	evs := events(t, f.Body)
	ev := func(name, data string) sse.Event { return sse.Event{Name: []byte(name), Data: []byte(data)} }
	with := func(i int, extra ...sse.Event) []sse.Event {
		out := append([]sse.Event(nil), evs[:i]...)
		out = append(out, extra...)
		return append(out, evs[i:]...)
	}
	last := len(evs) - 1
	cases := map[string]struct {
		evs []sse.Event
		max int64
	}{
		"no message_stop":        {evs[:last], 1 << 20},
		"error event":            {with(3, ev("error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)), 1 << 20},
		"unknown event":          {with(3, ev("surprise", `{}`)), 1 << 20},
		"unknown delta":          {with(3, ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"new_delta","x":1}}`)), 1 << 20},
		"delta to missing block": {with(3, ev("content_block_delta", `{"type":"content_block_delta","index":5,"delta":{"type":"text_delta","text":"x"}}`)), 1 << 20},
		"block out of order":     {with(2, ev("content_block_start", `{"type":"content_block_start","index":3,"content_block":{"type":"text","text":""}}`)), 1 << 20},
		"event after stop":       {append(append([]sse.Event(nil), evs...), ev("content_block_delta", `{}`)), 1 << 20},
		"over max":               {evs, 500},
		"no message_start":       {evs[1:], 1 << 20},
	}
	for name, c := range cases {
		a := NewAccumulator(c.max)
		for _, e := range c.evs {
			a.Add(e.Name, e.Data)
		}
		if m, ok := a.Message(); ok {
			t.Errorf("%s: rebuilt %s", name, m)
		}
	}
	// A ping after message_stop is harmless.
	a := NewAccumulator(1 << 20)
	for _, e := range append(append([]sse.Event(nil), evs...), ev("ping", `{"type":"ping"}`)) {
		a.Add(e.Name, e.Data)
	}
	if _, ok := a.Message(); !ok {
		t.Errorf("ping after message_stop: gave up")
	}
}

// TestAccumulatorCutToolInput: input that is not JSON at the end (a tool
// call cut off by max_tokens) stays as the start gave it, as in the SDK.
func TestAccumulatorCutToolInput(t *testing.T) {
	s := `event: message_start
data: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":9}}

event: message_stop
data: {"type":"message_stop"}

`
	evs := events(t, []byte(s))
	got, ok := accumulate(t, evs)
	if !ok {
		t.Fatal("gave up")
	}
	want := `{"id":"m","type":"message","role":"assistant","model":"x","content":[{"type":"tool_use","id":"t","name":"f","input":{}}],"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":9}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	jsonEqual(t, got, sdkAccumulate(t, evs))
}

// TestAccumulatorKeepsStartBlocks: deltas never write over the block the
// start gave (its empty strings alias it), whatever the spare capacity.
func TestAccumulatorKeepsStartBlocks(t *testing.T) {
	for pad := range 64 {
		a := NewAccumulator(1 << 20)
		a.Add([]byte("message_start"), []byte(`{"type":"message_start","message":{"content":[]}}`))
		block := `{"type":"thinking","thinking":"","signature":"","pad":"` + strings.Repeat("x", pad) + `"}`
		a.Add([]byte("content_block_start"), []byte(`{"type":"content_block_start","index":0,"content_block":`+block+`}`))
		a.Add([]byte("content_block_delta"), []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"\b and more"}}`))
		a.Add([]byte("content_block_delta"), []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}`))
		a.Add([]byte("message_stop"), []byte(`{"type":"message_stop"}`))
		got, ok := a.Message()
		want := `{"content":[{"type":"thinking","thinking":"\b and more","signature":"sig","pad":"` + strings.Repeat("x", pad) + `"}]}`
		if !ok || string(got) != want {
			t.Fatalf("pad %d: %s %v", pad, got, ok)
		}
	}
}
