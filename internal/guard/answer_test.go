package guard

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

func event(name, data string) sse.Event {
	return sse.Event{Name: []byte(name), Data: []byte(data), Raw: sse.AppendEvent(nil, name, []byte(data))}
}

func runAnswer(a *Answer, evs []sse.Event) string {
	var out []byte
	for _, ev := range evs {
		out = a.Event(out, ev)
	}
	return string(out)
}

func TestAnswerRestoresSplitPlaceholder(t *testing.T) {
	g := newGuard(t, ActionPseudonymize, nil)
	_, res, err := g.Request([]byte(`{"messages":[{"role":"user","content":"call ` + testPhone + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	a := g.Answer(res.Pseudonyms)
	evs := []sse.Event{
		event("message_start", `{"type":"message_start","message":{}}`),
		event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
		event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Calling <PHO"}}`),
		event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"NE_1> now"}}`),
		event("content_block_stop", `{"type":"content_block_stop","index":0}`),
		event("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"dial","input":{}}}`),
		event("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"n\":\"<PHONE"}}`),
		event("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"_1>\"}"}}`),
		event("content_block_stop", `{"type":"content_block_stop","index":1}`),
		event("message_stop", `{"type":"message_stop"}`),
	}
	got := runAnswer(a, evs)
	var texts, json strings.Builder
	r := sse.NewReader(strings.NewReader(got), 1<<16)
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		if string(ev.Name) == "content_block_delta" {
			d := string(ev.Data)
			switch {
			case strings.Contains(d, "text_delta"):
				s := d[strings.Index(d, `"text":"`)+8 : strings.LastIndex(d, `"}}`)]
				texts.WriteString(s)
			default:
				json.WriteString(d)
			}
		}
	}
	if texts.String() != "Calling "+testPhone+" now" {
		t.Fatalf("text %q in\n%s", texts.String(), got)
	}
	if !strings.Contains(json.String(), testPhone) || strings.Contains(got, "<PHONE") {
		t.Fatalf("tool input not restored:\n%s", got)
	}
}

func TestAnswerRefusal(t *testing.T) {
	wl, _ := NewWordList([]string{"forbidden"})
	g, _ := New(Policy{Words: wl, WordsOutput: WordsRefuse})
	a := g.Answer(nil)
	got := runAnswer(a, []sse.Event{
		event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"this is forb"}}`),
		event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"idden text"}}`),
		event("content_block_stop", `{"type":"content_block_stop","index":0}`),
		event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"}}`),
	})
	want := string(sse.AppendEvent(nil, "content_block_delta", []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"this is "}}`))) +
		string(sse.AppendEvent(nil, "content_block_stop", []byte(`{"type":"content_block_stop","index":0}`))) +
		string(sse.AppendEvent(nil, "message_delta", []byte(`{"type":"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null},"usage":{"output_tokens":0}}`))) +
		string(sse.AppendEvent(nil, "message_stop", []byte(`{"type":"message_stop"}`)))
	if got != want || !a.Refused() {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestAnswerPassThroughUnchanged(t *testing.T) {
	wl, _ := NewWordList([]string{"forbidden"})
	g, _ := New(Policy{Words: wl})
	ev := event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"fine words"}}`)
	if got := g.Answer(nil).Event(nil, ev); !bytes.Equal(got, ev.Raw) {
		t.Fatalf("got %s", got)
	}
	if g2 := newGuard(t, ActionRedact, nil); g2.Answer(NewPseudonyms(nil)) != nil {
		t.Fatal("an answer filter with nothing to do")
	}
}

func TestMessage(t *testing.T) {
	g := newGuard(t, ActionPseudonymize, []string{"forbidden"})
	_, res, _ := g.Request([]byte(`{"messages":[{"role":"user","content":"call ` + testPhone + `"}]}`))
	body := `{"id":"m","content":[{"type":"text","text":"ok <PHONE_1> forbidden"},{"type":"tool_use","id":"t","name":"x","input":{"n":["<PHONE_1>"]}}],"stop_reason":"tool_use"}`
	out, refused, err := g.Message([]byte(body), res.Pseudonyms)
	want := `{"id":"m","content":[{"type":"text","text":"ok ` + testPhone + ` *********"},{"type":"tool_use","id":"t","name":"x","input":{"n":["` + testPhone + `"]}}],"stop_reason":"tool_use"}`
	if err != nil || refused || string(out) != want {
		t.Fatalf("got %s (%v %v)\nwant %s", out, refused, err, want)
	}
	g.wordsOutput = WordsRefuse
	out, refused, err = g.Message([]byte(body), res.Pseudonyms)
	want = `{"id":"m","content":[{"type":"text","text":"ok ` + testPhone + ` "}],"stop_reason":"refusal"}`
	if err != nil || !refused || string(out) != want {
		t.Fatalf("got %s (%v %v)\nwant %s", out, refused, err, want)
	}
}

func TestAnswerToolInputMaskedNotRefused(t *testing.T) {
	wl, _ := NewWordList([]string{"forbidden"})
	g, _ := New(Policy{Words: wl, WordsOutput: WordsRefuse})
	a := g.Answer(nil)
	got := runAnswer(a, []sse.Event{
		event("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"q\":\"forbidden\"}"}}`),
		event("content_block_stop", `{"type":"content_block_stop","index":1}`),
	})
	if a.Refused() || !strings.Contains(got, `*********`) || strings.Contains(got, "forbidden") {
		t.Fatalf("got\n%s", got)
	}
}

func TestAnswerThinkingNotRestored(t *testing.T) {
	g := newGuard(t, ActionPseudonymize, nil)
	_, res, _ := g.Request([]byte(`{"messages":[{"role":"user","content":"call ` + testPhone + `"}]}`))
	ev := event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"the user gave <PHONE_1>"}}`)
	if got := g.Answer(res.Pseudonyms).Event(nil, ev); !bytes.Equal(got, ev.Raw) {
		t.Fatalf("signed thinking was changed: %s", got)
	}
}

// TestAnswerMaskedCount: the words masked on a stream and in a whole
// message are counted, for ferry_guard_matches_total{words,mask}.
func TestAnswerMaskedCount(t *testing.T) {
	wl, err := NewWordList([]string{"bad"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Policy{Words: wl})
	if err != nil {
		t.Fatal(err)
	}
	a := g.Answer(nil)
	for _, chunk := range []string{"a ba", "d b", "ad c", " bad"} {
		data := jsonpeek.AppendString([]byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`), chunk)
		a.Filter(newEvent("content_block_delta", append(data, "}}"...)), nil)
	}
	a.Filter(newEvent("content_block_stop", []byte(`{"type":"content_block_stop","index":0}`)), nil)
	if a.Masked() != 3 {
		t.Errorf("stream: %d masked, want 3", a.Masked())
	}
	_, _, n, err := g.MessageCount([]byte(`{"content":[{"type":"text","text":"bad, BAD"}],"stop_reason":"end_turn"}`), nil)
	if err != nil || n != 2 {
		t.Errorf("message: %d masked (%v), want 2", n, err)
	}
}
