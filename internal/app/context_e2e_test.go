package app

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
)

// The vendors' recorded context-length errors, one set for the provider's
// tests and these.
const contextFixtures = "../provider/openaicompat/testdata/"

// TestContextErrorsInClaudeCodeWords: on every OpenAI-compatible profile, a
// vendor's context-length error reaches an Anthropic SDK client as a 400
// invalid_request_error in one of the two sentences Claude Code acts on
// (compact, or re-send with a smaller max_tokens), streamed and not, with
// the vendor's numbers where it gave them and Ferry's count, said in the
// log, where it did not.
func TestContextErrorsInClaudeCodeWords(t *testing.T) {
	tests := []struct {
		profile, fixture, model string
		maxTokens               int64
		want                    string
		estimated               bool // the log must say the count is Ferry's estimate
	}{
		{"openai", "openai_error_context", "gpt-5.2", 21000, "prompt is too long: 130512 tokens > 128000 maximum", false},
		{"zhipu", "zhipu_error_1261", "glm-4.6", 21000, "prompt is too long: 200001 tokens > 200000 maximum", true},
		{"dashscope", "dashscope_error_context", "qwen3-coder-plus", 21000, "prompt is too long: 983617 tokens > 983616 maximum", true},
		{"deepseek", "deepseek_error_context", "deepseek-chat", 8192, "input length and `max_tokens` exceed context limit: 123137 + 8192 > 131072", false},
		{"moonshot", "moonshot_error_context", "kimi-k2.5", 21000, "input length and `max_tokens` exceed context limit: 248030 + 21000 > 262144", false},
		{"vllm", "vllm_error_context_renderer", "qwen3-8b", 1024, "input length and `max_tokens` exceed context limit: 3500 + 1024 > 4096", false},
		{"ollama", "ollama_error_context", "qwen3:4b", 4096, "prompt is too long: 26528 tokens > 16384 maximum", false},
		{"generic", "generic_error_context_llamacpp", "local", 128, "prompt is too long: 351 tokens > 256 maximum", false},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			vendor := fakeupstream.New()
			defer vendor.Close()
			g := newGateway(t, func(c *config.Config) {
				c.Providers = append(c.Providers, config.Provider{Name: "v", Type: config.TypeOpenAI, Profile: tt.profile, BaseURLs: []string{vendor.URL}, APIKey: vendorKey})
				c.Routes = append(c.Routes, config.Route{Match: tt.model, Targets: []config.Target{{Provider: "v"}}})
			})
			vendor.SetDefault(fakeupstream.Reply{Fixture: fakeupstream.MustLoad(t, contextFixtures+tt.fixture+".txtar")})
			c := g.client()
			params := anthropic.MessageNewParams{Model: anthropic.Model(tt.model), MaxTokens: tt.maxTokens, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Summarize the repository."))}}

			_, err := c.Messages.New(context.Background(), params)
			if e := assertAPIError(t, err, 400, "invalid_request_error"); contextMessageOf(e) != tt.want {
				t.Errorf("message %q, want %q", contextMessageOf(e), tt.want)
			}

			stream := c.Messages.NewStreaming(context.Background(), params)
			for stream.Next() {
				t.Fatalf("a stream event for a refused call: %+v", stream.Current())
			}
			if e := assertAPIError(t, stream.Err(), 400, "invalid_request_error"); contextMessageOf(e) != tt.want {
				t.Errorf("stream: message %q, want %q", contextMessageOf(e), tt.want)
			}

			if logs := g.Logs.String(); strings.Contains(logs, "an estimate") != tt.estimated {
				t.Errorf("estimated=%v, but the log says otherwise: %s", tt.estimated, logs)
			}
		})
	}
}

// TestContextErrorsForOpenAIClients: an OpenAI SDK client on the same
// routes gets context_length_exceeded with OpenAI's own sentence.
func TestContextErrorsForOpenAIClients(t *testing.T) {
	tests := []struct {
		profile, fixture, model string
		want                    string
	}{
		{"moonshot", "moonshot_error_context", "kimi-k2.5", "This model's maximum context length is 262144 tokens. However, you requested 269030 tokens (237030 in the messages, 32000 in the completion). Please reduce the length of the messages or completion."},
		{"zhipu", "zhipu_error_1261", "glm-4.5-air", "This model's maximum context length is 128000 tokens. However, your messages resulted in 128001 tokens. Please reduce the length of the messages."},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			vendor := fakeupstream.New()
			defer vendor.Close()
			g := newGateway(t, func(c *config.Config) {
				c.Providers = append(c.Providers, config.Provider{Name: "v", Type: config.TypeOpenAI, Profile: tt.profile, BaseURLs: []string{vendor.URL}, APIKey: vendorKey})
				c.Routes = append(c.Routes, config.Route{Match: tt.model, Targets: []config.Target{{Provider: "v"}}})
			})
			vendor.SetDefault(fakeupstream.Reply{Fixture: fakeupstream.MustLoad(t, contextFixtures+tt.fixture+".txtar")})
			oc := openai.NewClient(ooption.WithBaseURL(g.URL+"/v1"), ooption.WithAPIKey(clientKey), ooption.WithHTTPClient(g.HTTP), ooption.WithMaxRetries(0))
			params := openai.ChatCompletionNewParams{Model: tt.model, MaxCompletionTokens: openai.Int(32000), Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Summarize the repository.")}}
			_, err := oc.Chat.Completions.New(context.Background(), params)
			var e *openai.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an API error", err)
			}
			if e.StatusCode != 400 || e.Code != "context_length_exceeded" || e.Type != "invalid_request_error" || e.Message != tt.want {
				t.Errorf("got %d code %q type %q message %q\nwant message %q", e.StatusCode, e.Code, e.Type, e.Message, tt.want)
			}
		})
	}
}

