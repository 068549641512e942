package relay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/openai"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/sse"
)

func evd(name, data string) sse.Event {
	return sse.Event{Name: []byte(name), Data: []byte(data), Raw: []byte("event: " + name + "\ndata: " + data + "\n\n")}
}

func chunk(data string) sse.Event {
	return sse.Event{Data: []byte(data), Raw: []byte("data: " + data + "\n\n")}
}

const (
	startUsage = `{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"x","content":[],"usage":{"input_tokens":7,"output_tokens":1}}}`
	deltaUsage = `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}}`
)

// TestStreamContract: the relay hands over a stream whose io.EOF is always
// a clean end: a stream cut before its end marker, in either grammar, is
// provider.ErrTruncated; an error event is the stream's Fault; the usage is
// read on the way, in the call's grammar.
func TestStreamContract(t *testing.T) {
	for _, c := range []struct {
		name       string
		format     provider.Format
		speaks     bool // the provider takes the OpenAI call as is
		evs        []sse.Event
		wantCut    bool
		wantFault  bool
		wantInput  int64
		wantOutput int64
	}{
		{name: "anthropic clean", evs: []sse.Event{evd("message_start", startUsage), evd("message_delta", deltaUsage), evd("message_stop", `{}`)}, wantInput: 7, wantOutput: 5},
		{name: "anthropic cut", evs: []sse.Event{evd("message_start", startUsage)}, wantCut: true, wantInput: 7, wantOutput: 1},
		{name: "anthropic error event", evs: []sse.Event{evd("message_start", startUsage), evd("error", `{"type":"error","error":{"type":"overloaded_error","message":"x"}}`)}, wantFault: true, wantInput: 7, wantOutput: 1},
		{name: "openai clean", format: provider.FormatOpenAI, speaks: true, evs: []sse.Event{chunk(`{"choices":[]}`), chunk(`{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}`), chunk(`[DONE]`)}, wantInput: 3, wantOutput: 2},
		{name: "openai cut", format: provider.FormatOpenAI, speaks: true, evs: []sse.Event{chunk(`{"choices":[]}`)}, wantCut: true},
		{name: "openai error chunk", format: provider.FormatOpenAI, speaks: true, evs: []sse.Event{chunk(`{"error":{"message":"boom","type":"server_error"}}`)}, wantFault: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &fakeProvider{answer: streamAnswer(func() *events { return &events{evs: c.evs, err: io.EOF} })}
			if c.speaks {
				p.formats = []provider.Format{provider.FormatOpenAI}
			}
			g := simple(t, map[string]Provider{"p": p}, []string{"p"})
			body := `{"model":"claude-x","max_tokens":1,"stream":true}`
			if c.format == provider.FormatOpenAI {
				body = `{"model":"claude-x","stream":true,"messages":[{"role":"user","content":"hi"}]}`
			}
			res, err := g.Do(context.Background(), request(t, c.format, body))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Close()
			var end error
			for end == nil {
				_, end = res.Events.Next()
			}
			if got := errors.Is(end, provider.ErrTruncated); got != c.wantCut {
				t.Errorf("end %v: truncated %v, want %v", end, got, c.wantCut)
			}
			if !c.wantCut && end != io.EOF {
				t.Errorf("end %v, want io.EOF", end)
			}
			if c.wantCut && provider.Reason(end) != provider.ReasonConnectionReset {
				t.Errorf("cut reason %q, want %q", provider.Reason(end), provider.ReasonConnectionReset)
			}
			if got := res.Events.Fault() != nil; got != c.wantFault {
				t.Errorf("fault %v, want one: %v", res.Events.Fault(), c.wantFault)
			}
			u, seen := res.Events.Usage()
			if c.wantInput+c.wantOutput > 0 && (!seen || u.Input != c.wantInput || u.Output != c.wantOutput) {
				t.Errorf("usage %+v (seen %v), want input %d output %d", u, seen, c.wantInput, c.wantOutput)
			}
		})
	}
}

