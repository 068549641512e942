package openai

import (
	"encoding/json"
	"testing"

	"github.com/ferrygw/ferry/internal/tokens"
	"github.com/google/go-cmp/cmp"
)

func TestChatRequestMarshal(t *testing.T) {
	n, f := 100, false
	r := ChatRequest{
		Model: "m",
		Messages: []Message{
			{Role: RoleSystem, Content: TextContent("<rules> & more")},
			{Role: RoleUser, Content: PartsContent(TextPart(""), Part{Type: PartImageURL, ImageURL: &ImageURL{URL: "data:image/png;base64,AA=="}})},
			{Role: RoleAssistant, ToolCalls: []ToolCall{{ID: "call_1", Type: "function", Function: FunctionCall{Name: "f", Arguments: "{}"}}}},
			{Role: RoleTool, ToolCallID: "call_1", Content: TextContent("ok")},
		},
		MaxTokens:         &n,
		Stop:              Stop{"END"},
		ToolChoice:        &ToolChoice{Function: "f"},
		ParallelToolCalls: &f,
		Extra:             map[string]json.RawMessage{"top_k": json.RawMessage("40"), "thinking": json.RawMessage(`{"type":"enabled"}`), "model": json.RawMessage(`"ignored"`)},
	}
	got, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"m","messages":[{"role":"system","content":"<rules> & more"},` +
		`{"role":"user","content":[{"type":"text","text":""},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},` +
		`{"role":"tool","content":"ok","tool_call_id":"call_1"}],"max_tokens":100,"stop":["END"],` +
		`"tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false,"thinking":{"type":"enabled"},"top_k":40}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// Decoding gives the same request back, vendor fields in Extra.
	var back ChatRequest
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	delete(r.Extra, "model")
	if diff := cmp.Diff(r, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestDecodeVariants(t *testing.T) {
	var r ChatRequest
	body := `{"model":"m","stop":"x","tool_choice":"required","messages":[{"role":"user","content":null},{"role":"user","content":"hi"}]}`
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Stop{"x"}, r.Stop); diff != "" {
		t.Error(diff)
	}
	if r.ToolChoice.Mode != "required" || r.Messages[0].Content != nil || r.Messages[1].Content.JoinedText() != "hi" || r.Extra != nil {
		t.Errorf("decoded %+v", r)
	}
	var tc ToolChoice
	if err := json.Unmarshal([]byte(`{"type":"allowed_tools","allowed_tools":{"mode":"auto"}}`), &tc); err != nil || tc.Raw == nil {
		t.Errorf("allowed_tools: %+v %v", tc, err)
	}
	if err := json.Unmarshal([]byte(`{"model":"m","messages":[{"role":"user","content":7}]}`), &r); err == nil {
		t.Error("content 7 decoded")
	} else if te, ok := err.(*json.UnmarshalTypeError); !ok || te.Field != "messages.content" {
		t.Errorf("error %#v", err)
	}
}

func TestFunctionCallArguments(t *testing.T) {
	for in, want := range map[string]string{
		`{"name":"f","arguments":"{\"a\":1}"}`:   `{"a":1}`,
		`{"name":"f","arguments":{"a": [1, 2]}}`: `{"a":[1,2]}`,
		`{"name":"f","arguments":null}`:          ``,
		`{"name":"f"}`:                           ``,
	} {
		var f FunctionCall
		if err := json.Unmarshal([]byte(in), &f); err != nil || f.Arguments != want || f.Name != "f" {
			t.Errorf("%s: %+v %v", in, f, err)
		}
	}
}

func TestAnswerDecode(t *testing.T) {
	// Zhipu's recorded answer (vendor-samples.md 1b), shortened reasoning.
	body := `{"choices":[{"finish_reason":"stop","index":0,"message":{"content":"Olá! (Oh-lah)","reasoning_content":"1. Analyze","role":"assistant"}}],"created":1773349367,"id":"20260313050242595b2cb031a74737","model":"glm-4.7-flash","object":"chat.completion","request_id":"20260313050242595b2cb031a74737","usage":{"completion_tokens":249,"completion_tokens_details":{"reasoning_tokens":239},"prompt_tokens":15,"prompt_tokens_details":{"cached_tokens":3},"total_tokens":264}}`
	var cc ChatCompletion
	if err := json.Unmarshal([]byte(body), &cc); err != nil {
		t.Fatal(err)
	}
	m := cc.Choices[0].Message
	if m.Content.JoinedText() != "Olá! (Oh-lah)" || m.ReasoningText([]string{"reasoning", "reasoning_content"}) != "1. Analyze" || m.ReasoningText([]string{"reasoning"}) != "" {
		t.Errorf("message %+v", m)
	}
	if diff := cmp.Diff(tokens.Totals{Input: 12, Output: 249, CacheRead: 3}, cc.Usage.Totals()); diff != "" {
		t.Error(diff)
	}
	// ReadUsage agrees when there are no cache writes.
	var rt tokens.Totals
	ReadUsage([]byte(body), &rt)
	if diff := cmp.Diff(rt, cc.Usage.Totals()); diff != "" {
		t.Errorf("ReadUsage disagrees: %s", diff)
	}
}

func TestUsageTotals(t *testing.T) {
	for _, c := range []struct {
		u    *Usage
		want tokens.Totals
	}{
		{nil, tokens.Totals{}},
		{&Usage{PromptTokens: 14, CompletionTokens: 9, PromptTokensDetails: &PromptTokensDetails{}}, tokens.Totals{Input: 14, Output: 9}},
		{&Usage{PromptTokens: 1000, PromptCacheHitTokens: 960}, tokens.Totals{Input: 40, CacheRead: 960}},
		{&Usage{PromptTokens: 1000, PromptTokensDetails: &PromptTokensDetails{CachedTokens: 600, CacheWriteTokens: 300}}, tokens.Totals{Input: 100, CacheRead: 600, CacheCreation: 300}},
		{&Usage{PromptTokens: 5, PromptTokensDetails: &PromptTokensDetails{CachedTokens: 9}}, tokens.Totals{CacheRead: 9}},
	} {
		if diff := cmp.Diff(c.want, c.u.Totals()); diff != "" {
			t.Errorf("%+v: %s", c.u, diff)
		}
	}
}

func TestErrorBody(t *testing.T) {
	for in, want := range map[string]ErrorDetail{
		`{"error":{"code":"1210","message":"API 调用参数有误，请检查文档。"}}`:                                              {Message: "API 调用参数有误，请检查文档。", Code: "1210"},
		`{"error":{"code":1210,"message":"m"}}`:                                                                {Message: "m", Code: "1210"},
		`{"error":{"message":"m","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}`: {Message: "m", Type: "invalid_request_error", Code: "invalid_request_error"},
		`{"error":{"message":"You exceeded your current quota","type":"exceeded_current_quota_error"}}`:        {Message: "You exceeded your current quota", Type: "exceeded_current_quota_error"},
	} {
		var e ErrorBody
		if err := json.Unmarshal([]byte(in), &e); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if diff := cmp.Diff(want, e.Error); diff != "" {
			t.Errorf("%s: %s", in, diff)
		}
	}
	got, _ := Marshal(ErrorBody{Error: ErrorDetail{Message: "m", Type: "t"}})
	if string(got) != `{"error":{"message":"m","type":"t","param":null,"code":null}}` {
		t.Errorf("marshal: %s", got)
	}
}

func TestChunkDecode(t *testing.T) {
	// DashScope's continuation chunk (vendor-samples.md 3b): id "" and function {}.
	body := `{"choices":[{"delta":{"content":null,"tool_calls":[{"function":{},"index":0,"id":"","type":"function"}]},"finish_reason":null,"index":0,"logprobs":null}],"object":"chat.completion.chunk","usage":null,"created":1743037194,"system_fingerprint":null,"model":"qwen-max","id":"chatcmpl-c4e2a989-10a3-9604-bdae-0b58b4f876a7"}`
	var c Chunk
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	d := c.Choices[0].Delta
	if c.Usage != nil || c.Choices[0].FinishReason != nil || d.Content != nil || len(d.ToolCalls) != 1 || *d.ToolCalls[0].Index != 0 || d.ToolCalls[0].Function.Name != "" {
		t.Errorf("chunk %+v", c)
	}
}

func TestAnswerMarshalOrder(t *testing.T) {
	// Head's members come first, as OpenAI writes them.
	head := Head{ID: "chatcmpl-1", Object: "chat.completion", Created: 7, Model: "m"}
	got, _ := Marshal(ChatCompletion{Head: head, Choices: []Choice{}, Usage: &Usage{}, SystemFingerprint: "fp", ServiceTier: "default"})
	want := `{"id":"chatcmpl-1","object":"chat.completion","created":7,"model":"m","choices":[],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0},"system_fingerprint":"fp","service_tier":"default"}`
	if string(got) != want {
		t.Errorf("chat.completion:\n got %s\nwant %s", got, want)
	}
	head.Object = "chat.completion.chunk"
	got, _ = Marshal(Chunk{Head: head, Choices: []ChunkChoice{}, SystemFingerprint: "fp"})
	want = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"m","choices":[],"system_fingerprint":"fp"}`
	if string(got) != want {
		t.Errorf("chunk:\n got %s\nwant %s", got, want)
	}
}
