package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
)

const (
	openaiFixtures = "../../testdata/openai/"
	vendorKey      = "zp-provider-key-0123456789"
)

// xgateway is a gateway with an Anthropic-format fake (claude-*), an
// OpenAI-compatible fake with the zhipu profile (glm-*), and the simulator
// (sim-*).
type xgateway struct {
	*gateway
	Vendor *fakeupstream.Server
}

func newTranslatingGateway(t *testing.T) *xgateway {
	t.Helper()
	vendor := fakeupstream.New()
	t.Cleanup(vendor.Close)
	g := newGateway(t, func(c *config.Config) {
		c.Providers = append(c.Providers, config.Provider{Name: "glm", Type: config.TypeOpenAI, Profile: "zhipu", BaseURLs: []string{vendor.URL}, APIKey: vendorKey})
		c.Routes = append(c.Routes,
			config.Route{Match: "glm-*", Targets: []config.Target{{Provider: "glm"}}},
			config.Route{Match: "deepseek-*", Targets: []config.Target{{Provider: "glm"}}},
		)
	})
	return &xgateway{gateway: g, Vendor: vendor}
}

func (g *xgateway) vendorReply(t *testing.T, name string) *fakeupstream.Fixture {
	f := fakeupstream.MustLoad(t, openaiFixtures+name+".txtar")
	g.Vendor.Enqueue(fakeupstream.Reply{Fixture: f})
	return f
}

// assertVendorRequest checks what every translated call must look like.
func assertVendorRequest(t *testing.T, got fakeupstream.Request) map[string]any {
	t.Helper()
	if got.Path != "/chat/completions" {
		t.Errorf("vendor path = %q", got.Path)
	}
	if a := got.Header.Get("Authorization"); a != "Bearer "+vendorKey {
		t.Errorf("vendor Authorization is not the provider's bearer key")
	}
	for k, vs := range got.Header {
		if strings.HasPrefix(strings.ToLower(k), "anthropic-") || strings.EqualFold(k, "x-api-key") {
			t.Errorf("client header %s forwarded to an OpenAI-compatible upstream", k)
		}
		for _, v := range vs {
			if strings.Contains(v, clientKey) {
				t.Errorf("client key forwarded in %s", k)
			}
		}
	}
	var body map[string]any
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatalf("vendor body is not JSON: %v", err)
	}
	if _, ok := body["messages"].([]any); !ok {
		t.Errorf("vendor body has no messages: %s", got.Body)
	}
	return body
}

var weatherTool = []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
	Name:        "get_weather",
	Description: anthropic.String("Get the weather"),
	InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"}},
}}}

