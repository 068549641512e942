package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
)

// TestTraitRoutingSDK: through the Go SDK, a route's trait rules send
// thinking and batch traffic to a vendor's models, with that target's
// parameter and header policy, and everything else to the route's own
// target untouched; a request without max_tokens is a 400 on the
// translated route too.
func TestTraitRoutingSDK(t *testing.T) {
	vendor := fakeupstream.New()
	t.Cleanup(vendor.Close)
	yes := true
	temp := 0.7
	g := newGateway(t, func(c *config.Config) {
		c.Providers = append(c.Providers, config.Provider{Name: "glm", Type: config.TypeOpenAI, Profile: "zhipu", BaseURLs: []string{vendor.URL}, APIKey: vendorKey,
			ForwardHeaders: []string{"X-Biz-Type"}})
		for i := range c.Routes {
			if c.Routes[i].Match != "claude-*" {
				continue
			}
			c.Routes[i].When = []config.RouteRule{
				{If: config.Traits{Headers: map[string]string{"X-Biz-Type": "batch"}}, Targets: []config.Target{{Provider: "glm", Model: "glm-4.7-flash"}}},
				{If: config.Traits{Thinking: &yes}, Targets: []config.Target{{Provider: "glm", Model: "glm-5.3",
					Headers: map[string]string{"X-Claude-Timezone": "Asia/Shanghai"},
					Params:  config.Params{MaxTokensCap: 8192, Defaults: config.Sampling{Temperature: &temp}}}}},
			}
		}
	})
	c := g.client()
	base := anthropic.MessageNewParams{
		Model: "claude-opus-4-1", MaxTokens: 16000,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}
	vendorBody := func() (map[string]any, fakeupstream.Request) {
		r := vendor.Last()
		var m map[string]any
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatal(err)
		}
		return m, r
	}

	// Thinking: the reasoning target, its policy applied.
	vendor.Enqueue(fakeupstream.Reply{Fixture: fakeupstream.MustLoad(t, openaiFixtures+"zhipu_message.txtar")})
	think := base
	think.Thinking = anthropic.ThinkingConfigParamUnion{OfEnabled: &anthropic.ThinkingConfigEnabledParam{BudgetTokens: 2048}}
	if _, err := c.Messages.New(context.Background(), think); err != nil {
		t.Fatal(err)
	}
	body, req := vendorBody()
	if body["model"] != "glm-5.3" || body["max_tokens"] != float64(8192) || body["temperature"] != 0.7 || req.Header.Get("X-Claude-Timezone") != "Asia/Shanghai" {
		t.Errorf("thinking request reached the vendor as model %v max_tokens %v temperature %v, timezone %q", body["model"], body["max_tokens"], body["temperature"], req.Header.Get("X-Claude-Timezone"))
	}

	// X-Biz-Type: batch: the batch target, the header forwarded.
	vendor.Enqueue(fakeupstream.Reply{Fixture: fakeupstream.MustLoad(t, openaiFixtures+"zhipu_message.txtar")})
	if _, err := c.Messages.New(context.Background(), base, aoption.WithHeader("X-Biz-Type", "batch")); err != nil {
		t.Fatal(err)
	}
	body, req = vendorBody()
	if body["model"] != "glm-4.7-flash" || body["max_tokens"] != float64(16000) || body["temperature"] != nil || req.Header.Get("X-Biz-Type") != "batch" {
		t.Errorf("batch request reached the vendor as %v max_tokens %v temperature %v, X-Biz-Type %q", body["model"], body["max_tokens"], body["temperature"], req.Header.Get("X-Biz-Type"))
	}

	// Neither: the route's own target, the body as the client sent it.
	g.reply(t, "message_tool_use")
	if _, err := c.Messages.New(context.Background(), base); err != nil {
		t.Fatal(err)
	}
	if got := g.Fake.Last(); string(got.Body) != `{"max_tokens":16000,"messages":[{"content":[{"text":"hi","type":"text"}],"role":"user"}],"model":"claude-opus-4-1"}` {
		t.Errorf("plain request reached Anthropic as %s", got.Body)
	}

	// No max_tokens: Anthropic's 400, on the translated route as anywhere.
	n := len(vendor.Requests())
	resp, raw := g.rawPost(t, "/v1/messages", `{"model":"claude-opus-4-1","thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"hi"}]}`, nil)
	if typ, msg := decodeError(t, raw); resp.StatusCode != 400 || typ != "invalid_request_error" || msg != "max_tokens: Field required" {
		t.Errorf("no max_tokens: %d %s", resp.StatusCode, raw)
	}
	if len(vendor.Requests()) != n {
		t.Error("a request without max_tokens reached the vendor")
	}
}

// TestDisableParallelToolUseSDK: a Zhipu stream with two tool calls, to
// an SDK request that allowed one: the client gets one tool_use, and the
// access log notes the dropped call.
func TestDisableParallelToolUseSDK(t *testing.T) {
	g := newTranslatingGateway(t)
	g.vendorReply(t, "zhipu_parallel_tools_stream")
	c := g.client()
	tools := []anthropic.ToolUnionParam{
		{OfTool: &anthropic.ToolParam{Name: "add", InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"a": map[string]any{"type": "number"}}}}},
		{OfTool: &anthropic.ToolParam{Name: "multiply", InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"a": map[string]any{"type": "number"}}}}},
	}
	stream := c.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
		Model: "glm-4.7-flash", MaxTokens: 1000, Tools: tools,
		ToolChoice: anthropic.ToolChoiceUnionParam{OfAuto: &anthropic.ToolChoiceAutoParam{DisableParallelToolUse: anthropic.Bool(true)}},
		Messages:   []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("add and multiply 2 and 3"))},
	})
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range acc.Content {
		if b.Type == "tool_use" {
			names = append(names, b.Name)
		}
	}
	if len(names) != 1 || names[0] != "add" || acc.StopReason != "tool_use" {
		t.Errorf("tool calls %v, stop_reason %s", names, acc.StopReason)
	}
	waitLog(t, g.gateway, "dropped 1 more (multiply)")
}

// waitLog waits (briefly) for the access log to say want: it is written
// when the handler returns, just after the client read the stream's end.
func waitLog(t *testing.T, g *gateway, want string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(g.Logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the log never said %q", want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
