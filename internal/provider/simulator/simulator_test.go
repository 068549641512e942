package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/ids"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/testkit"
)

// noSleep is an injected Sleep that returns at once.
func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func newProvider(t testing.TB, cfg config.Simulator) *Provider {
	t.Helper()
	p, err := New(Options{Name: "sim", Config: cfg, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func call(op provider.Op, stream bool, body string, hdr map[string]string) *provider.Call {
	h := http.Header{}
	for k, v := range hdr {
		h.Set(k, v)
	}
	return &provider.Call{Op: op, Body: []byte(body), Model: "claude-sim-upstream", Stream: stream, Header: h}
}

func do(t testing.TB, p *Provider, c *provider.Call) *provider.Response {
	t.Helper()
	resp, err := p.Do(context.Background(), c)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if resp.Node != "simulator" {
		t.Errorf("Node = %q, want simulator", resp.Node)
	}
	return resp
}

func readBody(t testing.TB, resp *provider.Response) []byte {
	t.Helper()
	if resp.Body == nil || resp.Events != nil {
		t.Fatalf("want a JSON body, got Body=%v Events=%v", resp.Body, resp.Events)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Close()
	return b
}

func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	return m
}

func headerText(h http.Header) string {
	var lines []string
	for k, vs := range h {
		for _, v := range vs {
			lines = append(lines, k+": "+v)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	testkit.CheckFile(t, filepath.Join("testdata", name), []byte(got))
}

const (
	weatherTool = `{"name":"get_weather","description":"Get the weather for a city.","input_schema":{"type":"object","properties":{"city":{"type":"string","description":"City name"},"units":{"type":"string","enum":["celsius","fahrenheit"]},"days":{"type":"integer"}},"required":["city","units"]}}`
	kitchenTool = `{"name":"kitchen_sink","input_schema":{"type":"object","properties":{"s":{"type":"string"},"n":{"type":"number"},"i":{"type":"integer"},"b":{"type":"boolean"},"a":{"type":"array","items":{"type":"string"}},"o":{"type":"object","properties":{"x":{"type":"string"}},"required":["x"]},"e":{"type":["string","null"]},"c":{"const":"fixed"},"u":{"description":"no type"}}}}`
	unicodeTool = `{"name":"translate","input_schema":{"type":"object","properties":{"text":{"type":"string","enum":["日本語のテキストです🙂 ok — «quoted» \"x\"\n"]}},"required":["text"]}}`
	serverTool  = `{"type":"web_search_20250305","name":"web_search","max_uses":3}`
	hello       = `[{"role":"user","content":"Hello, simulator!"}]`
	toolTurns   = `[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":[{"type":"text","text":"I'll use the get_weather tool."},{"type":"tool_use","id":"toolu_X","name":"get_weather","input":{"city":"Paris","units":"celsius"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_X","content":"Sunny, 21 °C"}]}]`
)

// body builds a Messages body.
func body(maxTokens int, messages string, extra ...string) string {
	s := fmt.Sprintf(`{"model":"claude-sim","max_tokens":%d,"messages":%s`, maxTokens, messages)
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

// answerCase is one successful answer, checked in both modes.
type answerCase struct {
	name    string
	cfg     config.Simulator
	hdr     map[string]string
	body    string
	stop    string   // want stop_reason
	stopSeq any      // want stop_sequence (nil or a string)
	types   []string // want content block types
	text    string   // want the text block's text, if set
	input   any      // want the tool_use input, if set
	tool    string   // want the tool_use name, if set
	output  int      // want output_tokens, if > 0 (or -1 for 0)
	inTok   int      // want input_tokens, if > 0
}

var answerCases = []answerCase{
	{
		name:  "plain_text",
		body:  body(1024, hello),
		stop:  "end_turn",
		types: []string{"text"},
		text:  `Hello from Ferry's simulator. You said: "Hello, simulator!"`,
		// Hello from Ferry's simulator. You said: "Hello, simulator!"
		output: 8,
		inTok:  5, // (17+3)/4
	},
	{
		name: "long_blocks_quoted",
		// Claude Code's shape: injected <system-reminder> context first,
		// the typed prompt last; the quote is the prompt, clipped.
		body:  body(1024, `[{"role":"user","content":[{"type":"text","text":"<system-reminder>context</system-reminder>"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}},{"type":"text","text":"`+strings.Repeat("ab ", 20)+strings.Repeat("ü", 30)+`"}]}]`),
		stop:  "end_turn",
		types: []string{"text"},
		text:  `Hello from Ferry's simulator. You said: "` + strings.Repeat("ab ", 20) + strings.Repeat("ü", 20) + `…"`,
	},
	{
		name:  "system_prompt",
		body:  body(1024, `[{"role":"user","content":"Hi"}]`, `"system":"You are terse."`),
		stop:  "end_turn",
		types: []string{"text"},
		text:  `Hello from Ferry's simulator. You said: "Hi"`,
		inTok: 4, // (14+2+3)/4
	},
	{
		name:  "system_blocks_and_extras",
		body:  body(32000, `[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi","cache_control":{"type":"ephemeral"}}]}]`, `"system":[{"type":"text","text":"You are terse.","cache_control":{"type":"ephemeral","ttl":"1h"}}]`, `"metadata":{"user_id":"{\"device_id\":\"x\"}"}`, `"context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]}`, `"output_config":{"effort":"high"}`, `"temperature":1`, `"stream":true`),
		stop:  "end_turn",
		types: []string{"text"},
		text:  `Hello from Ferry's simulator. You said: "Hi"`,
		inTok: 7, // (14+9+2+3)/4
	},
	{
		name:   "configured_text_escapes",
		cfg:    config.Simulator{Text: "Line one\nline \"two\"\ttab \\ back\x01 <html> & \u2028 ünïcödé 🙂 end"},
		body:   body(1024, hello),
		stop:   "end_turn",
		types:  []string{"text"},
		text:   "Line one\nline \"two\"\ttab \\ back\x01 <html> & \u2028 ünïcödé 🙂 end",
		output: 13,
	},
	{
		name:  "prefill_quotes_last_user_turn",
		body:  body(1024, `[{"role":"user","content":"first"},{"role":"assistant","content":"ok"},{"role":"user","content":"second"},{"role":"assistant","content":"Sure,"}]`),
		stop:  "end_turn",
		types: []string{"text"},
		text:  `Hello from Ferry's simulator. You said: "second"`,
	},
	{
		name:  "thinking_enabled",
		body:  body(16000, hello, `"thinking":{"type":"enabled","budget_tokens":2000}`),
		stop:  "end_turn",
		types: []string{"thinking", "text"},
		text:  `Hello from Ferry's simulator. You said: "Hello, simulator!"`,
	},
	{
		name:  "thinking_adaptive",
		body:  body(16000, hello, `"thinking":{"type":"adaptive"}`),
		stop:  "end_turn",
		types: []string{"thinking", "text"},
	},
	{
		name:  "thinking_disabled",
		body:  body(16000, hello, `"thinking":{"type":"disabled"}`),
		stop:  "end_turn",
		types: []string{"text"},
	},
	{
		name:   "tool_use_share",
		cfg:    config.Simulator{ToolUse: 1},
		body:   body(1024, `[{"role":"user","content":"Weather in Paris?"}]`, `"tools":[`+serverTool+`,`+weatherTool+`]`),
		stop:   "tool_use",
		types:  []string{"text", "tool_use"},
		text:   "I'll use the get_weather tool.",
		tool:   "get_weather",
		input:  map[string]any{"city": "example", "units": "celsius"},
		output: 5 + 5, // {"city":"example","units":"celsius"} is 36 bytes: 5 chunks
	},
	{
		name:  "tool_use_header_all_properties",
		hdr:   map[string]string{HeaderSimulate: "tool_use"},
		body:  body(1024, `[{"role":"user","content":"Go"}]`, `"tools":[`+kitchenTool+`]`),
		stop:  "tool_use",
		types: []string{"text", "tool_use"},
		tool:  "kitchen_sink",
		input: map[string]any{"s": "example", "n": 1.0, "i": 1.0, "b": true, "a": []any{}, "o": map[string]any{"x": "example"}, "e": "example", "c": "fixed", "u": nil},
	},
	{
		name:  "tool_choice_tool",
		body:  body(1024, `[{"role":"user","content":"Go"}]`, `"tools":[`+weatherTool+`,`+kitchenTool+`]`, `"tool_choice":{"type":"tool","name":"kitchen_sink"}`),
		stop:  "tool_use",
		types: []string{"text", "tool_use"},
		text:  "I'll use the kitchen_sink tool.",
		tool:  "kitchen_sink",
	},
	{
		name:  "tool_choice_any",
		body:  body(1024, `[{"role":"user","content":"Go"}]`, `"tools":[`+weatherTool+`]`, `"tool_choice":{"type":"any"}`),
		stop:  "tool_use",
		types: []string{"text", "tool_use"},
		tool:  "get_weather",
	},
	{
		name:  "tool_choice_auto_no_share",
		body:  body(1024, `[{"role":"user","content":"Go"}]`, `"tools":[`+weatherTool+`]`, `"tool_choice":{"type":"auto"}`),
		stop:  "end_turn",
		types: []string{"text"},
		text:  `Hello from Ferry's simulator. You said: "Go"`,
	},
	{
		name:  "tool_choice_none_beats_header",
		hdr:   map[string]string{HeaderSimulate: "tool_use"},
		body:  body(1024, `[{"role":"user","content":"Go"}]`, `"tools":[`+weatherTool+`]`, `"tool_choice":{"type":"none"}`),
		stop:  "end_turn",
		types: []string{"text"},
	},
	{
		name:  "header_text_beats_tool_choice",
		hdr:   map[string]string{HeaderSimulate: "text"},
		cfg:   config.Simulator{ToolUse: 1},
		body:  body(1024, `[{"role":"user","content":"Go"}]`, `"tools":[`+weatherTool+`]`, `"tool_choice":{"type":"any"}`),
		stop:  "end_turn",
		types: []string{"text"},
	},
	{
		name:  "tool_use_only_server_tools",
		hdr:   map[string]string{HeaderSimulate: "tool_use"},
		body:  body(1024, `[{"role":"user","content":"Go"}]`, `"tools":[`+serverTool+`]`),
		stop:  "end_turn",
		types: []string{"text"},
	},
	{
		name:  "tool_use_with_thinking",
		cfg:   config.Simulator{ToolUse: 1},
		body:  body(16000, `[{"role":"user","content":"Weather in Paris?"}]`, `"tools":[`+weatherTool+`]`, `"thinking":{"type":"enabled","budget_tokens":1024}`),
		stop:  "tool_use",
		types: []string{"thinking", "text", "tool_use"},
		tool:  "get_weather",
		input: map[string]any{"city": "example", "units": "celsius"},
	},
	{
		name:  "tool_input_utf8_chunks",
		hdr:   map[string]string{HeaderSimulate: "tool_use"},
		body:  body(1024, `[{"role":"user","content":"Go"}]`, `"tools":[`+unicodeTool+`]`),
		stop:  "tool_use",
		types: []string{"text", "tool_use"},
		input: map[string]any{"text": "日本語のテキストです🙂 ok — «quoted» \"x\"\n"},
	},
	{
		name:  "tool_result_string",
		cfg:   config.Simulator{ToolUse: 1},
		body:  body(1024, toolTurns, `"tools":[`+weatherTool+`]`, `"tool_choice":{"type":"any"}`),
		stop:  "end_turn",
		types: []string{"text"},
		text:  "Tool result received: Sunny, 21 °C",
	},
	{
		name:  "tool_result_blocks_thinking",
		hdr:   map[string]string{HeaderSimulate: "tool_use"},
		body:  body(16000, `[{"role":"user","content":"Go"},{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"c2ln"},{"type":"tool_use","id":"toolu_Y","name":"get_weather","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_Y","is_error":false,"content":[{"type":"text","text":"`+strings.Repeat("x", 100)+`"},{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]},{"type":"text","text":"thanks"}]}]`, `"tools":[`+weatherTool+`]`, `"thinking":{"type":"adaptive"}`),
		stop:  "end_turn",
		types: []string{"thinking", "text"},
		text:  "Tool result received: " + strings.Repeat("x", 80) + "…",
	},
	{
		name:    "max_tokens_truncates_text",
		cfg:     config.Simulator{Text: "one two three four five six"},
		body:    body(3, hello),
		stop:    "max_tokens",
		types:   []string{"text"},
		text:    "one two three ",
		output:  3,
		stopSeq: nil,
	},
	{
		name:   "max_tokens_exact_fit",
		cfg:    config.Simulator{Text: "one two three"},
		body:   body(3, hello),
		stop:   "end_turn",
		types:  []string{"text"},
		text:   "one two three",
		output: 3,
	},
	{
		name:   "max_tokens_zero",
		cfg:    config.Simulator{ToolUse: 1},
		body:   body(0, hello, `"tools":[`+weatherTool+`]`, `"thinking":{"type":"enabled","budget_tokens":1024}`),
		stop:   "max_tokens",
		types:  []string{},
		output: -1,
	},
	{
		name:   "max_tokens_in_thinking",
		body:   body(4, hello, `"thinking":{"type":"enabled","budget_tokens":1024}`),
		stop:   "max_tokens",
		types:  []string{"thinking"},
		output: 4,
	},
	{
		name:   "max_tokens_drops_tool_call",
		hdr:    map[string]string{HeaderSimulate: "tool_use"},
		body:   body(7, hello, `"tools":[`+weatherTool+`]`),
		stop:   "max_tokens",
		types:  []string{"text"},
		text:   "I'll use the get_weather tool.",
		output: 5,
	},
	{
		name:    "stop_sequence",
		cfg:     config.Simulator{Text: "Hello world. STOP here and END"},
		body:    body(1024, hello, `"stop_sequences":["END","STOP",""]`),
		stop:    "stop_sequence",
		stopSeq: "STOP",
		types:   []string{"text"},
		text:    "Hello world. ",
		output:  2,
	},
	{
		name:    "stop_sequence_mid_word",
		body:    body(1024, hello, `"stop_sequences":["simul"]`),
		stop:    "stop_sequence",
		stopSeq: "simul",
		types:   []string{"text"},
		text:    "Hello from Ferry's ",
	},
	{
		name:    "stop_sequence_cuts_tool_call",
		hdr:     map[string]string{HeaderSimulate: "tool_use"},
		body:    body(1024, hello, `"tools":[`+weatherTool+`]`, `"stop_sequences":[" tool"]`),
		stop:    "stop_sequence",
		stopSeq: " tool",
		types:   []string{"text"},
		text:    "I'll use the get_weather",
	},
	{
		name:    "stop_sequence_at_start",
		cfg:     config.Simulator{Text: "END now"},
		body:    body(1024, hello, `"stop_sequences":["END"]`),
		stop:    "stop_sequence",
		stopSeq: "END",
		types:   []string{},
		output:  -1,
	},
	{
		name:   "max_tokens_before_stop_sequence",
		cfg:    config.Simulator{Text: "a b c d STOP"},
		body:   body(2, hello, `"stop_sequences":["STOP"]`),
		stop:   "max_tokens",
		types:  []string{"text"},
		text:   "a b ",
		output: 2,
	},
}

// TestAnswers runs every case as a stream and as JSON, each on a fresh
// provider with the same seed (so both are request 0 and share their ids),
// checks the stream's sequence, and checks that accumulating the stream gives
// exactly the JSON body.
func TestAnswers(t *testing.T) {
	for _, tc := range answerCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Seed = 7

			sresp := do(t, newProvider(t, cfg), call(provider.OpMessages, true, tc.body, tc.hdr))
			if sresp.Status != 200 || sresp.Events == nil || sresp.Body != nil {
				t.Fatalf("stream: status %d, Events %v, Body %v", sresp.Status, sresp.Events, sresp.Body)
			}
			if diff := cmp.Diff(http.Header{"Content-Type": {"text/event-stream; charset=utf-8"}, "Cache-Control": {"no-cache"}}, sresp.Header); diff != "" {
				t.Errorf("stream headers (-want +got):\n%s", diff)
			}
			res, err := checkStream(sresp.Events)
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			sresp.Close()

			jresp := do(t, newProvider(t, cfg), call(provider.OpMessages, false, tc.body, tc.hdr))
			if jresp.Status != 200 {
				t.Fatalf("json: status %d", jresp.Status)
			}
			if diff := cmp.Diff(http.Header{"Content-Type": {"application/json"}}, jresp.Header); diff != "" {
				t.Errorf("json headers (-want +got):\n%s", diff)
			}
			raw := readBody(t, jresp)
			msg := decode(t, raw)

			if diff := cmp.Diff(msg, res.Message); diff != "" {
				t.Errorf("accumulated stream differs from the JSON answer (-json +stream):\n%s", diff)
			}
			checkMessage(t, tc, msg)
			golden(t, tc.name+".golden", "-- stream --\n"+headerText(sresp.Header)+"\n\n"+res.Raw+"-- json --\n"+headerText(jresp.Header)+"\n\n"+string(raw)+"\n")
		})
	}
}

// checkMessage checks a decoded message against a case.
func checkMessage(t *testing.T, tc answerCase, msg map[string]any) {
	t.Helper()
	id, _ := msg["id"].(string)
	if !strings.HasPrefix(id, "msg_") || len(id) != 28 || strings.Trim(id[4:], ids.Alphabet) != "" {
		t.Errorf("id = %q, want msg_ and 24 base62 characters", id)
	}
	if msg["type"] != "message" || msg["role"] != "assistant" {
		t.Errorf("type %v role %v", msg["type"], msg["role"])
	}
	if msg["model"] != "claude-sim-upstream" {
		t.Errorf("model = %v, want the call's model", msg["model"])
	}
	if msg["stop_reason"] != tc.stop {
		t.Errorf("stop_reason = %v, want %v", msg["stop_reason"], tc.stop)
	}
	if msg["stop_sequence"] != tc.stopSeq {
		t.Errorf("stop_sequence = %v, want %v", msg["stop_sequence"], tc.stopSeq)
	}
	content, _ := msg["content"].([]any)
	var types []string
	for _, c := range content {
		b := c.(map[string]any)
		types = append(types, b["type"].(string))
		switch b["type"] {
		case "text":
			if tc.text != "" && b["text"] != tc.text {
				t.Errorf("text = %q, want %q", b["text"], tc.text)
			}
		case "thinking":
			if th, _ := b["thinking"].(string); th == "" {
				t.Error("empty thinking")
			}
			if sig, _ := b["signature"].(string); len(sig) < 40 {
				t.Errorf("signature %q", sig)
			}
		case "tool_use":
			id, _ := b["id"].(string)
			if !strings.HasPrefix(id, "toolu_") || len(id) != 30 || strings.Trim(id[6:], ids.Alphabet) != "" {
				t.Errorf("tool id = %q, want toolu_ and 24 base62 characters", id)
			}
			if tc.tool != "" && b["name"] != tc.tool {
				t.Errorf("tool name = %v, want %v", b["name"], tc.tool)
			}
			if tc.input != nil {
				if diff := cmp.Diff(tc.input, b["input"]); diff != "" {
					t.Errorf("tool input (-want +got):\n%s", diff)
				}
			}
		}
	}
	if diff := cmp.Diff(tc.types, types, cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })); diff != "" {
		t.Errorf("block types (-want +got):\n%s", diff)
	}
	usage := msg["usage"].(map[string]any)
	wantUsage := []string{"cache_creation_input_tokens", "cache_read_input_tokens", "input_tokens", "output_tokens", "service_tier"}
	var keys []string
	for k := range usage {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if diff := cmp.Diff(wantUsage, keys); diff != "" {
		t.Errorf("usage keys (-want +got):\n%s", diff)
	}
	if tc.output > 0 && usage["output_tokens"] != float64(tc.output) || tc.output < 0 && usage["output_tokens"] != 0.0 {
		t.Errorf("output_tokens = %v, want %d", usage["output_tokens"], tc.output)
	}
	if tc.inTok > 0 && usage["input_tokens"] != float64(tc.inTok) {
		t.Errorf("input_tokens = %v, want %d", usage["input_tokens"], tc.inTok)
	}
	if in, _ := usage["input_tokens"].(float64); in < 1 {
		t.Errorf("input_tokens = %v, want >= 1", in)
	}
}

// TestOutputTokensCountDeltas checks that output_tokens is the number of
// token deltas: words of text and thinking, and tool input chunks.
func TestOutputTokensCountDeltas(t *testing.T) {
	for _, tc := range answerCases {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, newProvider(t, tc.cfg), call(provider.OpMessages, true, tc.body, tc.hdr))
			res, err := checkStream(resp.Events)
			if err != nil {
				t.Fatal(err)
			}
			var n int
			for _, d := range res.Deltas {
				if d != "" { // the empty first input_json_delta is not a token
					n++
				}
			}
			if got := res.Message["usage"].(map[string]any)["output_tokens"]; got != float64(n) {
				t.Errorf("output_tokens = %v, deltas = %d", got, n)
			}
		})
	}
}

