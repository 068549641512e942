package anthropic

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMessageRequestDecode(t *testing.T) {
	body := `{"model":"claude-sonnet-4-5","max_tokens":64000,"stream":true,
	"system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.197;"},{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],
	"messages":[
	 {"role":"user","content":"hi"},
	 {"role":"system","content":"Available agent types"},
	 {"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"EtYD"},{"type":"redacted_thinking","data":"Emw"},
	   {"type":"tool_use","id":"toolu_1","name":"Read","input":{"file_path":"/a"}},
	   {"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":{"type":"web_search_tool_result_error","error_code":"max_uses_exceeded"}}]},
	 {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}],"is_error":true},
	   {"type":"search_result","source":"https://x","title":"t","content":[{"type":"text","text":"a"}]},
	   {"type":"document","source":{"type":"content","content":[{"type":"text","text":"c"}]},"title":"d"}]}],
	"tools":[{"name":"Read","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search","max_uses":5},{"type":"custom","name":"c"}],
	"tool_choice":{"type":"auto","disable_parallel_tool_use":true},
	"thinking":{"type":"adaptive"},"output_config":{"effort":"high"},"metadata":{"user_id":"{\"device_id\":\"x\"}"},
	"context_management":{"edits":[]},"speed":"fast","unknown":{"a":[1]}}`
	var r MessageRequest
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if r.Model != "claude-sonnet-4-5" || r.MaxTokens != 64000 || !r.Stream || len(r.System.Blocks) != 2 || len(r.Messages) != 4 {
		t.Fatalf("decoded %+v", r)
	}
	if got := r.Messages[0].Content.AsBlocks(); len(got) != 1 || got[0].Text != "hi" {
		t.Errorf("string content as blocks: %+v", got)
	}
	a := r.Messages[2].Content.Blocks
	if a[0].Signature != "EtYD" || a[1].Data != "Emw" || string(a[2].Input) != `{"file_path":"/a"}` || a[3].Type != "web_search_tool_result" || a[3].Raw == nil {
		t.Errorf("assistant blocks %+v", a)
	}
	u := r.Messages[3].Content.Blocks
	if !u[0].IsError || u[0].Content.Blocks[0].Source.MediaType != "image/png" || u[1].Raw == nil || u[2].Source.Content.Blocks[0].Text != "c" {
		t.Errorf("user blocks %+v", u)
	}
	if !r.Tools[0].IsCustom() || r.Tools[1].IsCustom() || r.Tools[1].Name != "web_search" || r.Tools[1].Raw == nil || !r.Tools[2].IsCustom() {
		t.Errorf("tools %+v", r.Tools)
	}
	if !r.ToolChoice.DisableParallelToolUse || r.Thinking.Type != "adaptive" || r.OutputConfig.Effort != "high" || *r.Metadata.UserID != `{"device_id":"x"}` {
		t.Errorf("options %+v %+v %+v %+v", r.ToolChoice, r.Thinking, r.OutputConfig, r.Metadata)
	}

	// Unknown blocks and server tools marshal back as received.
	b, err := json.Marshal(a[3])
	if err != nil || string(b) != `{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":{"type":"web_search_tool_result_error","error_code":"max_uses_exceeded"}}` {
		t.Errorf("raw block: %s %v", b, err)
	}
	b, _ = json.Marshal(r.Tools[1])
	if string(b) != `{"type":"web_search_20250305","name":"web_search","max_uses":5}` {
		t.Errorf("server tool: %s", b)
	}
}

func TestMessageRequestDecodeErrors(t *testing.T) {
	for _, body := range []string{
		`{"messages":[{"role":"user","content":5}]}`,
		`{"messages":[{"role":"user","content":[{"type":"image","source":"x"}]}]}`,
		`{"system":{"a":1}}`,
	} {
		var r MessageRequest
		if err := json.Unmarshal([]byte(body), &r); err == nil {
			t.Errorf("%s: decoded", body)
		}
	}
}

func TestMessageMarshal(t *testing.T) {
	stop := StopToolUse
	m := Message{
		ID: "msg_1", Type: "message", Role: RoleAssistant, Model: "claude",
		Content: []ContentBlock{
			{Type: BlockThinking, Thinking: "<t>", Signature: ""},
			{Type: BlockText, Text: ""},
			{Type: BlockToolUse, ID: "toolu_1", Name: "f"},
		},
		StopReason: &stop,
		Usage:      UsageOf(Totals{Input: 1, Output: 2, CacheRead: 3, CacheCreation: 4}),
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[` +
		`{"type":"thinking","thinking":"\u003ct\u003e","signature":""},{"type":"text","text":""},{"type":"tool_use","id":"toolu_1","name":"f","input":{}}],` +
		`"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":1,"cache_creation_input_tokens":4,"cache_read_input_tokens":3,"output_tokens":2}}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	b, _ = json.Marshal(Message{ID: "msg_2"})
	var back struct{ Content []any }
	json.Unmarshal(b, &back)
	if back.Content == nil {
		t.Errorf("nil content marshals as %s", b)
	}
	if got := m.Usage.Totals(); got != (Totals{Input: 1, Output: 2, CacheRead: 3, CacheCreation: 4}) {
		t.Errorf("Totals %+v", got)
	}
}
