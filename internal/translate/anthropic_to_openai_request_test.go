package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/testkit"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

// rqProfiles are test profiles resembling the vendors' (the real table
// belongs to the provider package): what each case's "profile" file names.
var rqProfiles = map[string]Profile{
	// A zero profile: every optional feature off.
	"bare": {Name: "bare"},
	"openai": {
		Name: "openai", MaxTokensField: "max_completion_tokens", MaxTokensCap: 32768,
		TemperatureMax: 2, TopPMax: 1, StreamUsage: true,
		ReasoningFields: []string{"reasoning_content", "reasoning"}, Thinking: "reasoning_effort",
		ToolChoice: true, ParallelToolCalls: true, ImageURLs: true, Documents: true,
		SystemMidConversation: true, User: true, MaxStop: 4,
	},
	"zhipu": {
		Name: "zhipu", MaxTokensField: "max_tokens", MaxTokensCap: 32768,
		TemperatureMax: 1, TopPMax: 1, StreamUsage: true,
		ReasoningFields: []string{"reasoning_content"}, Thinking: "thinking_type", ThinkingOffExplicit: true,
		ToolChoice: true, StripSchemaKeys: []string{"$schema"}, ImageURLs: true, MaxStop: 1,
	},
	// Zhipu GLM-5.2 and later take reasoning_effort, "none" turning
	// thinking off (VENDORS.md B.1).
	"zhipu_effort": {
		Name: "zhipu_effort", MaxTokensField: "max_tokens", TemperatureMax: 1, TopPMax: 1, StreamUsage: true,
		ReasoningFields: []string{"reasoning_content"}, Thinking: "reasoning_effort", ThinkingOffExplicit: true,
		ToolChoice: true, ImageURLs: true,
	},
	"deepseek": {
		Name: "deepseek", MaxTokensField: "max_tokens", MaxTokensCap: 8192,
		StreamUsage:     true, // temperature and top_p: ignored in thinking mode, so dropped here
		ReasoningFields: []string{"reasoning_content"}, ReasoningReplay: true, Thinking: "thinking_type",
		ToolChoice: true, StripSchemaKeys: []string{"$schema"}, MaxStop: 16,
	},
	"dashscope": {
		Name: "dashscope", MaxTokensField: "max_tokens", MaxTokensCap: 16384,
		TemperatureMax: 2, TopPMax: 1, TopK: true, StreamUsage: true,
		ReasoningFields: []string{"reasoning_content"}, Thinking: "enable_thinking", ThinkingOffExplicit: true,
		ToolChoice: true, ParallelToolCalls: true, ImageURLs: true, MaxStop: 4,
	},
	"vllm": {
		Name: "vllm", MaxTokensField: "max_tokens", TemperatureMax: 2, TopPMax: 1, TopK: true, StreamUsage: true,
		ReasoningFields: []string{"reasoning", "reasoning_content"}, ToolChoice: true, ParallelToolCalls: true,
		ImageURLs: true,
	},
	"ollama": {
		Name: "ollama", MaxTokensField: "max_tokens", TemperatureMax: 2, TopPMax: 1, TopK: true, StreamUsage: true,
		ReasoningFields: []string{"reasoning"}, Thinking: "reasoning_effort",
		StripSchemaKeys: []string{"$schema", "propertyNames", "default"},
	},
}

// Profiles that differ from one above by a single switch, named as the
// vendor's so that error messages read as they will. "deepseek" itself
// keeps images, which the Claude Code golden and TestRequestProperties
// send, so that they still exercise its other quirks; "dashscope" itself
// keeps thinking on without a stream, as thinking_dashscope_enabled shows.
func init() {
	d := rqProfiles["deepseek"]
	d.NoImages = true // DeepSeek's chat models are text-only
	rqProfiles["deepseek_text"] = d
	q := rqProfiles["dashscope"]
	q.ThinkingStreamOnly = true // "enable_thinking must be set to false for non-streaming calls"
	rqProfiles["dashscope_stream_only"] = q
	g := rqProfiles["vllm"]
	g.Name, g.ParallelToolCalls, g.TopK, g.TemperatureMax = "generic", false, false, 1 // as openaicompat's generic profile
	rqProfiles["generic"] = g
}

