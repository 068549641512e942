// Package testbody builds realistic request bodies for tests and
// benchmarks; it is imported only by tests.
package testbody

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// MinSize is the size ClaudeCode grows its body to, at least.
const MinSize = 100 << 10

// ClaudeCode returns a /v1/messages request body shaped like the ones
// Claude Code sends, for model, of at least MinSize bytes (about 100 KB):
//
//   - "model" is the first key, followed by max_tokens, messages, system,
//     tools, metadata, stream (true), thinking, context_management and
//     output_config, in that order;
//   - three system blocks (a billing header, the identity line, a long
//     prompt), two with cache_control;
//   - 24 tools whose descriptions and input_schema descriptions contain
//     escaped quotes, backslashes and newlines;
//   - a conversation of text, tool_use and tool_result blocks, with a
//     system-role message after the first turn, grown a turn at a time
//     until the body reaches MinSize.
//
// It is written as a JavaScript client writes it: compact, with '<', '>'
// and '&' unescaped. The result is deterministic.
func ClaudeCode(model string) []byte {
	type prop struct {
		Type        string   `json:"type"`
		Description string   `json:"description"`
		Enum        []string `json:"enum,omitempty"`
	}
	type schema struct {
		Type                 string          `json:"type"`
		Properties           map[string]prop `json:"properties"`
		Required             []string        `json:"required"`
		AdditionalProperties bool            `json:"additionalProperties"`
		Schema               string          `json:"$schema"`
	}
	type tool struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		InputSchema schema `json:"input_schema"`
	}
	type cacheControl struct {
		Type string `json:"type"`
	}
	type block struct {
		Type         string        `json:"type"`
		Text         string        `json:"text,omitempty"`
		ID           string        `json:"id,omitempty"`
		Name         string        `json:"name,omitempty"`
		Input        any           `json:"input,omitempty"`
		ToolUseID    string        `json:"tool_use_id,omitempty"`
		Content      string        `json:"content,omitempty"`
		IsError      bool          `json:"is_error,omitempty"`
		CacheControl *cacheControl `json:"cache_control,omitempty"`
	}
	type message struct {
		Role    string `json:"role"`
		Content any    `json:"content"` // a string or []block
	}
	type edit struct {
		Type string `json:"type"`
		Keep string `json:"keep"`
	}
	type body struct {
		Model             string            `json:"model"`
		MaxTokens         int               `json:"max_tokens"`
		Messages          []message         `json:"messages"`
		System            []block           `json:"system"`
		Tools             []tool            `json:"tools"`
		Metadata          map[string]string `json:"metadata"`
		Stream            bool              `json:"stream"`
		Thinking          map[string]string `json:"thinking"`
		ContextManagement map[string][]edit `json:"context_management"`
		OutputConfig      map[string]string `json:"output_config"`
	}

	names := []string{"Task", "Bash", "Glob", "Grep", "LS", "ExitPlanMode", "Read", "Edit",
		"MultiEdit", "Write", "NotebookRead", "NotebookEdit", "WebFetch", "TodoWrite",
		"WebSearch", "BashOutput", "KillShell", "SlashCommand", "mcp__ide__getDiagnostics",
		"mcp__ide__executeCode", "mcp__github__create_issue", "mcp__github__search_code",
		"mcp__linear__list_issues", "mcp__sentry__get_event"}
	var tools []tool
	for i, n := range names {
		desc := fmt.Sprintf("Executes the %s operation.\n\nUsage notes:\n"+
			"- The \"path\" parameter must be an absolute path, not a relative path\n"+
			"- Use this tool when you need to %s; prefer it over running `cat`, `grep` or `find` via Bash\n"+
			"- Results are truncated to 2000 lines; use \"offset\" and \"limit\" for more\n"+
			"  <example>\n  user: \"run the tests\"\n  assistant: I'll use the %s tool\n  </example>\n", n, strings.ToLower(n), n)
		tools = append(tools, tool{
			Name:        n,
			Description: strings.Repeat(desc, 1+i%3),
			InputSchema: schema{
				Type: "object",
				Properties: map[string]prop{
					"path":    {Type: "string", Description: "The absolute path to the file or directory (e.g. \"/home/user/project/main.go\")"},
					"pattern": {Type: "string", Description: "The regular expression pattern to search for, e.g. \"log.*Error\" or \"function\\\\s+\\\\w+\""},
					"mode":    {Type: "string", Description: "Output mode:\n\"content\" shows lines,\n\"files_with_matches\" shows paths", Enum: []string{"content", "files_with_matches", "count"}},
					"limit":   {Type: "number", Description: "The number of lines to read. Only provide if the file is too large to read at once."},
				},
				Required:             []string{"path"},
				AdditionalProperties: false,
				Schema:               "http://json-schema.org/draft-07/schema#",
			},
		})
	}
	b := body{
		Model:     model,
		MaxTokens: 32000,
		System: []block{
			{Type: "text", Text: "x-anthropic-billing-header: cc_version=2.1.197.123; cc_entrypoint=sdk-cli;"},
			{Type: "text", Text: "You are Claude Code, Anthropic's official CLI for Claude.", CacheControl: &cacheControl{Type: "ephemeral"}},
			{Type: "text", Text: strings.Repeat("You are an interactive CLI tool that helps users with software engineering tasks. Use the instructions below and the tools available to you to assist the user.\n\nIMPORTANT: Assist with defensive security tasks only. Refuse to create, modify, or improve code that may be used maliciously.\n", 8),
				CacheControl: &cacheControl{Type: "ephemeral"}},
		},
		Tools:             tools,
		Metadata:          map[string]string{"user_id": `{"device_id":"8f2c0a51d9e64b7c","account_uuid":"","session_id":"2b1e6a4c-7f0d-4e8b-9c3a-5d6e7f8a9b0c"}`},
		Stream:            true,
		Thinking:          map[string]string{"type": "adaptive"},
		ContextManagement: map[string][]edit{"edits": {{Type: "clear_thinking_20251015", Keep: "all"}}},
		OutputConfig:      map[string]string{"effort": "high"},
	}
	file := strings.Repeat("func main() {\n\tfmt.Println(\"hello, \\\"world\\\"\")\n\t// TODO: handle\terrors\n}\n", 12)
	for turn := 0; ; turn++ {
		id := fmt.Sprintf("toolu_01%020d", turn)
		b.Messages = append(b.Messages,
			message{Role: "user", Content: []block{{Type: "text", Text: fmt.Sprintf("<system-reminder>\nturn %d\n</system-reminder>\nPlease look at main.go and fix the \"hello\" output.", turn)}}},
			message{Role: "assistant", Content: []block{
				{Type: "text", Text: "I'll read the file first."},
				{Type: "tool_use", ID: id, Name: "Read", Input: map[string]any{"path": "/home/user/project/main.go", "limit": 200}},
			}},
			message{Role: "user", Content: []block{{Type: "tool_result", ToolUseID: id, Content: file}}},
		)
		if turn == 0 {
			b.Messages = append(b.Messages, message{Role: "system", Content: "Available agent types: general-purpose."})
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // JavaScript clients do not escape <, > and &
		if err := enc.Encode(b); err != nil {
			panic("testbody: " + err.Error()) // cannot happen: every value encodes
		}
		if buf.Len() >= MinSize {
			return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		}
	}
}