// errorBody is the real API's error envelope (PROTOCOL.md §5).
type errorBody struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

func decodeError(t *testing.T, b []byte) errorBody {
	t.Helper()
	var e errorBody
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %s: %v", b, err)
	}
	if e.Type != "error" || e.Error.Message == "" {
		t.Errorf("error body %s", b)
	}
	return e
}

func TestErrors(t *testing.T) {
	const ok = `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name    string
		cfg     config.Simulator
		hdr     map[string]string
		op      provider.Op
		body    string
		status  int
		typ     string
		message string // if set
		retry   string // want retry-after
	}{
		{name: "header_429", hdr: map[string]string{HeaderSimulate: "error=429"}, body: ok, status: 429, typ: "rate_limit_error", retry: "1"},
		{name: "header_500", hdr: map[string]string{HeaderSimulate: "error=500"}, body: ok, status: 500, typ: "api_error", message: "Internal server error"},
		{name: "header_529", hdr: map[string]string{HeaderSimulate: " Error=529 "}, body: ok, status: 529, typ: "overloaded_error", message: "Overloaded"},
		{name: "header_529_count_tokens", hdr: map[string]string{HeaderSimulate: "error=529"}, op: provider.OpCountTokens, body: `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, status: 529, typ: "overloaded_error", message: "Overloaded"},
		{name: "share_rate_limit", cfg: config.Simulator{Seed: 99, Errors: config.SimErrors{RateLimit: 1}}, body: ok, status: 429, typ: "rate_limit_error", retry: "1"},
		{name: "share_api_error", cfg: config.Simulator{Seed: 99, Errors: config.SimErrors{APIError: 1}}, body: ok, status: 500, typ: "api_error"},
		{name: "share_overloaded", cfg: config.Simulator{Seed: 99, Errors: config.SimErrors{Overloaded: 1}}, body: ok, status: 529, typ: "overloaded_error", message: "Overloaded"},
		{name: "header_beats_share", cfg: config.Simulator{Errors: config.SimErrors{Overloaded: 1}}, hdr: map[string]string{HeaderSimulate: "error=500"}, body: ok, status: 500, typ: "api_error"},
		{name: "bad_header", hdr: map[string]string{HeaderSimulate: "error=418"}, body: ok, status: 400, typ: "invalid_request_error"},
		{name: "not_json", body: `{"model":`, status: 400, typ: "invalid_request_error"},
		{name: "empty_body", body: ``, status: 400, typ: "invalid_request_error"},
		{name: "trailing_garbage", body: ok + `x`, status: 400, typ: "invalid_request_error"},
		{name: "missing_max_tokens", body: `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, status: 400, typ: "invalid_request_error", message: "max_tokens: Field required"},
		{name: "negative_max_tokens", body: `{"model":"m","max_tokens":-1,"messages":[{"role":"user","content":"hi"}]}`, status: 400, typ: "invalid_request_error", message: "max_tokens: Input should be greater than or equal to 0"},
		{name: "fractional_max_tokens", body: `{"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"hi"}]}`, status: 400, typ: "invalid_request_error", message: "max_tokens: unexpected JSON number 1.5"},
		{name: "string_max_tokens", body: `{"model":"m","max_tokens":"10","messages":[{"role":"user","content":"hi"}]}`, status: 400, typ: "invalid_request_error", message: "max_tokens: unexpected JSON string"},
		{name: "missing_messages", body: `{"model":"m","max_tokens":10}`, status: 400, typ: "invalid_request_error", message: "messages: Field required"},
		{name: "empty_messages", body: `{"model":"m","max_tokens":10,"messages":[]}`, status: 400, typ: "invalid_request_error", message: "messages: at least one message is required"},
		{name: "bad_role", body: `{"model":"m","max_tokens":10,"messages":[{"role":"bot","content":"hi"}]}`, status: 400, typ: "invalid_request_error", message: "messages.0.role: Input should be 'user', 'assistant' or 'system'"},
		{name: "content_number", body: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":5}]}`, status: 400, typ: "invalid_request_error"},
		{name: "count_tokens_empty_messages", op: provider.OpCountTokens, body: `{"model":"m","messages":[]}`, status: 400, typ: "invalid_request_error", message: "messages: at least one message is required"},
		{name: "invalid_before_share", cfg: config.Simulator{Errors: config.SimErrors{RateLimit: 1}}, body: `{}`, status: 400, typ: "invalid_request_error"},
	}
	for _, tc := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tc.name, stream), func(t *testing.T) {
				resp := do(t, newProvider(t, tc.cfg), call(tc.op, stream, tc.body, tc.hdr))
				if resp.Status != tc.status {
					t.Errorf("status = %d, want %d", resp.Status, tc.status)
				}
				want := http.Header{"Content-Type": {"application/json"}}
				if tc.retry != "" {
					want.Set("Retry-After", tc.retry)
				}
				if diff := cmp.Diff(want, resp.Header); diff != "" {
					t.Errorf("headers (-want +got):\n%s", diff)
				}
				e := decodeError(t, readBody(t, resp))
				if e.Error.Type != tc.typ {
					t.Errorf("error.type = %q, want %q", e.Error.Type, tc.typ)
				}
				if tc.message != "" && e.Error.Message != tc.message {
					t.Errorf("error.message = %q, want %q", e.Error.Message, tc.message)
				}
			})
		}
	}
}