// rqCase is a loaded golden file.
type rqCase struct {
	name, path string
	ar         *txtar.Archive
}

func (c *rqCase) file(name string) []byte {
	for _, f := range c.ar.Files {
		if f.Name == name {
			return f.Data
		}
	}
	return nil
}

func (c *rqCase) set(name string, data []byte) {
	for i := range c.ar.Files {
		if c.ar.Files[i].Name == name {
			if data == nil {
				c.ar.Files = append(c.ar.Files[:i], c.ar.Files[i+1:]...)
			} else {
				c.ar.Files[i].Data = data
			}
			return
		}
	}
	if data != nil {
		c.ar.Files = append(c.ar.Files, txtar.File{Name: name, Data: data})
	}
}

func (c *rqCase) profile(t testing.TB) *Profile {
	name := strings.TrimSpace(string(c.file("profile")))
	p, ok := rqProfiles[name]
	if !ok {
		t.Fatalf("%s: unknown profile %q", c.path, name)
	}
	return &p
}

func rqLoad(t testing.TB, dir string) []*rqCase {
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.txtar"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden files in testdata/%s: %v", dir, err)
	}
	var cases []*rqCase
	for _, p := range paths {
		ar, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, &rqCase{name: strings.TrimSuffix(filepath.Base(p), ".txtar"), path: p, ar: ar})
	}
	return cases
}

