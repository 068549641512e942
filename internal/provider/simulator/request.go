package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/provider"
)

// request is the part of a Messages (or count_tokens) body the simulator
// reads (PROTOCOL.md §1); unknown fields are ignored.
type request struct {
	Model         string      `json:"model"`
	MaxTokens     *int64      `json:"max_tokens"`
	Messages      []message   `json:"messages"`
	System        content     `json:"system"`
	Tools         []tool      `json:"tools"`
	ToolChoice    *toolChoice `json:"tool_choice"`
	StopSequences []string    `json:"stop_sequences"`
	Thinking      *thinking   `json:"thinking"`
	Stream        bool        `json:"stream"`
	Metadata      *metadata   `json:"metadata"`
}

type message struct {
	Role    string  `json:"role"`
	Content content `json:"content"`
}

// content is a string or an array of content blocks.
type content struct {
	text   string
	blocks []inBlock
	isText bool
}

func (c *content) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case '"':
		c.isText = true
		if s, ok := plainString(b); ok {
			c.text = s
			return nil
		}
		return json.Unmarshal(b, &c.text)
	case '[':
		return json.Unmarshal(b, &c.blocks)
	case 'n': // null
		return nil
	}
	return errors.New("content must be a string or an array of content blocks")
}

// plainString decodes a JSON string literal that needs no unescaping (no
// backslash, no control character, valid UTF-8) without a second pass of
// encoding/json, which costs three allocations.
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	b = b[1 : len(b)-1]
	ascii := true
	for _, c := range b {
		if c < 0x20 || c == '\\' || c == '"' {
			return "", false
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	if !ascii && !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// looseContent is a block's "content": a string or blocks (tool_result,
// search_result), or something else this package does not read (the
// object of a web_search_tool_result error).
type looseContent struct{ content }

func (c *looseContent) UnmarshalJSON(b []byte) error {
	if b[0] == '"' || b[0] == '[' {
		return c.content.UnmarshalJSON(b)
	}
	return nil
}

// inBlock is an input content block (PROTOCOL.md §2); only the fields that
// carry text are read.
type inBlock struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	Thinking string          `json:"thinking"`
	Name     string          `json:"name"`
	Input    json.RawMessage `json:"input"`
	Content  looseContent    `json:"content"`
}

type tool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

// custom reports whether t is a custom tool, one the simulator can call.
func (t *tool) custom() bool {
	return (t.Type == "" || t.Type == "custom") && len(t.InputSchema) > 0 && string(t.InputSchema) != "null"
}

type toolChoice struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

type thinking struct {
	Type string `json:"type"`
}

type metadata struct {
	UserID *string `json:"user_id"`
}

// decodeRequest decodes and checks a body. A non-empty message is the
// reason for a 400.
func decodeRequest(body []byte, op provider.Op) (*request, string) {
	r := new(request)
	if err := json.Unmarshal(body, r); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, fmt.Sprintf("%s: unexpected JSON %s", te.Field, te.Value)
		}
		return nil, "invalid request body: " + strings.TrimPrefix(err.Error(), "json: ")
	}
	if op == provider.OpMessages {
		switch {
		case r.MaxTokens == nil:
			return nil, "max_tokens: Field required"
		case *r.MaxTokens < 0:
			return nil, "max_tokens: Input should be greater than or equal to 0"
		}
	}
	if r.Messages == nil {
		return nil, "messages: Field required"
	}
	if len(r.Messages) == 0 {
		return nil, "messages: at least one message is required"
	}
	for i := range r.Messages {
		switch r.Messages[i].Role {
		case "user", "assistant", "system":
		default:
			return nil, fmt.Sprintf("messages.%d.role: Input should be 'user', 'assistant' or 'system'", i)
		}
	}
	return r, ""
}

// size is the number of bytes of text in c.
func (c *content) size() int {
	n := len(c.text)
	for i := range c.blocks {
		b := &c.blocks[i]
		n += len(b.Text) + len(b.Thinking) + len(b.Name) + len(b.Input) + b.Content.size()
	}
	return n
}

// inputTokens is the simulator's estimate of the prompt's size: a token per
// four bytes of text in the system prompt, the messages and the tools.
func (r *request) inputTokens() int {
	n := r.System.size()
	for i := range r.Messages {
		n += r.Messages[i].Content.size()
	}
	for i := range r.Tools {
		t := &r.Tools[i]
		n += len(t.Name) + len(t.Description) + len(t.InputSchema)
	}
	return max(1, (n+3)/4)
}

// thinkingOn reports whether the request enables extended thinking.
func (r *request) thinkingOn() bool {
	return r.Thinking != nil && (r.Thinking.Type == "enabled" || r.Thinking.Type == "adaptive")
}

// choice is tool_choice's type, "auto" when absent.
func (r *request) choice() string {
	if r.ToolChoice == nil || r.ToolChoice.Type == "" {
		return "auto"
	}
	return r.ToolChoice.Type
}

// pickTool is the tool a tool call uses: tool_choice's, else the first
// custom tool; nil when there is none.
func (r *request) pickTool() *tool {
	var first *tool
	for i := range r.Tools {
		t := &r.Tools[i]
		if !t.custom() {
			continue
		}
		if r.choice() == "tool" && t.Name == r.ToolChoice.Name {
			return t
		}
		if first == nil {
			first = t
		}
	}
	return first
}

// lastUser is the last message from the user, nil if none.
func (r *request) lastUser() *message {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return &r.Messages[i]
		}
	}
	return nil
}

// joinText is c's text: the string, or the text blocks joined by spaces.
func (c *content) joinText() string {
	if c.isText {
		return c.text
	}
	var parts []string
	for i := range c.blocks {
		if c.blocks[i].Type == "text" {
			parts = append(parts, c.blocks[i].Text)
		}
	}
	return strings.Join(parts, " ")
}

// said is what the user typed in c: the last text block that is not a
// client's injected context (Claude Code puts <system-reminder> blocks
// before the prompt), else all the text.
func (c *content) said() string {
	for i := len(c.blocks) - 1; i >= 0; i-- {
		b := &c.blocks[i]
		if b.Type == "text" && !strings.HasPrefix(strings.TrimSpace(b.Text), "<system-reminder>") {
			return b.Text
		}
	}
	return c.joinText()
}

// toolResult returns the first tool_result block in c.
func (c *content) toolResult() (*inBlock, bool) {
	for i := range c.blocks {
		if c.blocks[i].Type == "tool_result" {
			return &c.blocks[i], true
		}
	}
	return nil, false
}
