package openaicompat_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/provider/openaicompat"
)

// TestCountTokensMatchesVendorUsage: the estimate of a request whose
// prompt_tokens a vendor reported is within 10%.
//
// Only one recorded request has both its messages and the vendor's
// prompt_tokens: Zhipu's (vendor-samples.md 1b). DeepSeek's 2a gives the
// answer without the request, and DashScope's 3a is cut before its usage,
// so they cannot serve.
//
// The estimate is 9 text tokens (o200k_base: "You are a helpful assistant"
// is 5, "Say hi in Portuguese" 4) + 2×2 per-message framing + 3 for the
// request (GLM's template: "[gMASK]<sop>", "<|system|>\n", "<|user|>\n",
// "<|assistant|>") = 16, against 15 reported.
func TestCountTokensMatchesVendorUsage(t *testing.T) {
	tests := []struct {
		name   string
		body   string // the vendor request, as the Anthropic client sent it
		vendor int64  // prompt_tokens the vendor reported
	}{
		{
			name:   "zhipu 1b glm-4.7-flash",
			body:   `{"model":"glm-4.7-flash","max_tokens":4000,"system":"You are a helpful assistant","messages":[{"role":"user","content":"Say hi in Portuguese"}]}`,
			vendor: 15,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := openaicompat.CountTokens([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if off := math.Abs(float64(got-tt.vendor)) / float64(tt.vendor); off > 0.10 {
				t.Errorf("estimate %d, vendor counted %d: %.0f%% off (want ≤ 10%%)", got, tt.vendor, off*100)
			}
		})
	}
}

func TestCountTokensBlocks(t *testing.T) {
	count := func(body string) int64 {
		t.Helper()
		n, err := openaicompat.CountTokens([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	base := count(`{"model":"m","messages":[{"role":"user","content":"hello"}]}`)

	// An image is a flat 1600 tokens, whatever its bytes.
	img := count(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hello"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + strings.Repeat("A", 40000) + `"}}]}]}`)
	if img-base != 1600 {
		t.Errorf("image counted %d, want 1600", img-base)
	}
	// Claude Code's billing header is dropped by the translator, so not
	// counted; other system text is.
	if n := count(`{"model":"m","system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.197.123; cc_entrypoint=sdk-cli;"}],"messages":[{"role":"user","content":"hello"}]}`); n != base {
		t.Errorf("billing header counted: %d vs %d", n, base)
	}
	// Earlier thinking is not counted (Anthropic drops it from context).
	think := count(`{"model":"m","messages":[{"role":"user","content":"hello"},{"role":"assistant","content":[{"type":"thinking","thinking":"` + strings.Repeat("deep thought ", 500) + `","signature":"x"},{"type":"text","text":"hi"}]},{"role":"user","content":"again"}]}`)
	noThink := count(`{"model":"m","messages":[{"role":"user","content":"hello"},{"role":"assistant","content":[{"type":"text","text":"hi"}]},{"role":"user","content":"again"}]}`)
	if think != noThink {
		t.Errorf("thinking counted: %d vs %d", think, noThink)
	}
	// Tools count, tool_use and tool_result count.
	tools := count(`{"model":"m","tools":[{"name":"get_weather","description":"Get the weather for a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],"messages":[{"role":"user","content":"hello"}]}`)
	if tools-base < 20 {
		t.Errorf("a tool definition counted %d tokens", tools-base)
	}
	use := count(`{"model":"m","messages":[{"role":"user","content":"hello"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"get_weather","input":{"city":"Paris"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"Sunny, 24 degrees"}]}]}`)
	if use-base < 10 {
		t.Errorf("tool_use + tool_result counted %d tokens", use-base)
	}
	// Chinese text is tokenized, not guessed from bytes: 春天来了 is a
	// few tokens, far fewer than its 12 bytes / 4... and more than 0.
	zh := count(`{"model":"m","messages":[{"role":"user","content":"春天来了，花开了。"}]}`)
	if d := zh - (base - 1); d < 2 || d > 12 {
		t.Errorf("Chinese sentence counted %d tokens", d)
	}
}

func TestCountTokensClaudeCodeRequest(t *testing.T) {
	for _, name := range []string{"first_turn.json", "thinking_tool_turn.json"} {
		body, err := os.ReadFile("../../../testdata/claudecode/" + name)
		if err != nil {
			t.Fatal(err)
		}
		n, err := openaicompat.CountTokens(body)
		if err != nil {
			t.Fatal(err)
		}
		// 113 KB of JSON, most of it English-like prose and schemas: a
		// few bytes per token.
		if perTok := float64(len(body)) / float64(n); perTok < 2 || perTok > 6 {
			t.Errorf("%s: %d tokens for %d bytes (%.1f bytes/token)", name, n, len(body), perTok)
		}
	}
}

func TestCountTokensCall(t *testing.T) {
	p := newTestProvider(t, "zhipu", deadURL(t)) // never contacted
	resp, err := do(context.Background(), p, &provider.Call{Op: provider.OpCountTokens, Body: []byte(`{"model":"glm-4.7-flash","system":"You are a helpful assistant","messages":[{"role":"user","content":"Say hi in Portuguese"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()
	var got struct {
		InputTokens int64 `json:"input_tokens"`
	}
	if resp.Status != 200 || json.Unmarshal(readAll(t, resp), &got) != nil || got.InputTokens != 16 {
		t.Errorf("status %d, input_tokens %d", resp.Status, got.InputTokens)
	}

	resp, err = do(context.Background(), p, &provider.Call{Op: provider.OpCountTokens, Body: []byte(`{"model":"m","messages":3}`)})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()
	if resp.Status != 400 {
		t.Errorf("bad body: status %d", resp.Status)
	}
}

// TestCountOpenAITokensAlike: a Chat Completions request counts as the
// Anthropic request that says the same (system, text, images, a tool call
// and its result, a tool definition), so an OpenAI client's
// context-length error gets the count an Anthropic client's would.
func TestCountOpenAITokensAlike(t *testing.T) {
	tests := []struct{ name, openai, anthropic string }{
		{"zhipu 1b",
			`{"model":"m","messages":[{"role":"system","content":"You are a helpful assistant"},{"role":"user","content":"Say hi in Portuguese"}]}`,
			`{"model":"m","system":"You are a helpful assistant","messages":[{"role":"user","content":"Say hi in Portuguese"}]}`},
		{"parts and image",
			`{"model":"m","messages":[{"role":"developer","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`,
			`{"model":"m","system":[{"type":"text","text":"Be brief."}],"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]}]}`},
		{"bare-string image_url", // lenient, as the relay's translation takes it
			`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":"https://example.com/cat.webp"}]}]}`,
			`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image","source":{"type":"url","url":"https://example.com/cat.webp"}}]}]}`},
		{"tools",
			`{"model":"m","tools":[{"type":"function","function":{"name":"get_weather","description":"Weather of a city","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],"messages":[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"c1","content":"sunny"}]}`,
			`{"model":"m","tools":[{"name":"get_weather","description":"Weather of a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],"messages":[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"get_weather","input":{"city":"Paris"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"sunny"}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := openaicompat.CountOpenAITokens([]byte(tt.openai))
			if err != nil {
				t.Fatal(err)
			}
			a, err := openaicompat.CountTokens([]byte(tt.anthropic))
			if err != nil {
				t.Fatal(err)
			}
			if o != a || o <= 3 {
				t.Errorf("OpenAI request counts %d, the Anthropic one %d", o, a)
			}
		})
	}
	if _, err := openaicompat.CountOpenAITokens([]byte(`{"messages":3}`)); err == nil {
		t.Error("a body that is no Chat Completions request was counted")
	}
}

func BenchmarkCountTokensClaudeCode(b *testing.B) {
	body, err := os.ReadFile("../../../testdata/claudecode/first_turn.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := openaicompat.CountTokens(body); err != nil {
			b.Fatal(err)
		}
	}
}
