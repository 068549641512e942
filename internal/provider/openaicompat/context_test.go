package openaicompat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/fakeupstream"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/provider/openaicompat"
)

// TestContextCountedByFerry: a vendor that gives only the limit (DashScope)
// gets the input counted by Ferry's tokenizer; the client's message carries
// that count, and the access log's note says it is an estimate.
func TestContextCountedByFerry(t *testing.T) {
	fake := newFake(t)
	p := newTestProvider(t, "dashscope", fake.URL)
	body := fmt.Sprintf(`{"model":"qwen3-max","max_tokens":1024,"messages":[{"role":"user","content":%q}]}`, strings.Repeat("hello world ", 1500))
	n, err := openaicompat.CountTokens([]byte(body))
	if err != nil || n < 3000 {
		t.Fatalf("CountTokens = %d, %v", n, err)
	}
	fake.Enqueue(fakeupstream.Reply{Fixture: &fakeupstream.Fixture{Status: 400, Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(`{"error":{"code":"invalid_parameter_error","message":"<400> InternalError.Algo.InvalidParameter: Range of input length should be [1, 2048]","param":null,"type":"invalid_request_error"}}`)}})
	resp, err := do(context.Background(), p, anthropicCall("qwen3-max", body, false))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()
	want := fmt.Sprintf("prompt is too long: %d tokens > 2048 maximum", n)
	if got := errorMessage(t, readAll(t, resp)); resp.Status != 400 || got != want {
		t.Errorf("status %d message %q, want 400 %q", resp.Status, got, want)
	}
	if resp.Note == nil || !strings.Contains(resp.Note.Error(), fmt.Sprintf("an estimate): %d tokens, limit 2048", n)) {
		t.Errorf("note %v does not say the count is an estimate", resp.Note)
	}
}

// TestOpenAIClientContextError: an OpenAI client on the same routes gets
// the vendor's context-length error as OpenAI words it, code
// context_length_exceeded, with the vendor's numbers or Ferry's count.
// Other errors pass untouched (TestOpenAIPassthrough).
func TestOpenAIClientContextError(t *testing.T) {
	tests := []struct {
		fixture, profile, model, body string
		want                          string
	}{
		{"deepseek_error_context", "deepseek", "deepseek-chat", `{"model":"deepseek-chat","max_tokens":8192,"messages":[{"role":"user","content":"hi"}]}`,
			"This model's maximum context length is 131072 tokens. However, you requested 131329 tokens (123137 in the messages, 8192 in the completion). Please reduce the length of the messages or completion."},
		{"moonshot_error_context", "moonshot", "kimi-k2.5", `{"model":"kimi-k2.5","max_tokens":32000,"messages":[{"role":"user","content":"hi"}]}`,
			"This model's maximum context length is 262144 tokens. However, you requested 269030 tokens (237030 in the messages, 32000 in the completion). Please reduce the length of the messages or completion."},
		{"moonshot_error_context", "moonshot", "kimi-k2.5", `{"model":"kimi-k2.5","messages":[{"role":"user","content":"hi"}]}`,
			"This model's maximum context length is 262144 tokens. However, your messages resulted in 269030 tokens. Please reduce the length of the messages."},
		{"dashscope_error_context", "dashscope", "qwen3-coder-plus", `{"model":"qwen3-coder-plus","messages":[{"role":"user","content":"hi"}]}`,
			"This model's maximum context length is 983616 tokens. However, your messages resulted in 983617 tokens. Please reduce the length of the messages."},
		{"zhipu_error_1261", "zhipu", "glm-4.5-air", `{"model":"glm-4.5-air","messages":[{"role":"user","content":"hi"}]}`,
			"This model's maximum context length is 128000 tokens. However, your messages resulted in 128001 tokens. Please reduce the length of the messages."},
		{"ollama_error_context", "ollama", "qwen3:4b", `{"model":"qwen3:4b","messages":[{"role":"user","content":"hi"}]}`,
			"This model's maximum context length is 16384 tokens. However, your messages resulted in 26528 tokens. Please reduce the length of the messages."},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			fake := newFake(t)
			p := newTestProvider(t, tt.profile, fake.URL)
			for _, stream := range []bool{false, true} {
				fake.Enqueue(fakeupstream.Reply{Fixture: loadFixture(t, tt.fixture).reply})
				c := &provider.Call{Op: provider.OpMessages, Format: provider.FormatOpenAI, Body: []byte(tt.body), Model: tt.model, Stream: stream, Header: clientHeader()}
				resp, err := do(context.Background(), p, c)
				if err != nil {
					t.Fatal(err)
				}
				raw := readAll(t, resp)
				resp.Close()
				var got struct {
					Error struct {
						Message, Type string
						Param, Code   *string
					}
				}
				if err := json.Unmarshal(raw, &got); err != nil {
					t.Fatalf("body %s: %v", raw, err)
				}
				e := got.Error
				if resp.Status != 400 || e.Message != tt.want || e.Type != "invalid_request_error" || e.Code == nil || *e.Code != "context_length_exceeded" || e.Param == nil || *e.Param != "messages" {
					t.Errorf("stream %v: status %d body %s\nwant message %q", stream, resp.Status, raw, tt.want)
				}
				if resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("content-type %q", resp.Header.Get("Content-Type"))
				}
			}
		})
	}
}

// errorMessage is an Anthropic error body's error.message.
func errorMessage(t *testing.T, raw []byte) string {
	t.Helper()
	var b struct {
		Error struct{ Message string } `json:"error"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("body %s: %v", raw, err)
	}
	return b.Error.Message
}
