package translate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/testkit"
	"golang.org/x/tools/txtar"
)

// TestResponseGolden runs testdata/response/*.txtar: openai.json (the
// upstream's body), profile (a name in rqProfiles), optionally info.json
// (the RequestInfo; default: model "claude-sonnet-4-5"), and want.json (the
// Anthropic message, made-up ids shown as msg_RANDOM), totals (the usage
// returned) and/or error (the error message).
func TestResponseGolden(t *testing.T) {
	for _, c := range rqLoad(t, "response") {
		t.Run(c.name, func(t *testing.T) {
			info := &RequestInfo{Model: "claude-sonnet-4-5"}
			if b := c.file("info.json"); b != nil {
				if err := json.Unmarshal(b, info); err != nil {
					t.Fatal(err)
				}
			}
			got, totals, err := OpenAIToAnthropicResponse(c.file("openai.json"), info, c.profile(t), goldenEnv())
			var gotErr, gotBody, gotTotals []byte
			if err != nil {
				note := IsNote(err)
				if !note && !errors.Is(err, ErrNotChatCompletion) {
					t.Errorf("error %T is neither a note nor ErrNotChatCompletion: %v", err, err)
				}
				if (got != nil) != note {
					t.Errorf("body %q with error %v", got, err)
				}
				gotErr = []byte(err.Error() + "\n")
			}
			if got != nil {
				var v any
				if err := json.Unmarshal(got, &v); err != nil {
					t.Fatalf("output is not JSON: %v\n%s", err, got)
				}
				b, _ := json.Marshal(v)
				gotBody = rqIndent(t, b)
				gotTotals = fmt.Appendf(nil, "input=%d output=%d cache_read=%d cache_creation=%d\n", totals.Input, totals.Output, totals.CacheRead, totals.CacheCreation)
				rsCheckMessage(t, got, totals)
			}
			if testkit.Updating() {
				c.set("want.json", gotBody)
				c.set("totals", gotTotals)
				c.set("error", gotErr)
				if err := os.WriteFile(c.path, txtar.Format(c.ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			rqCompareText(t, "error", c.file("error"), gotErr)
			if want := c.file("want.json"); want != nil || got != nil {
				rqCompareJSON(t, "want.json", want, got, nil)
				rqCompareText(t, "totals", c.file("totals"), gotTotals)
			}
		})
	}
}

// rsCheckMessage checks what any translated answer must satisfy: the
// Anthropic shape, no empty text block, a stop_reason consistent with the
// blocks, usage equal to the totals.
func rsCheckMessage(t testing.TB, body []byte, totals any) {
	t.Helper()
	var m struct {
		ID, Type, Role, Model string
		Content               []struct {
			Type, Text, Thinking, Signature, ID, Name string
			Input                                     json.RawMessage
		}
		StopReason   *string `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
		Usage        map[string]int64
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not a message: %v", err)
	}
	if !jsonpeek.Valid(body) { // the relay does not check a translation again
		t.Fatalf("not valid to jsonpeek: %.300s", body)
	}
	if !strings.HasPrefix(m.ID, "msg_") || m.Type != "message" || m.Role != "assistant" || m.StopReason == nil {
		t.Errorf("bad message header: %s", body)
	}
	uses := 0
	for _, b := range m.Content {
		switch b.Type {
		case "text":
			if b.Text == "" {
				t.Errorf("empty text block")
			}
		case "thinking":
			if !IsGatewaySignature(b.Signature) || b.Thinking == "" {
				t.Errorf("bad thinking block %+v", b)
			}
		case "tool_use":
			uses++
			if b.ID == "" || b.Name == "" || len(b.Input) == 0 || b.Input[0] != '{' {
				t.Errorf("bad tool_use block %+v", b)
			}
		default:
			t.Errorf("unexpected block type %q", b.Type)
		}
	}
	if (uses > 0) != (*m.StopReason == "tool_use") {
		t.Errorf("stop_reason %q with %d tool_use blocks", *m.StopReason, uses)
	}
	if (m.StopSequence != nil) != (*m.StopReason == "stop_sequence") {
		t.Errorf("stop_reason %q with stop_sequence %v", *m.StopReason, m.StopSequence)
	}
	for _, k := range []string{"input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"} {
		if _, ok := m.Usage[k]; !ok {
			t.Errorf("usage has no %s", k)
		}
	}
}

func TestResponseSignature(t *testing.T) {
	s := Signature("think")
	if s != Signature("think") || s == Signature("thank") || !IsGatewaySignature(s) || len(s) != len(SignaturePrefix)+16 {
		t.Errorf("Signature(think) = %q", s)
	}
	// A real Anthropic signature (vendor-samples.md §5) is not ours.
	if IsGatewaySignature("EtYDCkYICxgCKkAVHEWRYo6RgSMs4ZZDX4gW16kdfp2EIXftcLesVephGa/p1m+1Y8mRQPvvKOQICrOkGKYoJBKSNLJ4ukI") {
		t.Error("an Anthropic signature is taken for the gateway's")
	}
}

// TestResponseIDsFromEnv: the message id and the ids of tool calls that
// come without one are the Env's, one new id each.
func TestResponseIDsFromEnv(t *testing.T) {
	body := []byte(`{"object":"chat.completion","choices":[{"message":{"content":"hi","tool_calls":[{"type":"function","function":{"name":"a","arguments":"{}"}},{"type":"function","function":{"name":"b","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`)
	out, _, err := OpenAIToAnthropicResponse(body, nil, nil, countingEnv())
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		ID      string
		Content []struct{ ID string }
	}
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range m.Content {
		if b.ID != "" {
			ids = append(ids, b.ID)
		}
	}
	if want := []string{"toolu_1", "toolu_2"}; m.ID != "msg_3" || strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("message id %q, tool ids %q", m.ID, ids)
	}
}

// TestResponseDeepToolInput: a tool input nested deeper than the message
// can hold within jsonpeek.MaxDepth becomes {}, noted; one level less is
// kept, and both messages are valid to jsonpeek.
func TestResponseDeepToolInput(t *testing.T) {
	for _, c := range []struct {
		depth int
		kept  bool
	}{{rsInputMaxDepth, true}, {rsInputMaxDepth + 1, false}} {
		args := strings.Repeat(`{"a":`, c.depth-1) + `{}` + strings.Repeat(`}`, c.depth-1)
		q, _ := json.Marshal(args)
		body := `{"choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":` + string(q) + `}}]}}]}`
		got, totals, err := OpenAIToAnthropicResponse([]byte(body), &RequestInfo{Model: "claude"}, &Profile{}, goldenEnv())
		var ta *ToolArgumentsError
		if c.kept != (err == nil) || !c.kept && !errors.As(err, &ta) {
			t.Fatalf("depth %d: err %v, want kept %v", c.depth, err, c.kept)
		}
		rsCheckMessage(t, got, totals)
		if kept := strings.Contains(string(got), args); kept != c.kept {
			t.Errorf("depth %d: input kept %v, want %v", c.depth, kept, c.kept)
		}
	}
}

// FuzzResponse: any upstream body gives a valid message, or an error
// wrapping ErrNotChatCompletion, or a valid message with a
// *ToolArgumentsError; never a panic.
func FuzzResponse(f *testing.F) {
	for _, c := range rqLoad(f, "response") {
		// Large seeds (the Claude Code bodies) make the fuzzer spend its
		// time minimising; the small ones cover the same paths.
		if b := c.file("openai.json"); len(b) < 4096 {
			f.Add(b, strings.TrimSpace(string(c.file("profile"))))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, profile string) {
		p, ok := rqProfiles[profile]
		if !ok {
			p = rqProfiles["zhipu"]
		}
		info := &RequestInfo{Model: "claude", StopSequences: []string{"END", "\n\nHuman:"}}
		got, totals, err := OpenAIToAnthropicResponse(body, info, &p, goldenEnv())
		var ta *ToolArgumentsError
		switch {
		case err == nil, errors.As(err, &ta):
			rsCheckMessage(t, got, totals)
		case errors.Is(err, ErrNotChatCompletion):
			if got != nil {
				t.Fatalf("body with error %v", err)
			}
		default:
			t.Fatalf("unexpected error %T: %v", err, err)
		}
	})
}

// rsBenchBody is a 1 KB answer: reasoning, text, a tool call and usage.
const rsBenchBody = `{"id":"chatcmpl-0da38de9-5d2b-916d-9c6a-7af95993e275","object":"chat.completion","created":1773349367,"model":"glm-4.7",` +
	`"choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant",` +
	`"reasoning_content":"The user wants a summary of main.go. I have not read it yet, so I should call the Read tool with the absolute path, then summarise what the program does in one or two sentences.",` +
	`"content":"I'll read main.go first, then summarise it for you. The file is at the repository root, so the absolute path is /repo/main.go; reading it will show the package, its imports and the main function.",` +
	`"tool_calls":[{"id":"call_3532c842716b4c72a7dd7498","index":0,"type":"function","function":{"name":"Read","arguments":"{\"file_path\":\"/repo/main.go\",\"offset\":0,\"limit\":2000}"}}]}}],` +
	`"usage":{"prompt_tokens":2173,"completion_tokens":93,"total_tokens":2266,"prompt_tokens_details":{"cached_tokens":2048},"completion_tokens_details":{"reasoning_tokens":65}},` +
	`"request_id":"20260313050307df155ecf3e9f4961","system_fingerprint":"fp_feb633d1f5_prod0820_fp8_kvcache"}`

func BenchmarkResponse(b *testing.B) {
	body := []byte(rsBenchBody)
	p := rqProfiles["zhipu"]
	info := &RequestInfo{Model: "claude-sonnet-4-5"}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := OpenAIToAnthropicResponse(body, info, &p, goldenEnv()); err != nil {
			b.Fatal(err)
		}
	}
}
