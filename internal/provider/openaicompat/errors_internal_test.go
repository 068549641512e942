package openaicompat

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/tools/txtar"
)

// TestContextMessage covers the wordings the fixtures do not.
func TestContextMessage(t *testing.T) {
	tests := []struct {
		name string
		e    upstreamError
		want string // "" = not rewritten
	}{
		{"openai legacy completions", upstreamError{message: "This model's maximum context length is 4097 tokens, however you requested 4200 tokens (3200 in your prompt; 1000 for the completion). Please reduce your prompt; or completion length."},
			"input length and `max_tokens` exceed context limit: 3200 + 1000 > 4097"},
		{"prompt alone over the limit", upstreamError{message: "This model's maximum context length is 131072 tokens. However, you requested 140000 tokens (135000 in the messages, 5000 in the completion). Please reduce the length of the messages or completion."},
			"prompt is too long: 135000 tokens > 131072 maximum"},
		{"openai with functions", upstreamError{message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens (8000 in the messages, 1000 in the functions). Please reduce the length of the messages or functions."},
			"prompt is too long: 9000 tokens > 8192 maximum"},
		{"sglang", upstreamError{message: "Requested token count exceeds the model's maximum context length of 32768 tokens. You requested a total of 40000 tokens: 36000 tokens from the input messages and 4000 tokens for the completion. Please reduce the number of tokens in the input messages or the completion to fit within the limit."},
			"prompt is too long: 36000 tokens > 32768 maximum"},
		{"sglang fits without max_tokens", upstreamError{message: "Requested token count exceeds the model's maximum context length of 32768 tokens. You requested a total of 40000 tokens: 30000 tokens from the input messages and 10000 tokens for the completion."},
			"input length and `max_tokens` exceed context limit: 30000 + 10000 > 32768"},
		{"llama.cpp numbers beside the message", upstreamError{typ: "exceed_context_size_error", message: "the request exceeds the available context size, try increasing it", promptTokens: 5000, contextSize: 4096},
			"prompt is too long: 5000 tokens > 4096 maximum"},
		{"requested total without a breakdown", upstreamError{message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens. Please reduce the length of the messages."}, ""},
		{"dashscope without numbers", upstreamError{message: "Range of input length should be [1, 30720]"}, ""},
		{"unrelated", upstreamError{message: "Invalid max_tokens value, the valid range of max_tokens is [1, 8192]"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := contextMessage(tt.e)
			if !ok {
				got = ""
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseUpstreamErrorShapes(t *testing.T) {
	tests := []struct {
		body string
		want upstreamError
	}{
		{`{"error":{"code":"1210","message":"bad"}}`, upstreamError{code: "1210", message: "bad"}},
		{`{"error":{"message":"m","type":"t","param":null,"code":400}}`, upstreamError{code: "400", typ: "t", message: "m"}},
		{`{"error":"model 'x' not found"}`, upstreamError{message: "model 'x' not found"}},
		{`{"object":"error","message":"m","type":"BadRequestError","param":null,"code":400}`, upstreamError{code: "400", typ: "BadRequestError", message: "m"}},
		{`{"error_code":336001,"error_msg":"Invalid Argument"}`, upstreamError{code: "336001", message: "Invalid Argument"}},
		{`{"code":"Arrearage","message":"Access denied","request_id":"r"}`, upstreamError{code: "Arrearage", message: "Access denied"}},
		{`{"detail":"Not Found"}`, upstreamError{message: "Not Found"}},
		{`{"error":{"code":400,"message":"too big","type":"exceed_context_size_error","n_prompt_tokens":5000,"n_ctx":4096}}`, upstreamError{code: "400", typ: "exceed_context_size_error", message: "too big", promptTokens: 5000, contextSize: 4096}},
	}
	for _, tt := range tests {
		got, ok := parseUpstreamError([]byte(tt.body))
		if !ok || got != tt.want {
			t.Errorf("%s: got %+v %v, want %+v", tt.body, got, ok, tt.want)
		}
	}
	for _, body := range []string{``, `<html>502</html>`, `{}`, `{"id":"x","choices":[]}`, `[1]`, `{"error":null}`} {
		if e, ok := parseUpstreamError([]byte(body)); ok {
			t.Errorf("%q parsed as %+v", body, e)
		}
	}
}

func FuzzClassifyFailure(f *testing.F) {
	files, _ := filepath.Glob("testdata/*error*.txtar")
	for _, name := range files {
		a, err := txtar.ParseFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, x := range a.Files {
			if x.Name == "body" {
				f.Add(400, x.Data)
			}
		}
	}
	f.Add(200, []byte(`{"error_code":110,"error_msg":"x"}`))
	p, _ := Lookup("zhipu")
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		got := p.classifyFailure(status, body)
		if got.message == "" || len(got.message) > maxErrorMessage {
			t.Errorf("message %q", got.message)
		}
		if utf8.Valid(body) && !utf8.ValidString(got.message) {
			t.Errorf("invalid UTF-8 from valid input: %q", got.message)
		}
		if got.kind.Status() < 400 {
			t.Errorf("kind %d status %d", got.kind, got.kind.Status())
		}
		if strings.HasPrefix(got.message, "prompt is too long") && got.kind != KindContextLength {
			t.Errorf("context message with kind %d", got.kind)
		}
	})
}