// TestInvalidTakesNoNumber checks that a 400 does not advance the outcome
// sequence.
func TestInvalidTakesNoNumber(t *testing.T) {
	cfg := config.Simulator{Seed: 3}
	a, b := newProvider(t, cfg), newProvider(t, cfg)
	do(t, a, call(provider.OpMessages, false, `{}`, nil)).Close()
	got := readBody(t, do(t, a, call(provider.OpMessages, false, body(10, hello), nil)))
	want := readBody(t, do(t, b, call(provider.OpMessages, false, body(10, hello), nil)))
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Error(diff)
	}
}

func TestUnsupportedOp(t *testing.T) {
	p := newProvider(t, config.Simulator{})
	resp, err := p.Do(context.Background(), &provider.Call{Op: provider.Op(99), Body: []byte(body(1, hello))})
	if err == nil || resp != nil {
		t.Fatalf("Do = %v, %v; want an error", resp, err)
	}
}

func TestCountTokens(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"one_message", `{"model":"m","messages":[{"role":"user","content":"Hello"}]}`, `{"input_tokens":2}`},
		{"system", `{"model":"m","system":"abc","messages":[{"role":"user","content":"Hello"}]}`, `{"input_tokens":2}`},
		{"empty_text_is_one", `{"model":"m","messages":[{"role":"user","content":""}]}`, `{"input_tokens":1}`},
		{"tools", `{"model":"m","messages":[{"role":"user","content":"Hello"}],"tools":[` + weatherTool + `]}`, fmt.Sprintf(`{"input_tokens":%d}`, (5+len(weatherTool)-len(`{"name":"","description":"","input_schema":}`)+3)/4)},
		{"tool_turns", `{"model":"m","messages":` + toolTurns + `}`, fmt.Sprintf(`{"input_tokens":%d}`, (len("Weather in Paris?")+len("I'll use the get_weather tool.")+len("get_weather")+len(`{"city":"Paris","units":"celsius"}`)+len("Sunny, 21 °C")+3)/4)},
		{"max_tokens_ignored", `{"model":"m","max_tokens":-5,"messages":[{"role":"user","content":"Hello"}]}`, `{"input_tokens":2}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvider(t, config.Simulator{})
			resp := do(t, p, call(provider.OpCountTokens, false, tc.body, map[string]string{HeaderSimulate: "tool_use"}))
			if resp.Status != 200 {
				t.Fatalf("status %d", resp.Status)
			}
			if diff := cmp.Diff(http.Header{"Content-Type": {"application/json"}}, resp.Header); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, string(readBody(t, resp))); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCountTokensMatchesUsage checks that count_tokens agrees with the
// input_tokens of an answer to the same prompt.
func TestCountTokensMatchesUsage(t *testing.T) {
	p := newProvider(t, config.Simulator{})
	for _, tc := range answerCases {
		var req map[string]any
		if err := json.Unmarshal([]byte(tc.body), &req); err != nil {
			t.Fatal(err)
		}
		delete(req, "max_tokens")
		delete(req, "stop_sequences")
		ct, _ := json.Marshal(req)
		var count struct {
			InputTokens float64 `json:"input_tokens"`
		}
		if err := json.Unmarshal(readBody(t, do(t, p, call(provider.OpCountTokens, false, string(ct), nil))), &count); err != nil {
			t.Fatal(err)
		}
		msg := decode(t, readBody(t, do(t, p, call(provider.OpMessages, false, tc.body, tc.hdr))))
		if got := msg["usage"].(map[string]any)["input_tokens"]; got != count.InputTokens {
			t.Errorf("%s: input_tokens %v, count_tokens %v", tc.name, got, count.InputTokens)
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Simulator
		bad  []string // substrings of the error, none for a valid config
	}{
		{name: "zero"},
		{name: "full", cfg: config.Simulator{Text: "x", FirstToken: time.Second, TokensPerSecond: 50, ToolUse: 1, Errors: config.SimErrors{RateLimit: 0.1, APIError: 0.2, Overloaded: 0.7}}},
		{name: "share_negative", cfg: config.Simulator{Errors: config.SimErrors{RateLimit: -0.1}}, bad: []string{"errors.rate_limit"}},
		{name: "share_above_one", cfg: config.Simulator{ToolUse: 1.5}, bad: []string{"tool_use"}},
		{name: "share_nan", cfg: config.Simulator{Errors: config.SimErrors{Overloaded: nan()}}, bad: []string{"errors.overloaded"}},
		{name: "sum_above_one", cfg: config.Simulator{Errors: config.SimErrors{RateLimit: 0.5, APIError: 0.3, Overloaded: 0.3}}, bad: []string{"sum"}},
		{name: "tps_negative", cfg: config.Simulator{TokensPerSecond: -1}, bad: []string{"tokens_per_second"}},
		{name: "tps_nan", cfg: config.Simulator{TokensPerSecond: nan()}, bad: []string{"tokens_per_second"}},
		{name: "first_token_negative", cfg: config.Simulator{FirstToken: -time.Second}, bad: []string{"first_token"}},
		{name: "several", cfg: config.Simulator{ToolUse: 2, TokensPerSecond: -1, Errors: config.SimErrors{APIError: 3}}, bad: []string{"tool_use", "tokens_per_second", "errors.api_error", "sum", `"sim"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(Options{Name: "sim", Config: tc.cfg})
			if len(tc.bad) == 0 {
				if err != nil || p == nil {
					t.Fatalf("New = %v, %v", p, err)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			for _, s := range tc.bad {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func nan() float64 { var z float64; return z / z }

// run sends a sequence of requests and records every answer's bytes.
func run(t *testing.T, p *Provider, n int) []string {
	t.Helper()
	bodies := []string{
		body(100, hello),
		body(100, hello, `"tools":[`+weatherTool+`]`),
		body(100, hello, `"tools":[`+weatherTool+`]`, `"thinking":{"type":"enabled","budget_tokens":1024}`),
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`, // count_tokens
	}
	var out []string
	for i := range n {
		b := bodies[i%len(bodies)]
		op := provider.OpMessages
		if i%len(bodies) == 3 {
			op = provider.OpCountTokens
		}
		resp := do(t, p, call(op, i%2 == 0, b, nil))
		s := fmt.Sprint(resp.Status, " ", headerText(resp.Header), "\n")
		if resp.Events != nil {
			res, err := checkStream(resp.Events)
			if err != nil {
				t.Fatal(err)
			}
			s += res.Raw
		} else {
			s += string(readBody(t, resp))
		}
		out = append(out, s)
	}
	return out
}

func TestDeterminism(t *testing.T) {
	cfg := config.Simulator{Seed: 2024, ToolUse: 0.5, Errors: config.SimErrors{RateLimit: 0.1, APIError: 0.1, Overloaded: 0.1}}
	a := run(t, newProvider(t, cfg), 64)
	b := run(t, newProvider(t, cfg), 64)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different answers (-first +second):\n%s", diff)
	}
	cfg.Seed++
	c := run(t, newProvider(t, cfg), 64)
	if cmp.Equal(a, c) {
		t.Error("a different seed gave the same answers")
	}
}

// TestShares checks that outcomes follow the configured shares.
func TestShares(t *testing.T) {
	cfg := config.Simulator{Seed: 1, ToolUse: 0.5, Errors: config.SimErrors{RateLimit: 0.2, APIError: 0.1, Overloaded: 0.05}}
	p := newProvider(t, cfg)
	const n = 4000
	counts := map[string]int{}
	for range n {
		resp := do(t, p, call(provider.OpMessages, false, body(100, hello, `"tools":[`+weatherTool+`]`), nil))
		b := readBody(t, resp)
		key := fmt.Sprint(resp.Status)
		if resp.Status == 200 {
			key = decode(t, b)["stop_reason"].(string)
		}
		counts[key]++
	}
	want := map[string]float64{"429": 0.2, "500": 0.1, "529": 0.05, "tool_use": 0.65 * 0.5, "end_turn": 0.65 * 0.5}
	for k, share := range want {
		if got := float64(counts[k]) / n; got < share-0.03 || got > share+0.03 {
			t.Errorf("%s: share %.3f, want %.3f ± 0.03 (counts %v)", k, got, share, counts)
		}
	}
}

func TestConcurrentDo(t *testing.T) {
	p := newProvider(t, config.Simulator{})
	const workers, each = 8, 50
	ids := make(chan string, workers*each)
	done := make(chan struct{})
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for range each {
				resp, err := p.Do(context.Background(), call(provider.OpMessages, false, body(10, hello), nil))
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				var m struct{ ID string }
				json.Unmarshal(b, &m)
				ids <- m.ID
			}
		}()
	}
	for range workers {
		<-done
	}
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("duplicate id %s", id)
		}
		seen[id] = true
	}
	if len(seen) != workers*each {
		t.Errorf("%d ids, want %d", len(seen), workers*each)
	}
}