// rqIndent formats JSON for a golden file.
func rqIndent(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// rqCompareJSON compares two JSON texts as values.
func rqCompareJSON(t testing.TB, what string, want, got []byte, normalize func(any)) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: want is not JSON: %v", what, err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: got is not JSON: %v\n%s", what, err, got)
	}
	if normalize != nil {
		normalize(g)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

func rqCompareText(t testing.TB, what string, want, got []byte) {
	t.Helper()
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// TestRequestGolden runs testdata/request/*.txtar: anthropic.json (the
// client's body), profile (a name in rqProfiles), and either want.json
// (the upstream body) and info.json (the RequestInfo), or error (the
// *Error message).
func TestRequestGolden(t *testing.T) {
	for _, c := range rqLoad(t, "request") {
		t.Run(c.name, func(t *testing.T) {
			in := c.file("anthropic.json")
			if in == nil {
				t.Fatal("no anthropic.json")
			}
			got, info, err := AnthropicToOpenAIRequest(in, "upstream-model", c.profile(t))
			var gotErr, gotBody, gotInfo []byte
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %T is not *Error: %v", err, err)
				}
				gotErr = []byte(e.Msg + "\n")
			} else {
				gotBody = rqIndent(t, got)
				ib, _ := json.Marshal(info)
				gotInfo = rqIndent(t, ib)
			}
			if testkit.Updating() {
				c.set("want.json", gotBody)
				c.set("info.json", gotInfo)
				c.set("error", gotErr)
				if err := os.WriteFile(c.path, txtar.Format(c.ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := c.file("error"); want != nil || err != nil {
				rqCompareText(t, "error", want, gotErr)
				return
			}
			rqCompareJSON(t, "want.json", c.file("want.json"), got, nil)
			rqCompareJSON(t, "info.json", c.file("info.json"), gotInfo, nil)
			rqCheckInvariants(t, in, got)
		})
	}
}

// rqOut is the part of an OpenAI request the invariants look at.
type rqOut struct {
	Messages []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCallID string          `json:"tool_call_id"`
		ToolCalls  []struct {
			ID       string `json:"id"`
			Type     string `json:"type"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
}

// rqCheckInvariants checks what must hold for any translated request:
//   - every tool call is answered by exactly one tool message before the
//     next non-tool message, and every tool message answers one;
//   - no message has empty content unless it has tool calls;
//   - every user and assistant text of the input appears in the output,
//     in order;
//   - every tool_use id of the input is an output tool call id.
func rqCheckInvariants(t testing.TB, in, got []byte) {
	t.Helper()
	ids, all := rqCheckStructure(t, got)
	// The input's texts, in order, must be found in the output's texts.
	var req struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	json.Unmarshal(in, &req)
	pos := 0
	for _, m := range req.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			continue
		}
		texts, results := rqInputTexts(m.Content)
		for _, s := range results {
			if !strings.Contains(all, s) {
				t.Errorf("tool result text %q is missing from the output", s)
			}
		}
		for _, s := range texts {
			j := strings.Index(all[pos:], s)
			if j < 0 {
				t.Errorf("text %q of a %s message is missing from the output, or out of order", s, m.Role)
				continue
			}
			pos += j + len(s)
		}
		for _, id := range rqInputToolUseIDs(m.Content) {
			if !ids[id] {
				t.Errorf("tool_use id %q is not a tool call id of the output", id)
			}
		}
	}
}

// rqCheckStructure checks the first two invariants of rqCheckInvariants,
// which hold for any input, and returns the output's tool call ids and its
// user, assistant and tool texts (each followed by a NUL).
func rqCheckStructure(t testing.TB, got []byte) (map[string]bool, string) {
	t.Helper()
	var out rqOut
	if err := json.Unmarshal(got, &out); err != nil {
		t.Fatalf("output: %v", err)
	}
	var open []string // tool calls not answered yet
	ids := map[string]bool{}
	var texts strings.Builder
	for i, m := range out.Messages {
		if m.Role == "tool" {
			j := -1
			for k, id := range open {
				if id == m.ToolCallID {
					j = k
				}
			}
			if j < 0 {
				t.Errorf("messages[%d]: tool message for %q, which no open tool call has", i, m.ToolCallID)
			} else {
				open = append(open[:j], open[j+1:]...)
			}
		} else if len(open) > 0 {
			t.Errorf("messages[%d]: %s message while tool calls %v are unanswered", i, m.Role, open)
			open = nil
		}
		for _, tc := range m.ToolCalls {
			open = append(open, tc.ID)
			ids[tc.ID] = true
			if !json.Valid([]byte(tc.Function.Arguments)) {
				t.Errorf("messages[%d]: arguments %q are not JSON", i, tc.Function.Arguments)
			}
		}
		c := rqContentText(m.Content)
		if c == "" && len(m.ToolCalls) == 0 && !rqHasParts(m.Content) {
			t.Errorf("messages[%d] (%s): empty content", i, m.Role)
		}
		if m.Role == "user" || m.Role == "assistant" || m.Role == "tool" {
			texts.WriteString(c)
			texts.WriteByte(0)
		}
	}
	if len(open) > 0 {
		t.Errorf("tool calls %v are never answered", open)
	}
	return ids, texts.String()
}

func rqContentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type, Text string
	}
	json.Unmarshal(raw, &parts)
	var sb strings.Builder
	for _, p := range parts {
		sb.WriteString(p.Text)
		sb.WriteByte(0)
	}
	return sb.String()
}

func rqHasParts(raw json.RawMessage) bool {
	var parts []json.RawMessage
	return json.Unmarshal(raw, &parts) == nil && len(parts) > 0
}

// rqInputTexts returns the texts of an Anthropic message's text blocks,
// and the string contents of its tool results (which move before the
// turn's text, so only their presence is checked).
func rqInputTexts(raw json.RawMessage) (texts, results []string) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return nil, nil
		}
		return []string{s}, nil
	}
	var blocks []struct {
		Type    string          `json:"type"`
		Text    string          `json:"text"`
		Content json.RawMessage `json:"content"`
	}
	json.Unmarshal(raw, &blocks)
	for _, b := range blocks {
		switch b.Type {
		case "text":
			if b.Text != "" {
				texts = append(texts, b.Text)
			}
		case "tool_result":
			t, _ := rqInputTexts(b.Content)
			results = append(results, t...)
		}
	}
	return texts, results
}

func rqInputToolUseIDs(raw json.RawMessage) []string {
	var blocks []struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	json.Unmarshal(raw, &blocks)
	var ids []string
	for _, b := range blocks {
		if b.Type == "tool_use" {
			ids = append(ids, b.ID)
		}
	}
	return ids
}

// rqGen generates random valid Anthropic requests.
type rqGen struct {
	r     *rand.Rand
	n     int
	calls []string // the last assistant turn's tool_use ids
}

func (g *rqGen) text() string {
	g.n++
	words := []string{"alpha", "beta", "<tag>", "ünï", "line\nbreak", `"quoted"`, "tab\t", "emoji 🚢"}
	return fmt.Sprintf("t%d %s", g.n, words[g.r.IntN(len(words))])
}

func (g *rqGen) image() map[string]any {
	return map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
}

func (g *rqGen) textBlock() map[string]any { return map[string]any{"type": "text", "text": g.text()} }

func (g *rqGen) user() map[string]any {
	var blocks []any
	// Results for (some of) the pending calls, in any order, maybe twice.
	calls := g.calls
	g.calls = nil
	g.r.Shuffle(len(calls), func(i, j int) { calls[i], calls[j] = calls[j], calls[i] })
	for _, id := range calls {
		if g.r.IntN(8) == 0 {
			continue // a missing result
		}
		var content any
		switch g.r.IntN(4) {
		case 0:
			content = g.text()
		case 1:
			content = []any{g.textBlock(), g.image()}
		case 2:
			content = []any{g.textBlock(), g.textBlock()}
		}
		res := map[string]any{"type": "tool_result", "tool_use_id": id}
		if content != nil {
			res["content"] = content
		}
		if g.r.IntN(3) == 0 {
			res["is_error"] = true
		}
		blocks = append(blocks, res)
	}
	if g.r.IntN(10) == 0 {
		blocks = append(blocks, map[string]any{"type": "tool_result", "tool_use_id": "toolu_orphan", "content": g.text()})
	}
	for range g.r.IntN(3) {
		if g.r.IntN(4) == 0 {
			blocks = append(blocks, g.image())
		} else {
			blocks = append(blocks, g.textBlock())
		}
	}
	if len(blocks) == 0 || g.r.IntN(3) == 0 {
		blocks = append(blocks, g.textBlock())
	}
	g.r.Shuffle(len(blocks), func(i, j int) { blocks[i], blocks[j] = blocks[j], blocks[i] })
	if len(blocks) == 1 && g.r.IntN(2) == 0 {
		if b := blocks[0].(map[string]any); b["type"] == "text" {
			return map[string]any{"role": "user", "content": b["text"]}
		}
	}
	return map[string]any{"role": "user", "content": blocks}
}

func (g *rqGen) assistant() map[string]any {
	var blocks []any
	if g.r.IntN(2) == 0 {
		blocks = append(blocks, map[string]any{"type": "thinking", "thinking": g.text(), "signature": "EtYDCkYICxgC"})
	}
	if g.r.IntN(3) == 0 {
		blocks = append(blocks, map[string]any{"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3p"})
	}
	if g.r.IntN(4) != 0 {
		blocks = append(blocks, g.textBlock())
	}
	for range g.r.IntN(4) {
		g.n++
		id := fmt.Sprintf("toolu_%03d", g.n)
		g.calls = append(g.calls, id)
		blocks = append(blocks, map[string]any{"type": "tool_use", "id": id, "name": "Read", "input": map[string]any{"file_path": g.text(), "n": g.n}})
	}
	if len(blocks) == 0 {
		blocks = append(blocks, g.textBlock())
	}
	return map[string]any{"role": "assistant", "content": blocks}
}

func (g *rqGen) request() []byte {
	var msgs []any
	for range 1 + g.r.IntN(8) {
		switch g.r.IntN(9) {
		case 0:
			msgs = append(msgs, map[string]any{"role": "system", "content": g.text()})
		case 1, 2, 3, 4:
			msgs = append(msgs, g.user())
		default:
			msgs = append(msgs, g.assistant())
		}
	}
	req := map[string]any{"model": "claude-sonnet-4-5", "max_tokens": 1000, "messages": msgs}
	if g.r.IntN(2) == 0 {
		req["system"] = []any{map[string]any{"type": "text", "text": "x-anthropic-billing-header: cc_version=1;"}, g.textBlock()}
	}
	b, _ := json.Marshal(req)
	return b
}

// TestRequestProperties translates random valid requests for every
// profile and checks the invariants of rqCheckInvariants.
func TestRequestProperties(t *testing.T) {
	names := []string{"bare", "openai", "zhipu", "deepseek", "ollama"}
	for seed := range uint64(1000) {
		g := &rqGen{r: rand.New(rand.NewPCG(seed, 7))}
		in := g.request()
		p := rqProfiles[names[seed%uint64(len(names))]]
		got, _, err := AnthropicToOpenAIRequest(in, "m", &p)
		if err != nil {
			t.Fatalf("seed %d (%s): %v\n%s", seed, p.Name, err, in)
		}
		rqCheckInvariants(t, in, got)
		if t.Failed() {
			t.Fatalf("seed %d (%s):\nin:  %s\nout: %s", seed, p.Name, in, got)
		}
	}
}

// FuzzRequest: any body gives either a valid JSON object or an *Error,
// and never panics.
func FuzzRequest(f *testing.F) {
	for _, c := range rqLoad(f, "request") {
		// Large seeds (the Claude Code bodies) make the fuzzer spend its
		// time minimising; the small ones cover the same paths.
		if b := c.file("anthropic.json"); len(b) < 4096 {
			f.Add(b, strings.TrimSpace(string(c.file("profile"))))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, profile string) {
		p, ok := rqProfiles[profile]
		if !ok {
			p = rqProfiles["openai"]
		}
		got, info, err := AnthropicToOpenAIRequest(body, "m", &p)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			return
		}
		if info == nil || !json.Valid(got) || got[0] != '{' {
			t.Fatalf("bad output %q (info %v)", got, info)
		}
		rqCheckStructure(t, got)
	})
}

// rqBenchBody is a 2 KB request: a system prompt, two tools, and a tool
// round trip.
const rqBenchBody = `{"model":"claude-sonnet-4-5","max_tokens":64000,"stream":true,` +
	`"system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.197.123; cc_entrypoint=sdk-cli;"},{"type":"text","text":"You are a helpful coding assistant. Answer briefly and use the tools when a file must be read.","cache_control":{"type":"ephemeral"}}],` +
	`"tools":[{"name":"Read","description":"Reads a file from the local filesystem.","input_schema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"file_path":{"type":"string","description":"The absolute path to the file to read"},"offset":{"type":"number"},"limit":{"type":"number"}},"required":["file_path"],"additionalProperties":false}},` +
	`{"name":"Bash","description":"Executes a given bash command.","input_schema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"command":{"type":"string","description":"The command to execute"},"timeout":{"type":"number","maximum":600000}},"required":["command"],"additionalProperties":false}}],` +
	`"messages":[{"role":"user","content":[{"type":"text","text":"<system-reminder>As you answer the user's questions, you can use the following context.</system-reminder>"},{"type":"text","text":"What does main.go do? Read it and summarise."}]},` +
	`{"role":"assistant","content":[{"type":"thinking","thinking":"I should read main.go first.","signature":"EtYDCkYICxgCKkAVHEWRYo6RgSMs4ZZDX4gW16kdfp2EIXftcLesVephGa"},{"type":"text","text":"Let me read the file."},{"type":"tool_use","id":"toolu_01Js4AMfx5qpTLhwTusnvT68","name":"Read","input":{"file_path":"/repo/main.go"}}]},` +
	`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01Js4AMfx5qpTLhwTusnvT68","content":"package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello, world\")\n}\n","cache_control":{"type":"ephemeral"}}]}],` +
	`"thinking":{"type":"adaptive"},"output_config":{"effort":"high"},"metadata":{"user_id":"{\"device_id\":\"0f3a\",\"session_id\":\"9b1c\"}"},"context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]}}`

func BenchmarkRequest(b *testing.B) {
	body := []byte(rqBenchBody)
	p := rqProfiles["deepseek"]
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := AnthropicToOpenAIRequest(body, "deepseek-chat", &p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequestClaudeCode translates the 26 KB Claude Code golden body
// (25 tools, thinking, a tool_result image).
func BenchmarkRequestClaudeCode(b *testing.B) {
	var body []byte
	for _, c := range rqLoad(b, "request") {
		if c.name == "claude_code_zhipu" {
			body = c.file("anthropic.json")
		}
	}
	p := rqProfiles["zhipu"]
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := AnthropicToOpenAIRequest(body, "glm-4.7", &p); err != nil {
			b.Fatal(err)
		}
	}
}