// TestTranslatedStreamCut: a cut Anthropic stream translated for an OpenAI
// client ends with the translator's error chunk and a clean io.EOF, the
// cut its Fault, the Anthropic usage read on the way.
func TestTranslatedStreamCut(t *testing.T) {
	p := &fakeProvider{answer: streamAnswer(func() *events {
		return &events{evs: []sse.Event{evd("message_start", startUsage)}, err: io.EOF}
	})}
	g := simple(t, map[string]Provider{"p": p}, []string{"p"})
	res, err := g.Do(context.Background(), request(t, provider.FormatOpenAI, `{"model":"claude-x","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	var last sse.Event
	for {
		ev, err := res.Events.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v, want frames then io.EOF", err)
		}
		last = ev
	}
	if !bytes.Contains(last.Data, []byte(`"error"`)) {
		t.Errorf("last frame %q, want an error chunk", last.Raw)
	}
	if f := res.Events.Fault(); !errors.Is(f, provider.ErrTruncated) {
		t.Errorf("fault %v, want ErrTruncated", f)
	}
	if u, seen := res.Events.Usage(); !seen || u.Input != 7 {
		t.Errorf("usage %+v (seen %v), want input 7", u, seen)
	}
}

// chatTarget is a provider whose upstream speaks Chat Completions.
type chatTarget struct{ *fakeProvider }

func (p *chatTarget) ChatProfile() *openai.Profile {
	return &openai.Profile{Name: "test", MaxTokensField: "max_tokens"}
}

const chatCompletion = `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`

// TestPreparedOncePerTarget: a request retried on a Chat Completions
// target is translated by the relay once, before the first attempt; every
// attempt sends that translation, and the answer comes back translated.
func TestPreparedOncePerTarget(t *testing.T) {
	p := &chatTarget{fakeProvider: &fakeProvider{answer: script(jsonAnswer(503, `{}`), jsonAnswer(503, `{}`), jsonAnswer(200, chatCompletion))}}
	g := simple(t, map[string]Provider{"p": p}, []string{"p"})
	res, err := g.Do(context.Background(), plain(t))
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, res)
	if p.count() != 3 {
		t.Fatalf("%d attempts, want 3", p.count())
	}
	first := p.calls[0]
	if first.Prepared == nil || !bytes.HasPrefix(first.PreparedBody, []byte(`{"model":"claude-x","messages":[]`)) || bytes.Equal(first.PreparedBody, first.Body) {
		t.Fatalf("the first attempt sent %s, want a Chat Completions request", first.PreparedBody)
	}
	for i, c := range p.calls {
		if c.Prepared != first.Prepared || &c.PreparedBody[0] != &first.PreparedBody[0] {
			t.Errorf("attempt %d carried another translation", i) // the same bytes, not a copy
		}
	}
	if !strings.Contains(body, `"type":"message"`) || !strings.Contains(body, `"text":"Hi"`) {
		t.Errorf("answer %s, want the chat completion as an Anthropic message", body)
	}
}

// profileCounter is a chatTarget that counts the reads of its profile:
// one per translation of a call (convert.Prepare), one per answer
// translated back (convert.Do).
type profileCounter struct {
	chatTarget
	reads atomic.Int32
}

func (p *profileCounter) ChatProfile() *openai.Profile {
	p.reads.Add(1)
	return p.chatTarget.ChatProfile()
}

// TestPreparedOncePerPass: panic routing's second pass over the targets
// sends the translations the first pass made; a target is translated once
// per request, whatever the passes.
func TestPreparedOncePerPass(t *testing.T) {
	trip := func(p *config.Provider) { p.Breaker.ConsecutiveFailures = 1; p.Retry.MaxAttempts = 1 }
	fail := true
	ans := func(ctx context.Context, c *provider.Call, i int) (*provider.Response, error) {
		if fail {
			return jsonAnswer(500, serverErr)(ctx, c, i)
		}
		return jsonAnswer(200, chatCompletion)(ctx, c, i)
	}
	a := &profileCounter{chatTarget: chatTarget{&fakeProvider{answer: ans}}}
	b := &profileCounter{chatTarget: chatTarget{&fakeProvider{answer: ans}}}
	g := simple(t, map[string]Provider{"a": a, "b": b}, []string{"a", "b"}, provCfg("a", trip), provCfg("b", trip))
	res, _ := g.Do(context.Background(), plain(t)) // opens a, then b
	readAll(t, res)
	a.reads.Store(0)
	fail = false
	res, err := g.Do(context.Background(), plain(t))
	if err != nil {
		t.Fatalf("every breaker open: %v, want a panic call", err)
	}
	if body := readAll(t, res); res.Provider != "a" || !strings.Contains(body, `"text":"Hi"`) {
		t.Fatalf("got %s from %s, want a's answer translated", body, res.Provider)
	}
	if diff := cmp.Diff([]string{"a@-:no_available_node", "b@-:no_available_node", "a@n0:200"}, attemptList(res)); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	// One translation in the first pass, one answer back in the second.
	if n := a.reads.Load(); n != 2 {
		t.Errorf("a's call translated %d times for one request, want once", n-1)
	}
}

// TestRouteLookedUpOnce: a request that carries its route (the server
// looked it up for the limiter and the cache) is not looked up again.
func TestRouteLookedUpOnce(t *testing.T) {
	p := &fakeProvider{answer: script(jsonAnswer(200, message))}
	g := simple(t, map[string]Provider{"p": p}, []string{"p"})
	req := plain(t)
	rt, ok := g.Lookup(req.Peek.Model)
	if !ok {
		t.Fatal("no route for the test model")
	}
	req.Route = rt
	req.Peek.Model = "no-such-model" // a lookup now would be a 404
	res, err := g.Do(context.Background(), req)
	if err != nil {
		t.Fatalf("Do looked the route up again: %v", err)
	}
	readAll(t, res)
	if res.Route != rt.Match || p.count() != 1 {
		t.Errorf("route %q after %d calls, want %q after 1", res.Route, p.count(), rt.Match)
	}
}
