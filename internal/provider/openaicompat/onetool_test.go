package openaicompat_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/fakeupstream"
	"github.com/ferrygw/ferry/internal/sse"
)

// TestDisableParallelToolUseGeneric: the generic profile sends no
// parallel_tool_calls, so an upstream that calls two tools anyway is held
// to the one the client allowed, in whole answers and streams, and the
// drop is noted for the log.
func TestDisableParallelToolUseGeneric(t *testing.T) {
	const req = `{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"2+3 and 2*3"}],` +
		`"tools":[{"name":"add","input_schema":{"type":"object"}},{"name":"mul","input_schema":{"type":"object"}}],` +
		`"tool_choice":{"type":"auto","disable_parallel_tool_use":true}`
	whole := `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"tool_calls":[` +
		`{"id":"c0","type":"function","function":{"name":"add","arguments":"{\"a\":2}"}},{"id":"c1","type":"function","function":{"name":"mul","arguments":"{\"a\":2}"}}]}}],"usage":{"prompt_tokens":5,"completion_tokens":5}}`
	stream := "data: " + `{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c0","type":"function","function":{"name":"add","arguments":"{}"}}]}}]}` + "\n\n" +
		"data: " + `{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"c1","type":"function","function":{"name":"mul","arguments":"{}"}}]}}]}` + "\n\n" +
		"data: " + `{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}` + "\n\ndata: [DONE]\n\n"

	fake := newFake(t)
	p := newTestProvider(t, "generic", fake.URL)

	fake.Enqueue(fakeupstream.Reply{Fixture: &fakeupstream.Fixture{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(whole)}})
	resp, err := do(context.Background(), p, anthropicCall("m", req+`}`, false))
	if err != nil {
		t.Fatal(err)
	}
	body := string(readAll(t, resp))
	resp.Close()
	if strings.Count(body, `"type":"tool_use"`) != 1 || !strings.Contains(body, `"name":"add"`) {
		t.Errorf("whole answer: %s", body)
	}
	if resp.Note == nil || !strings.Contains(resp.Note.Error(), "dropped 1 more (mul)") {
		t.Errorf("note = %v", resp.Note)
	}
	if up := lastRequest(t, fake).body; up["parallel_tool_calls"] != nil {
		t.Errorf("generic got parallel_tool_calls: %v", up)
	}

	fake.Enqueue(fakeupstream.Reply{Fixture: &fakeupstream.Fixture{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: []byte(stream)}})
	resp, err = do(context.Background(), p, anthropicCall("m", req+`,"stream":true}`, true))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()
	var out strings.Builder
	for {
		ev, err := resp.Events.Next()
		if err != nil {
			break
		}
		out.Write(ev.Raw)
	}
	if strings.Count(out.String(), `"type":"tool_use"`) != 1 {
		t.Errorf("stream: %s", out.String())
	}
	n, ok := resp.Events.(interface{ Note() error })
	if !ok || n.Note() == nil || !strings.Contains(n.Note().Error(), "(mul)") {
		t.Errorf("stream note: %v", ok)
	}
	var _ sse.Source = resp.Events
}

// TestHeaderPolicy: the header policy's headers reach an OpenAI-compatible
// upstream; the credential is always the provider's own.
func TestHeaderPolicy(t *testing.T) {
	fake := newFake(t)
	p := newTestProvider(t, "zhipu", fake.URL)
	fake.Enqueue(fakeupstream.Reply{Fixture: &fakeupstream.Fixture{Status: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(`{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"hi"}}]}`)}})
	c := anthropicCall("glm-4.7", `{"model":"glm-4.7","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, false)
	c.SetHeader = [][2]string{{"X-Claude-Timezone", "Asia/Shanghai"}, {"Authorization", "Bearer stolen"}}
	resp, err := do(context.Background(), p, c)
	if err != nil {
		t.Fatal(err)
	}
	resp.Close()
	h := lastRequest(t, fake).header
	if h.Get("X-Claude-Timezone") != "Asia/Shanghai" || h.Get("Authorization") != "Bearer "+providerKey {
		t.Errorf("headers %v", h)
	}
}