// TestContextCountedForOpenAIClients: a vendor that gives no numbers
// (Zhipu 1261) gets an OpenAI client's input counted by Ferry as it was
// sent, in OpenAI's format, and the log says the count is an estimate.
func TestContextCountedForOpenAIClients(t *testing.T) {
	vendor := fakeupstream.New()
	defer vendor.Close()
	g := newGateway(t, func(c *config.Config) {
		c.Providers = append(c.Providers, config.Provider{Name: "v", Type: config.TypeOpenAI, Profile: "zhipu", BaseURLs: []string{vendor.URL}, APIKey: vendorKey})
		c.Routes = append(c.Routes, config.Route{Match: "glm-4.5-air", Targets: []config.Target{{Provider: "v"}}})
	})
	vendor.SetDefault(fakeupstream.Reply{Fixture: fakeupstream.MustLoad(t, contextFixtures+"zhipu_error_1261.txtar")})
	oc := openai.NewClient(ooption.WithBaseURL(g.URL+"/v1"), ooption.WithAPIKey(clientKey), ooption.WithHTTPClient(g.HTTP), ooption.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{Model: "glm-4.5-air", Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Summarize the repository.")}}
	_, err := oc.Chat.Completions.New(context.Background(), params)
	var e *openai.Error
	if !errors.As(err, &e) || e.Code != "context_length_exceeded" {
		t.Fatalf("error %v, want context_length_exceeded", err)
	}
	if logs := g.Logs.String(); !strings.Contains(logs, "input counted by Ferry (o200k_base, an estimate)") {
		t.Errorf("the log does not say the input was counted: %s", logs)
	}
}

// contextMessageOf is an Anthropic error's message.
func contextMessageOf(e *anthropic.Error) string {
	var b struct {
		Message string `json:"message"`
		Error   struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal([]byte(e.RawJSON()), &b)
	return b.Error.Message + b.Message
}

// TestContextErrorsFromAnthropicFormatVendors: a vendor's
// Anthropic-compatible endpoint (type: anthropic) that words a
// context-length refusal its own way (Kimi's) reaches Claude Code in its
// sentence, streamed and not, and an OpenAI client on the same route in
// OpenAI's.
func TestContextErrorsFromAnthropicFormatVendors(t *testing.T) {
	g := newGateway(t)
	g.Fake.SetDefault(fakeupstream.Reply{Fixture: fakeupstream.MustLoad(t, fixtures+"error_400_context_kimi.txtar")})
	c := g.client()
	params := anthropic.MessageNewParams{Model: "claude-opus-4-8", MaxTokens: 21000, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Summarize the repository."))}}
	const want = "input length and `max_tokens` exceed context limit: 242932 + 21000 > 262144"

	_, err := c.Messages.New(context.Background(), params)
	if e := assertAPIError(t, err, 400, "invalid_request_error"); contextMessageOf(e) != want {
		t.Errorf("message %q, want %q", contextMessageOf(e), want)
	}
	stream := c.Messages.NewStreaming(context.Background(), params)
	for stream.Next() {
		t.Fatalf("a stream event for a refused call: %+v", stream.Current())
	}
	if e := assertAPIError(t, stream.Err(), 400, "invalid_request_error"); contextMessageOf(e) != want {
		t.Errorf("stream: message %q, want %q", contextMessageOf(e), want)
	}

	oc := openai.NewClient(ooption.WithBaseURL(g.URL+"/v1"), ooption.WithAPIKey(clientKey), ooption.WithHTTPClient(g.HTTP), ooption.WithMaxRetries(0))
	_, err = oc.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "claude-opus-4-8", MaxCompletionTokens: openai.Int(21000), Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Summarize the repository.")}})
	var e *openai.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an API error", err)
	}
	const wantOpenAI = "This model's maximum context length is 262144 tokens. However, you requested 263932 tokens (242932 in the messages, 21000 in the completion). Please reduce the length of the messages or completion."
	if e.StatusCode != 400 || e.Code != "context_length_exceeded" || e.Message != wantOpenAI {
		t.Errorf("got %d code %q message %q", e.StatusCode, e.Code, e.Message)
	}
}