// TestAnthropicSDKOnOpenAIUpstream: the same answer, streamed and not,
// through the Anthropic SDK: the stream accumulator rebuilds exactly the
// message the non-streaming call returns.
func TestAnthropicSDKOnOpenAIUpstream(t *testing.T) {
	g := newTranslatingGateway(t)
	c := g.client()
	params := anthropic.MessageNewParams{
		Model: "glm-4.7-flash", MaxTokens: 4000, Tools: weatherTool,
		Thinking: anthropic.ThinkingConfigParamUnion{OfEnabled: &anthropic.ThinkingConfigEnabledParam{BudgetTokens: 2048}},
		System:   []anthropic.TextBlockParam{{Text: "You are a helpful assistant"}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))},
	}
	g.vendorReply(t, "pair_tool_message")
	whole, err := c.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	body := assertVendorRequest(t, g.Vendor.Last())
	if body["stream"] == true {
		t.Errorf("non-streaming call sent stream:true")
	}

	g.vendorReply(t, "pair_tool_stream")
	stream := c.Messages.NewStreaming(context.Background(), params)
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	body = assertVendorRequest(t, g.Vendor.Last())
	if body["stream"] != true {
		t.Errorf("streaming call did not stream upstream")
	}

	// The non-streaming answer, checked on its own.
	if whole.Model != "glm-4.7-flash" || whole.StopReason != anthropic.StopReasonToolUse {
		t.Errorf("model %q stop %q", whole.Model, whole.StopReason)
	}
	var kinds []string
	for _, b := range whole.Content {
		kinds = append(kinds, b.Type)
	}
	if want := []string{"thinking", "text", "tool_use"}; !cmp.Equal(kinds, want) {
		t.Fatalf("content blocks %v, want %v", kinds, want)
	}
	if whole.Content[0].Thinking != "The user wants the weather in Paris." || whole.Content[1].Text != "Let me check the weather — ☀️?" {
		t.Errorf("thinking %q text %q", whole.Content[0].Thinking, whole.Content[1].Text)
	}
	if whole.Content[2].ID != "call_3532c842716b4c72a7dd7498" || whole.Content[2].Name != "get_weather" || string(whole.Content[2].Input) != `{"city":"Paris"}` {
		t.Errorf("tool_use %+v", whole.Content[2])
	}
	// Cached prompt tokens are not input tokens in Anthropic's terms.
	if u := whole.Usage; u.InputTokens != 101 || u.CacheReadInputTokens != 72 || u.OutputTokens != 93 {
		t.Errorf("usage %+v", u)
	}

	// The stream rebuilds the same message.
	type block struct{ Type, Text, Thinking, ID, Name, Input string }
	flat := func(m *anthropic.Message) []block {
		var out []block
		for _, b := range m.Content {
			in := ""
			if b.Type == "tool_use" {
				var v any
				json.Unmarshal(b.Input, &v)
				j, _ := json.Marshal(v)
				in = string(j)
			}
			out = append(out, block{b.Type, b.Text, b.Thinking, b.ID, b.Name, in})
		}
		return out
	}
	if diff := cmp.Diff(flat(whole), flat(&acc)); diff != "" {
		t.Errorf("accumulated stream differs from the non-streaming message (-whole +stream):\n%s", diff)
	}
	if acc.StopReason != whole.StopReason || acc.Usage.OutputTokens != whole.Usage.OutputTokens ||
		acc.Usage.InputTokens != whole.Usage.InputTokens || acc.Usage.CacheReadInputTokens != whole.Usage.CacheReadInputTokens {
		t.Errorf("stream stop %q usage %+v; whole stop %q usage %+v", acc.StopReason, acc.Usage, whole.StopReason, whole.Usage)
	}

	// Tool round trip: the result goes back as a tool message answering
	// the call's id.
	g.vendorReply(t, "zhipu_message")
	_, err = c.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "glm-4.7-flash", MaxTokens: 4000, Tools: weatherTool,
		Messages: []anthropic.MessageParam{
			params.Messages[0], whole.ToParam(),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock("call_3532c842716b4c72a7dd7498", "18°C, sunny", false)),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	body = assertVendorRequest(t, g.Vendor.Last())
	msgs := body["messages"].([]any)
	var roles []string
	for _, m := range msgs {
		roles = append(roles, m.(map[string]any)["role"].(string))
	}
	if want := []string{"user", "assistant", "tool"}; !cmp.Equal(roles, want) {
		t.Fatalf("roles upstream %v, want %v", roles, want)
	}
	asst := msgs[1].(map[string]any)
	calls, _ := asst["tool_calls"].([]any)
	if len(calls) != 1 || calls[0].(map[string]any)["id"] != "call_3532c842716b4c72a7dd7498" {
		t.Errorf("assistant tool_calls upstream: %v", asst)
	}
	if tm := msgs[2].(map[string]any); tm["tool_call_id"] != "call_3532c842716b4c72a7dd7498" || !strings.Contains(tm["content"].(string), "18°C, sunny") {
		t.Errorf("tool message upstream: %v", tm)
	}
}

func TestAnthropicSDKOnOpenAIUpstreamErrors(t *testing.T) {
	g := newTranslatingGateway(t)
	c := g.client()
	params := anthropic.MessageNewParams{Model: "deepseek-chat", MaxTokens: 8192, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}

	g.vendorReply(t, "deepseek_context_error")
	_, err := c.Messages.New(context.Background(), params)
	e := assertAPIError(t, err, 400, "invalid_request_error")
	// Claude Code parses exactly this wording and retries with less.
	if !strings.Contains(e.RawJSON(), "input length and `max_tokens` exceed context limit: 123137 + 8192 > 131072") {
		t.Errorf("context error not rewritten: %s", e.RawJSON())
	}

	g.vendorReply(t, "moonshot_quota_429")
	_, err = c.Messages.New(context.Background(), params)
	var apiErr *anthropic.Error
	if !errorsAs(err, &apiErr) || apiErr.StatusCode < 400 || !strings.Contains(apiErr.RawJSON(), `"type":"error"`) {
		t.Errorf("vendor 429 not in Anthropic shape: %v", err)
	}
}

