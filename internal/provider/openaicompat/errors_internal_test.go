package openaicompat

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/tools/txtar"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/tokens"
)

// TestContextMessage covers the wordings the fixtures do not.
func TestContextMessage(t *testing.T) {
	count := func(n int64) func() (int64, error) { return func() (int64, error) { return n, nil } }
	tests := []struct {
		name    string
		profile string
		e       upstreamError
		kind    apierr.Kind
		f       *contextFacts
		want    string // "" = not rewritten
		note    string // a substring of the note; "" = no note
	}{
		{"openai legacy completions", "openai", upstreamError{message: "This model's maximum context length is 4097 tokens, however you requested 4200 tokens (3200 in your prompt; 1000 for the completion). Please reduce your prompt; or completion length."}, apierr.InvalidRequest, nil,
			"input length and `max_tokens` exceed context limit: 3200 + 1000 > 4097", ""},
		{"prompt alone over the limit", "openai", upstreamError{message: "This model's maximum context length is 131072 tokens. However, you requested 140000 tokens (135000 in the messages, 5000 in the completion). Please reduce the length of the messages or completion."}, apierr.InvalidRequest, nil,
			"prompt is too long: 135000 tokens > 131072 maximum", ""},
		{"openai with functions", "openai", upstreamError{message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens (8000 in the messages, 1000 in the functions). Please reduce the length of the messages or functions."}, apierr.InvalidRequest, nil,
			"prompt is too long: 9000 tokens > 8192 maximum", ""},
		{"sglang", "generic", upstreamError{message: "Requested token count exceeds the model's maximum context length of 32768 tokens. You requested a total of 40000 tokens: 36000 tokens from the input messages and 4000 tokens for the completion. Please reduce the number of tokens in the input messages or the completion to fit within the limit."}, apierr.InvalidRequest, nil,
			"prompt is too long: 36000 tokens > 32768 maximum", ""},
		{"sglang fits without max_tokens", "generic", upstreamError{message: "Requested token count exceeds the model's maximum context length of 32768 tokens. You requested a total of 40000 tokens: 30000 tokens from the input messages and 10000 tokens for the completion."}, apierr.InvalidRequest, nil,
			"input length and `max_tokens` exceed context limit: 30000 + 10000 > 32768", ""},
		{"llama.cpp numbers beside the message", "generic", upstreamError{typ: "exceed_context_size_error", message: "the request exceeds the available context size, try increasing it", promptTokens: 5000, contextSize: 4096}, apierr.InvalidRequest, nil,
			"prompt is too long: 5000 tokens > 4096 maximum", ""},
		{"vllm current, max_tokens tips it", "vllm", upstreamError{message: "This model's maximum context length is 32768 tokens. However, you requested 8192 output tokens and your prompt contains at least 24577 input tokens, for a total of at least 32769 tokens. (parameter=input_tokens, value=24577)"}, apierr.InvalidRequest, nil,
			"input length and `max_tokens` exceed context limit: 24577 + 8192 > 32768", ""},
		{"vllm engine check", "vllm", upstreamError{message: "The decoder prompt (length 8825) is longer than the maximum model length of 8192. Make sure that `max_model_len` is no smaller than the number of text tokens."}, apierr.InvalidRequest, nil,
			"prompt is too long: 8825 tokens > 8192 maximum", ""},
		{"vllm renderer, tokens", "vllm", upstreamError{message: "You passed 3500 input tokens and requested 1024 output tokens. However, the model's context length is only 4096 tokens, resulting in a maximum input length of 3072 tokens. Please reduce the length of the input prompt. (parameter=input_tokens, value=3500)"}, apierr.InvalidRequest, nil,
			"input length and `max_tokens` exceed context limit: 3500 + 1024 > 4096", ""},
		{"vllm renderer, characters: counted", "vllm", upstreamError{message: "You passed 90000 input characters and requested 1024 output tokens. However, the model's context length is only 4096 tokens, resulting in a maximum input length of 3072 tokens (at most 61440 characters). Please reduce the length of the input prompt."}, apierr.InvalidRequest, &contextFacts{input: count(2000)},
			"input length and `max_tokens` exceed context limit: 3073 + 1024 > 4096", "reported as 3073"},
		{"siliconflow max_prompt_tokens", "generic", upstreamError{message: "number of input tokens (83121) have exceeded max_prompt_tokens (65536) limit."}, apierr.InvalidRequest, nil,
			"prompt is too long: 83121 tokens > 65536 maximum", ""},
		{"siliconflow max_seq_len", "generic", upstreamError{code: "20015", message: "length of prompt_tokens (147509) must be less than max_seq_len (65536)."}, apierr.InvalidRequest, nil,
			"prompt is too long: 147509 tokens > 65536 maximum", ""},
		{"configured limit", "deepseek", upstreamError{message: "Input tokens exceed the configured limit of 922000 tokens. Your messages resulted in 926618 tokens. Please reduce the length of the messages."}, apierr.InvalidRequest, nil,
			"prompt is too long: 926618 tokens > 922000 maximum", ""},
		{"moonshot with max_tokens known", "moonshot", upstreamError{message: "Invalid request: Your request exceeded model token limit: 262144 (requested: 269030)"}, apierr.InvalidRequest, &contextFacts{maxTokens: 32000},
			"input length and `max_tokens` exceed context limit: 237030 + 32000 > 262144", ""},
		{"moonshot prompt alone over", "moonshot", upstreamError{message: "Invalid request: Your request exceeded model token limit: 262144 (requested: 313014)"}, apierr.InvalidRequest, &contextFacts{maxTokens: 32000},
			"prompt is too long: 281014 tokens > 262144 maximum", ""},
		{"moonshot max_tokens unknown", "moonshot", upstreamError{message: "Invalid request: Your request exceeded model token limit: 262144 (requested: 269030)"}, apierr.InvalidRequest, nil,
			"prompt is too long: 269030 tokens > 262144 maximum", ""},
		{"dashscope counted", "dashscope", upstreamError{message: "<400> InternalError.Algo.InvalidParameter: Range of input length should be [1, 30720]"}, apierr.InvalidRequest, &contextFacts{input: count(41000)},
			"prompt is too long: 41000 tokens > 30720 maximum", "an estimate): 41000 tokens, limit 30720"},
		{"dashscope estimate under the limit", "dashscope", upstreamError{message: "Range of input length should be [1, 30720]"}, apierr.InvalidRequest, &contextFacts{input: count(29000)},
			"prompt is too long: 30721 tokens > 30720 maximum", "reported as 30721"},
		{"dashscope nothing to count", "dashscope", upstreamError{message: "Range of input length should be [1, 30720]"}, apierr.InvalidRequest, nil, "", ""},
		{"zhipu 1261 by the model's window", "zhipu", upstreamError{code: "1261", message: "Prompt 超长"}, apierr.ContextLength, &contextFacts{model: "GLM-4.5-Air", input: count(140000)},
			"prompt is too long: 140000 tokens > 128000 maximum", "an estimate): 140000 tokens"},
		{"zhipu longest prefix", "zhipu", upstreamError{code: "1261", message: "Prompt 超长"}, apierr.ContextLength, &contextFacts{model: "glm-5.2", input: count(1200000)},
			"prompt is too long: 1200000 tokens > 1000000 maximum", "limit 1000000"},
		{"zhipu unknown model", "zhipu", upstreamError{code: "1261", message: "Prompt 超长"}, apierr.ContextLength, &contextFacts{model: "glm-9", input: count(10)}, "", `no documented window for model "glm-9"`},
		{"count fails", "zhipu", upstreamError{code: "1261", message: "Prompt 超长"}, apierr.ContextLength, &contextFacts{model: "glm-4.6", input: func() (int64, error) { return 0, errors.New("no") }}, "", ""},
		{"requested total without a breakdown", "openai", upstreamError{message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens. Please reduce the length of the messages."}, apierr.InvalidRequest, nil, "", ""},
		{"unrelated", "deepseek", upstreamError{message: "Invalid max_tokens value, the valid range of max_tokens is [1, 8192]"}, apierr.InvalidRequest, &contextFacts{input: count(10)}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := Lookup(tt.profile)
			c, note, ok := p.contextOverflow(tt.e, tt.kind, tt.f)
			got := ""
			if ok {
				got = c.AnthropicMessage()
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if tt.note == "" && note != "" || !strings.Contains(note, tt.note) {
				t.Errorf("note %q, want one with %q", note, tt.note)
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
		got := p.classifyFailure(status, body, nil)
		if got.message == "" || len(got.message) > maxErrorMessage {
			t.Errorf("message %q", got.message)
		}
		if utf8.Valid(body) && !utf8.ValidString(got.message) {
			t.Errorf("invalid UTF-8 from valid input: %q", got.message)
		}
		if got.kind.Status() < 400 {
			t.Errorf("kind %d status %d", got.kind, got.kind.Status())
		}
		if strings.HasPrefix(got.message, "prompt is too long") && got.kind != apierr.ContextLength {
			t.Errorf("context message with kind %d", got.kind)
		}
	})
}

// FuzzContextOverflow: whatever an upstream says, a context-length answer
// is a 400 whose message Claude Code parses back to the numbers it was
// made of, and a count Ferry made never reports less than the vendor
// refused.
func FuzzContextOverflow(f *testing.F) {
	files, _ := filepath.Glob("testdata/*_context*.txtar")
	files = append(files, "testdata/zhipu_error_1261.txtar")
	for _, name := range files {
		a, err := txtar.ParseFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, x := range a.Files {
			if x.Name == "body" {
				f.Add(400, x.Data, "glm-4.6", int64(1024), int64(10))
			}
		}
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, model string, maxTokens, input int64) {
		for _, name := range Names() {
			p, _ := Lookup(name)
			facts := &contextFacts{model: model, maxTokens: maxTokens, input: func() (int64, error) { return input, nil }}
			got := p.classifyFailure(status, body, facts)
			if got.overflow == nil {
				continue
			}
			if got.kind != apierr.ContextLength || got.kind.Status() != 400 {
				t.Fatalf("%s: overflow with kind %d", name, got.kind)
			}
			back, ok := tokens.ParseAnthropicContextMessage(got.message)
			if !ok {
				t.Fatalf("%s: Claude Code cannot parse %q", name, got.message)
			}
			if back.Input != got.overflow.Input || back.Limit != got.overflow.Limit {
				t.Fatalf("%s: %q parses as %+v, made of %+v", name, got.message, back, *got.overflow)
			}
			if strings.Contains(got.note, "an estimate") && got.overflow.Input < input {
				t.Fatalf("%s: reported %d below Ferry's count %d", name, got.overflow.Input, input)
			}
		}
	})
}

// BenchmarkClassifyContextError: an error answer read through every
// context-length wording (the last one matches), counted input aside.
func BenchmarkClassifyContextError(b *testing.B) {
	p, _ := Lookup("dashscope")
	body := []byte(`{"error":{"code":"invalid_parameter_error","message":"<400> InternalError.Algo.InvalidParameter: Range of input length should be [1, 983616]","param":null,"type":"invalid_request_error"}}`)
	f := &contextFacts{model: "qwen3-max", maxTokens: 32000, input: func() (int64, error) { return 1000000, nil }}
	b.ReportAllocs()
	for b.Loop() {
		if got := p.classifyFailure(400, body, f); got.overflow == nil {
			b.Fatal(got.message)
		}
	}
}

// TestContextWindowsCited: every documented window says where it comes
// from, and matches the lower-cased model names it is looked up with.
func TestContextWindowsCited(t *testing.T) {
	for _, p := range table() {
		for _, w := range p.ContextWindows {
			if w.Tokens <= 0 || w.Source == "" || w.Prefix == "" || w.Prefix != strings.ToLower(w.Prefix) {
				t.Errorf("%s: window %+v", p.Name, w)
			}
		}
	}
}

// TestIsAnswer: choices and no error object, member names decoded as
// written (escapes), nested members ignored.
func TestIsAnswer(t *testing.T) {
	for _, c := range []struct {
		body string
		want bool
	}{
		{`{"choices":[{"index":0}]}`, true},
		{` { "id" : "x" , "choices" : [ {} ] } `, true},
		{`{"ch\u006fices":[{}]}`, true},
		{`{"choices":[]}`, false},
		{`{"choices":[{}],"error":null}`, true},
		{`{"choices":[{}],"error":{"message":"m"}}`, false},
		{`{"choices":[{}],"\u0065rror":"m"}`, false},
		{`{"x":{"choices":[{}]}}`, false},
		{`[{"choices":[{}]}]`, false},
	} {
		if got := isAnswer([]byte(c.body)); got != c.want {
			t.Errorf("isAnswer(%s) = %v, want %v", c.body, got, c.want)
		}
	}
}