func TestOpenAISDKOnAnthropicUpstream(t *testing.T) {
	g := newTranslatingGateway(t)
	oc := openai.NewClient(ooption.WithBaseURL(g.URL+"/v1"), ooption.WithAPIKey(clientKey), ooption.WithHTTPClient(g.HTTP), ooption.WithMaxRetries(0))
	g.reply(t, "message_tool_use")
	resp, err := oc.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Weather in SF?")},
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
			Name: "get_weather", Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	ch := resp.Choices[0]
	if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 || ch.Message.ToolCalls[0].Function.Name != "get_weather" {
		t.Fatalf("choice %+v", ch)
	}
	var args map[string]string
	if err := json.Unmarshal([]byte(ch.Message.ToolCalls[0].Function.Arguments), &args); err != nil || args["city"] != "San Francisco" {
		t.Errorf("arguments %q", ch.Message.ToolCalls[0].Function.Arguments)
	}
	if resp.Usage.PromptTokens != 402 || resp.Usage.CompletionTokens != 89 {
		t.Errorf("usage %+v", resp.Usage)
	}
	up := assertUpstreamRequest(t, g.Fake.Last(), "/v1/messages", "claude-sonnet-4-20250514")
	if up["system"] == nil || up["tools"] == nil {
		t.Errorf("system or tools lost in translation: %v", up)
	}

	// Streaming, accumulated by the SDK.
	g.reply(t, "stream_text")
	stream := oc.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "claude-sonnet-4-5", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != "Hello! Bonjour! こんにちは、你好 👋 — how can I help?" {
		t.Errorf("accumulated content %q", got)
	}
	if acc.Choices[0].FinishReason != "stop" || acc.Usage.CompletionTokens != 21 {
		t.Errorf("finish %q usage %+v", acc.Choices[0].FinishReason, acc.Usage)
	}

	// Errors come back in OpenAI's shape.
	g.reply(t, "error_429")
	_, err = oc.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "claude-sonnet-4-5", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	var oe *openai.Error
	if !errorsAs(err, &oe) || oe.StatusCode != 429 || oe.Type == "" {
		t.Errorf("429 through the OpenAI SDK: %v", err)
	}
	_, err = oc.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "no-such-model", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	if !errorsAs(err, &oe) || oe.StatusCode != 404 || oe.Type != "not_found_error" {
		t.Errorf("unknown model through the OpenAI SDK: %v", err)
	}
}

// TestOpenAISDKPassthrough: an OpenAI client on an OpenAI-compatible
// upstream: bytes pass both ways unchanged.
func TestOpenAISDKPassthrough(t *testing.T) {
	g := newTranslatingGateway(t)
	f := g.vendorReply(t, "zhipu_parallel_tools_stream")
	req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(`{"model":"glm-4.7-flash","stream":true,"messages":[{"role":"user","content":"add and multiply 2 and 3"}]}`))
	req.Header.Set("Authorization", "Bearer "+clientKey)
	resp, err := g.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != string(f.Body) {
		t.Errorf("passthrough stream changed:\n%s\nwant\n%s", got, f.Body)
	}
	up := g.Vendor.Last()
	if string(up.Body) != `{"model":"glm-4.7-flash","stream":true,"messages":[{"role":"user","content":"add and multiply 2 and 3"}]}` {
		t.Errorf("passthrough request changed: %s", up.Body)
	}
	if up.Header.Get("Authorization") != "Bearer "+vendorKey {
		t.Errorf("vendor key not sent")
	}
	if !strings.Contains(g.Logs.String(), `"input_tokens":232`) {
		t.Errorf("usage not read from the passthrough stream")
	}

	oc := openai.NewClient(ooption.WithBaseURL(g.URL+"/v1"), ooption.WithAPIKey(clientKey), ooption.WithHTTPClient(g.HTTP), ooption.WithMaxRetries(0))
	g.vendorReply(t, "deepseek_message")
	r2, err := oc.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "deepseek-chat", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	if err != nil || r2.Choices[0].Message.Content != "Hello! How can I assist you today?" {
		t.Errorf("passthrough JSON: %+v %v", r2, err)
	}
}

func TestLegacyComplete(t *testing.T) {
	g := newTranslatingGateway(t)
	resp, body := g.rawPost(t, "/v1/complete", `{"model":"sim-1","max_tokens_to_sample":64,"prompt":"\n\nHuman: Hello there\n\nAssistant:"}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var c struct{ Type, Completion, StopReason, Model string }
	if err := json.Unmarshal(body, &struct {
		Type       *string `json:"type"`
		Completion *string `json:"completion"`
		StopReason *string `json:"stop_reason"`
		Model      *string `json:"model"`
	}{&c.Type, &c.Completion, &c.StopReason, &c.Model}); err != nil {
		t.Fatal(err)
	}
	if c.Type != "completion" || !strings.Contains(c.Completion, `You said: "Hello there"`) || c.StopReason != "stop_sequence" || c.Model != "sim-1" {
		t.Errorf("completion %+v", c)
	}
	_, sbody := g.rawPost(t, "/v1/complete", `{"model":"sim-1","max_tokens_to_sample":64,"stream":true,"prompt":"\n\nHuman: Hello there\n\nAssistant:"}`, nil)
	s := string(sbody)
	if !strings.HasPrefix(s, "event: completion\n") || !strings.Contains(s, `"stop_reason":"stop_sequence"`) || strings.Contains(s, "message_start") {
		t.Errorf("legacy stream:\n%s", s)
	}
	resp, body = g.rawPost(t, "/v1/complete", `{"model":"sim-1","prompt":"no turns"}`, nil)
	if resp.StatusCode != 400 {
		t.Errorf("bad prompt: %d %s", resp.StatusCode, body)
	}
}

func TestCountTokensOnOpenAIUpstream(t *testing.T) {
	g := newTranslatingGateway(t)
	c := g.client()
	n, err := c.Messages.CountTokens(context.Background(), anthropic.MessageCountTokensParams{
		Model:    "glm-4.7-flash",
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hi in Portuguese"))},
		System:   anthropic.MessageCountTokensParamsSystemUnion{OfTextBlockArray: []anthropic.TextBlockParam{{Text: "You are a helpful assistant"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n.InputTokens < 8 || n.InputTokens > 30 {
		t.Errorf("estimate %d for a 15-token prompt", n.InputTokens)
	}
	if len(g.Vendor.Requests()) != 0 {
		t.Errorf("count_tokens called the vendor")
	}
}

var (
	_ = slog.LevelDebug
	_ = cmpopts.EquateEmpty
	_ = aoption.WithAPIKey
)

// TestClaudeCodeRequestsOnOpenAIUpstream replays requests captured from
// Claude Code 2.1.197 (testdata/claudecode) through an OpenAI-compatible
// route: each is translated into a request the vendor accepts, and the
// answer streams back as a complete Anthropic stream.
func TestClaudeCodeRequestsOnOpenAIUpstream(t *testing.T) {
	g := newTranslatingGateway(t)
	headers := map[string]string{
		"Anthropic-Beta": "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27",
		"X-App":          "cli",
	}
	for _, name := range []string{"first_turn", "denied_tool_result", "thinking_tool_turn"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile("../../testdata/claudecode/" + name + ".json")
			if err != nil {
				t.Fatal(err)
			}
			body := strings.Replace(string(raw), `"model":"claude-sonnet-4-5"`, `"model":"glm-4.7-flash"`, 1)
			g.vendorReply(t, "pair_tool_stream")
			resp, out := g.rawPost(t, "/v1/messages?beta=true", body, headers)
			if resp.StatusCode != 200 || !strings.HasSuffix(string(out), "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n") {
				t.Fatalf("status %d, stream:\n%s", resp.StatusCode, out)
			}
			up := assertVendorRequest(t, g.Vendor.Last())
			if strings.Contains(string(g.Vendor.Last().Body), "cache_control") || strings.Contains(string(g.Vendor.Last().Body), "x-anthropic-billing-header") {
				t.Errorf("Anthropic-only content sent to the vendor")
			}
			// Every tool call is answered by a tool message before anything else.
			msgs := up["messages"].([]any)
			for i, m := range msgs {
				mm := m.(map[string]any)
				calls, _ := mm["tool_calls"].([]any)
				for k, c := range calls {
					id := c.(map[string]any)["id"]
					if i+1+k >= len(msgs) || msgs[i+1+k].(map[string]any)["tool_call_id"] != id {
						t.Errorf("tool call %v is not answered right after its assistant message", id)
					}
				}
			}
			if len(up["tools"].([]any)) < 20 {
				t.Errorf("tools lost: %d", len(up["tools"].([]any)))
			}
		})
	}
}

// TestEveryProfileStreamMatchesWhole: for every vendor profile, a tool-use
// answer streamed through the Anthropic SDK accumulates into exactly the
// message the non-streaming call returns, and the request the vendor gets
// has the profile's shape.
func TestEveryProfileStreamMatchesWhole(t *testing.T) {
	for _, vp := range config.VendorProfiles() {
		t.Run(vp.Name, func(t *testing.T) {
			vendor := fakeupstream.New()
			defer vendor.Close()
			g := newGateway(t, func(c *config.Config) {
				c.Providers = append(c.Providers, config.Provider{Name: "v", Type: config.TypeOpenAI, Profile: vp.Name, BaseURLs: []string{vendor.URL}, APIKey: vendorKey})
				c.Routes = append(c.Routes, config.Route{Match: "vendor-*", Targets: []config.Target{{Provider: "v"}}})
			})
			c := g.client()
			params := anthropic.MessageNewParams{
				Model: "vendor-model", MaxTokens: 8000, Tools: weatherTool,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))},
			}
			vendor.Enqueue(fakeupstream.Reply{Fixture: fakeupstream.MustLoad(t, openaiFixtures+"pair_tool_message.txtar")})
			whole, err := c.Messages.New(context.Background(), params)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			json.Unmarshal(vendor.Last().Body, &body)
			if body["max_tokens"] == nil && body["max_completion_tokens"] == nil {
				t.Errorf("no output limit sent: %s", vendor.Last().Body)
			}
			if vendor.Last().Path != "/chat/completions" {
				t.Errorf("path %s", vendor.Last().Path)
			}

			vendor.Enqueue(fakeupstream.Reply{Fixture: fakeupstream.MustLoad(t, openaiFixtures+"pair_tool_stream.txtar")})
			stream := c.Messages.NewStreaming(context.Background(), params)
			var acc anthropic.Message
			for stream.Next() {
				if err := acc.Accumulate(stream.Current()); err != nil {
					t.Fatal(err)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if len(whole.Content) < 2 || whole.StopReason != anthropic.StopReasonToolUse {
				t.Fatalf("whole: stop %q content %+v", whole.StopReason, whole.Content)
			}
			if len(acc.Content) != len(whole.Content) || acc.StopReason != whole.StopReason || acc.Usage.OutputTokens != whole.Usage.OutputTokens {
				t.Fatalf("stream %d blocks stop %q usage %+v; whole %d blocks stop %q usage %+v",
					len(acc.Content), acc.StopReason, acc.Usage, len(whole.Content), whole.StopReason, whole.Usage)
			}
			for i := range whole.Content {
				w, s := whole.Content[i], acc.Content[i]
				if w.Type != s.Type || w.Text != s.Text || w.Thinking != s.Thinking || w.ID != s.ID || w.Name != s.Name || (w.Type == "tool_use" && string(w.Input) != string(s.Input)) {
					t.Errorf("block %d: whole %+v, stream %+v", i, w, s)
				}
			}
		})
	}
}

// TestUntranslatableAnswer: an OpenAI-compatible upstream that answers 200
// with something that is not a chat completion gives the client a 502 in
// Anthropic's shape, and the log says why.
func TestUntranslatableAnswer(t *testing.T) {
	g := newTranslatingGateway(t)
	// Every attempt (the gateway retries a 502) gets the same page.
	g.Vendor.SetDefault(fakeupstream.Reply{Fixture: &fakeupstream.Fixture{Status: 200, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte("<html>captive portal</html>")}})
	c := g.client()
	_, err := c.Messages.New(context.Background(), anthropic.MessageNewParams{Model: "glm-4.7-flash", MaxTokens: 100, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	assertAPIError(t, err, 502, "api_error")
	if logs := g.Logs.String(); !strings.Contains(logs, `"upstream_note":"untranslatable answer`) {
		t.Errorf("the log does not say why: %s", logs)
	}
}
