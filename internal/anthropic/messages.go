package anthropic

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// This file holds the Messages API request and response types, for the
// code that has to decode a request or build an answer (the translators);
// the passthrough path never decodes bodies (see Inspect).
//
// Decoding is tolerant: unknown fields are ignored, and unknown content
// block and tool types are kept whole in a Raw field, so that a new API
// feature never makes a body undecodable. Encoding writes only the fields
// that apply to a block's type.

// MessageRequest is the body of POST /v1/messages (PROTOCOL.md §1). Fields
// the gateway does not translate (cache_control, context_management,
// service_tier, container, speed, mcp_servers, inference_geo, ...) are not
// represented: decoding ignores them.
type MessageRequest struct {
	Model string `json:"model"`
	// MaxTokens is required by the API; 0 is allowed ("populate the prompt
	// cache without generating"). Absent decodes as 0.
	MaxTokens     int            `json:"max_tokens"`
	Messages      []MessageParam `json:"messages"`
	System        *Content       `json:"system,omitempty"`
	StopSequences []string       `json:"stop_sequences,omitempty"`
	Temperature   *float64       `json:"temperature,omitempty"`
	TopP          *float64       `json:"top_p,omitempty"`
	TopK          *int           `json:"top_k,omitempty"`
	Stream        bool           `json:"stream,omitempty"`
	Tools         []Tool         `json:"tools,omitempty"`
	ToolChoice    *ToolChoice    `json:"tool_choice,omitempty"`
	Thinking      *Thinking      `json:"thinking,omitempty"`
	OutputConfig  *OutputConfig  `json:"output_config,omitempty"`
	Metadata      *Metadata      `json:"metadata,omitempty"`
}

// Message roles. RoleSystem inside messages is the beta
// "mid-conversation-system-2026-04-07", which Claude Code sends.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleSystem    = "system"
)

// MessageParam is one entry of a request's "messages".
type MessageParam struct {
	Role    string  `json:"role"`
	Content Content `json:"content"`
}

// Content is a message's (or the system prompt's) content: a string or an
// array of blocks. With Blocks nil it is the string Text; otherwise it is
// the array Blocks and Text is unused. Decoding an array always gives a
// non-nil Blocks, and null gives the empty string.
type Content struct {
	Text   string
	Blocks []ContentBlock
}

// AsBlocks returns the content as blocks: Blocks, or one text block for a
// non-empty Text (none for an empty one: the API rejects empty text blocks).
func (c Content) AsBlocks() []ContentBlock {
	if c.Blocks != nil {
		return c.Blocks
	}
	if c.Text == "" {
		return nil
	}
	return []ContentBlock{{Type: BlockText, Text: c.Text}}
}

func (c Content) MarshalJSON() ([]byte, error) {
	if c.Blocks == nil {
		return marshal(c.Text)
	}
	return marshal(c.Blocks)
}

func (c *Content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*c = Content{}
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		if s, err := jsonpeek.String(b); err == nil && !slowDecode {
			c.Text = s
			return nil
		}
		return json.Unmarshal(b, &c.Text)
	case len(b) > 0 && b[0] == '[':
		var blocks []ContentBlock
		var ok bool
		var err error
		if !slowDecode {
			blocks, ok, err = decodeBlocks(b)
		}
		if !ok {
			blocks = []ContentBlock{}
			err = json.Unmarshal(b, &blocks)
		}
		if err != nil {
			return err
		}
		c.Blocks = blocks
		return nil
	}
	// A type error, so that encoding/json adds the field's path.
	return &json.UnmarshalTypeError{Value: jsonpeek.Kind(b), Type: reflect.TypeFor[Content]()}
}

// Content block types the gateway understands. Others (server tool
// results, search_result, container_upload, ...) decode with only Type and
// Raw set.
const (
	BlockText             = "text"
	BlockImage            = "image"
	BlockDocument         = "document"
	BlockToolUse          = "tool_use"
	BlockServerToolUse    = "server_tool_use"
	BlockToolResult       = "tool_result"
	BlockThinking         = "thinking"
	BlockRedactedThinking = "redacted_thinking"
)

// ContentBlock is one content block, of a request or of an answer. Type
// says which fields apply:
//
//   - text: Text, Citations.
//   - image: Source (base64, url or file).
//   - document: Source (base64 PDF, text, content, url or file), Title,
//     Context, Citations.
//   - tool_use, server_tool_use: ID, Name, Input (a JSON object).
//   - tool_result: ToolUseID, Content (string or text/image/document/...
//     blocks; nil when absent), IsError.
//   - thinking: Thinking, Signature.
//   - redacted_thinking: Data.
//   - any other type: Raw, the block as received, which is also what it
//     marshals as.
//
// CacheControl is kept on every known type.
type ContentBlock struct {
	Type string `json:"type"`

	Text      string          `json:"text,omitempty"`
	Citations json.RawMessage `json:"citations,omitempty"`

	Source  *Source `json:"source,omitempty"`
	Title   string  `json:"title,omitempty"`
	Context string  `json:"context,omitempty"`

	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`

	ToolUseID string   `json:"tool_use_id,omitempty"`
	Content   *Content `json:"content,omitempty"`
	IsError   bool     `json:"is_error,omitempty"`

	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`

	Data string `json:"data,omitempty"`

	CacheControl json.RawMessage `json:"cache_control,omitempty"`

	// Raw is the whole block of an unknown type, as received.
	Raw json.RawMessage `json:"-"`
}

// Source is an image's or a document's source. Type says which fields
// apply: "base64" (MediaType, Data), "url" (URL), "file" (FileID), "text"
// (MediaType "text/plain", Data), "content" (Content: a string or
// text/image blocks).
type Source struct {
	Type      string   `json:"type"`
	MediaType string   `json:"media_type,omitempty"`
	Data      string   `json:"data,omitempty"`
	URL       string   `json:"url,omitempty"`
	FileID    string   `json:"file_id,omitempty"`
	Content   *Content `json:"content,omitempty"`
}

// knownBlock reports whether ContentBlock types t.
func knownBlock(t string) bool {
	switch t {
	case BlockText, BlockImage, BlockDocument, BlockToolUse, BlockServerToolUse,
		BlockToolResult, BlockThinking, BlockRedactedThinking:
		return true
	}
	return false
}

func (b *ContentBlock) UnmarshalJSON(data []byte) error {
	if !slowDecode && b.decodeFast(data) {
		return nil
	}
	type plain ContentBlock
	var p plain
	err := json.Unmarshal(data, &p)
	if err != nil || !knownBlock(p.Type) {
		// An unknown type may use known names for other shapes (a
		// search_result's source is a string): keep it whole.
		var t struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(data, &t) != nil || knownBlock(t.Type) {
			return err
		}
		*b = ContentBlock{Type: t.Type, Raw: kept(data)}
		return nil
	}
	*b = ContentBlock(p)
	return nil
}

// MarshalJSON writes the fields of b's type (see ContentBlock), in the
// API's order.
func (b ContentBlock) MarshalJSON() ([]byte, error) {
	cc := b.CacheControl
	switch b.Type {
	case BlockText:
		return marshal(struct {
			Type         string          `json:"type"`
			Text         string          `json:"text"`
			Citations    json.RawMessage `json:"citations,omitempty"`
			CacheControl json.RawMessage `json:"cache_control,omitempty"`
		}{b.Type, b.Text, b.Citations, cc})
	case BlockImage:
		return marshal(struct {
			Type         string          `json:"type"`
			Source       *Source         `json:"source"`
			CacheControl json.RawMessage `json:"cache_control,omitempty"`
		}{b.Type, b.Source, cc})
	case BlockDocument:
		return marshal(struct {
			Type         string          `json:"type"`
			Source       *Source         `json:"source"`
			Title        string          `json:"title,omitempty"`
			Context      string          `json:"context,omitempty"`
			Citations    json.RawMessage `json:"citations,omitempty"`
			CacheControl json.RawMessage `json:"cache_control,omitempty"`
		}{b.Type, b.Source, b.Title, b.Context, b.Citations, cc})
	case BlockToolUse, BlockServerToolUse:
		input := b.Input
		if len(input) == 0 {
			input = json.RawMessage("{}")
		}
		return marshal(struct {
			Type         string          `json:"type"`
			ID           string          `json:"id"`
			Name         string          `json:"name"`
			Input        json.RawMessage `json:"input"`
			CacheControl json.RawMessage `json:"cache_control,omitempty"`
		}{b.Type, b.ID, b.Name, input, cc})
	case BlockToolResult:
		return marshal(struct {
			Type         string          `json:"type"`
			ToolUseID    string          `json:"tool_use_id"`
			Content      *Content        `json:"content,omitempty"`
			IsError      bool            `json:"is_error,omitempty"`
			CacheControl json.RawMessage `json:"cache_control,omitempty"`
		}{b.Type, b.ToolUseID, b.Content, b.IsError, cc})
	case BlockThinking:
		return marshal(struct {
			Type      string `json:"type"`
			Thinking  string `json:"thinking"`
			Signature string `json:"signature"`
		}{b.Type, b.Thinking, b.Signature})
	case BlockRedactedThinking:
		return marshal(struct {
			Type string `json:"type"`
			Data string `json:"data"`
		}{b.Type, b.Data})
	}
	if b.Raw != nil {
		return b.Raw, nil
	}
	return marshal(struct {
		Type string `json:"type"`
	}{b.Type})
}

// Tool is an entry of a request's "tools". A custom tool (Type "" or
// "custom") has Name, Description and InputSchema (a JSON Schema object).
// A server or versioned tool ("web_search_20250305", "bash_20250124",
// ...) is kept whole in Raw, with Type and Name set when they decode.
type Tool struct {
	Type         string          `json:"type,omitempty"`
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema,omitempty"`
	Strict       *bool           `json:"strict,omitempty"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`

	Raw json.RawMessage `json:"-"`
}

// IsCustom reports whether t is a custom (client-side) tool.
func (t *Tool) IsCustom() bool { return t.Type == "" || t.Type == "custom" }

func (t *Tool) UnmarshalJSON(data []byte) error {
	if !slowDecode && t.decodeFast(data) {
		return nil
	}
	type plain Tool
	var p plain
	err := json.Unmarshal(data, &p)
	if err == nil && (p.Type == "" || p.Type == "custom") {
		*t = Tool(p)
		return nil
	}
	var h struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if json.Unmarshal(data, &h) != nil || h.Type == "" || h.Type == "custom" {
		return err
	}
	*t = Tool{Type: h.Type, Name: h.Name, Raw: kept(data)}
	return nil
}

func (t Tool) MarshalJSON() ([]byte, error) {
	if !t.IsCustom() && t.Raw != nil {
		return t.Raw, nil
	}
	type plain Tool
	return marshal(plain(t))
}

// ToolChoice is "tool_choice": Type "auto", "any", "tool" (with Name) or
// "none".
type ToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// Thinking is "thinking": Type "enabled" (BudgetTokens ≥ 1024),
// "adaptive", "disabled", or "between_tools" (API 2026-10-21).
type Thinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens,omitempty"`
	Display      string `json:"display,omitempty"` // summarized|omitted
}

// OutputConfig is "output_config".
type OutputConfig struct {
	Effort string        `json:"effort,omitempty"` // low|medium|high|xhigh|max
	Format *OutputFormat `json:"format,omitempty"`
}

// OutputFormat is output_config.format: Type "json_schema" with Schema.
type OutputFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema,omitempty"`
}

// Metadata is "metadata". Claude Code's UserID is itself a JSON-encoded
// string ({"device_id":...,"session_id":...}).
type Metadata struct {
	UserID *string `json:"user_id,omitempty"`
}

// Stop reasons of a Message.
const (
	StopEndTurn      = "end_turn"
	StopMaxTokens    = "max_tokens"
	StopStopSequence = "stop_sequence"
	StopToolUse      = "tool_use"
	StopPauseTurn    = "pause_turn"
	StopRefusal      = "refusal"
)

// Message is the answer of POST /v1/messages (PROTOCOL.md §3), and the
// "message" of a message_start event, where StopReason is nil and Content
// empty. Content marshals as [] when nil.
type Message struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"` // "message"
	Role         string         `json:"role"` // "assistant"
	Model        string         `json:"model"`
	Content      []ContentBlock `json:"content"`
	StopReason   *string        `json:"stop_reason"`
	StopSequence *string        `json:"stop_sequence"`
	Usage        Usage          `json:"usage"`
}

func (m Message) MarshalJSON() ([]byte, error) {
	type plain Message
	if m.Content == nil {
		m.Content = []ContentBlock{}
	}
	return marshal(plain(m))
}

// Usage is a Message's usage object. InputTokens excludes the tokens read
// from and written to the cache. Decoding tolerates null counts and the
// fields not listed here (server_tool_use, inference_geo, speed, ...).
type Usage struct {
	InputTokens              int64          `json:"input_tokens"`
	CacheCreationInputTokens int64          `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64          `json:"cache_read_input_tokens"`
	CacheCreation            *CacheCreation `json:"cache_creation,omitempty"`
	OutputTokens             int64          `json:"output_tokens"`
	ServiceTier              string         `json:"service_tier,omitempty"`
}

// CacheCreation splits cache writes by time to live.
type CacheCreation struct {
	Ephemeral5mInputTokens int64 `json:"ephemeral_5m_input_tokens"`
	Ephemeral1hInputTokens int64 `json:"ephemeral_1h_input_tokens"`
}

// Totals returns u's counts.
func (u Usage) Totals() Totals {
	return Totals{Input: u.InputTokens, Output: u.OutputTokens, CacheRead: u.CacheReadInputTokens, CacheCreation: u.CacheCreationInputTokens}
}

// UsageOf returns the usage object for t.
func UsageOf(t Totals) Usage {
	return Usage{InputTokens: t.Input, OutputTokens: t.Output, CacheReadInputTokens: t.CacheRead, CacheCreationInputTokens: t.CacheCreation}
}

// Marshal encodes v as JSON like json.Marshal, without escaping '<', '>'
// and '&' and without a trailing newline: bodies go to APIs, not into HTML,
// and prompts are full of tags. (json.Marshal would escape them even in
// what the custom marshalers here return.)
func Marshal(v any) ([]byte, error) { return marshal(v) }

// marshal is Marshal, for the custom marshalers above.
func marshal(v any) ([]byte, error) { return jsonpeek.Marshal(v) }

// Fast decoding.
//
// encoding/json validates a whole document before it calls any
// UnmarshalJSON method, and each json.Unmarshal inside one validates its
// input again; with Content, ContentBlock and Tool each calling it (and
// ContentBlock and Tool twice), a request body was scanned several times.
// The fast paths below decode the common shapes with jsonpeek instead, and
// give up (returning false) on anything whose result or error they might
// not reproduce exactly: a duplicate member, a null, a value of the wrong
// kind, a key that encoding/json might match to a field case-insensitively.
// The caller then takes the encoding/json path, which decides.

// slowDecode turns the fast paths off, for tests comparing them with
// encoding/json.
var slowDecode bool

// decodeBlocks decodes the JSON array b (trimmed, valid JSON, as
// encoding/json hands to UnmarshalJSON) element by element, as
// json.Unmarshal into a []ContentBlock would: an element's error is
// returned as is, since the slice adds no context to it. ok is false if b
// does not look like an array, and the caller must decode it otherwise.
func decodeBlocks(b []byte) (blocks []ContentBlock, ok bool, err error) {
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, false, nil
	}
	blocks = []ContentBlock{}
	body := b[1 : len(b)-1]
	depth, start := 0, -1
	for i := 0; i < len(body); i++ {
		switch c := body[i]; c {
		case ' ', '\t', '\n', '\r':
		case '"':
			if start < 0 {
				start = i
			}
			// Skip the string.
			i++
			for {
				j := bytes.IndexAny(body[i:], `"\`)
				if j < 0 {
					return nil, false, nil
				}
				i += j
				if body[i] == '"' {
					break
				}
				i += 2
				if i >= len(body) {
					return nil, false, nil
				}
			}
		case '{', '[':
			if start < 0 {
				start = i
			}
			depth++
		case '}', ']':
			depth--
			if depth < 0 {
				return nil, false, nil
			}
		case ',':
			if depth == 0 {
				if start < 0 {
					return nil, false, nil
				}
				blocks = append(blocks, ContentBlock{})
				if err := blocks[len(blocks)-1].UnmarshalJSON(bytes.TrimRight(body[start:i], " \t\n\r")); err != nil {
					return nil, true, err
				}
				start = -1
			}
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if depth != 0 {
		return nil, false, nil
	}
	if start >= 0 {
		blocks = append(blocks, ContentBlock{})
		if err := blocks[len(blocks)-1].UnmarshalJSON(bytes.TrimRight(body[start:], " \t\n\r")); err != nil {
			return nil, true, err
		}
	} else if len(blocks) > 0 {
		return nil, false, nil // trailing comma
	}
	return blocks, true, nil
}

// plainKey reports whether encoding/json cannot match key to a field other
// than by exact name: the field names here are lower-case ASCII, and
// encoding/json folds case (with K and ſ folding to ASCII letters).
func plainKey(key []byte) bool {
	for _, c := range key {
		if c >= 0x80 || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// decodeFast is ContentBlock.UnmarshalJSON's fast path (see above).
func (b *ContentBlock) decodeFast(data []byte) bool {
	var p ContentBlock
	if !decodeFields(data, []field{
		{"type", &p.Type}, {"text", &p.Text}, {"cache_control", &p.CacheControl},
		{"citations", &p.Citations}, {"source", &p.Source}, {"title", &p.Title},
		{"context", &p.Context}, {"id", &p.ID}, {"name", &p.Name}, {"input", &p.Input},
		{"tool_use_id", &p.ToolUseID}, {"content", &p.Content}, {"is_error", &p.IsError},
		{"thinking", &p.Thinking}, {"signature", &p.Signature}, {"data", &p.Data},
	}) {
		return false
	}
	if !knownBlock(p.Type) {
		p = ContentBlock{Type: p.Type, Raw: kept(data)}
	}
	*b = p
	return true
}

// decodeFast decodes the JSON object data into s, which must be zero, as
// json.Unmarshal would; false when it gives up, leaving s in any state.
func (s *Source) decodeFast(data []byte) bool {
	if !decodeFields(data, []field{
		{"type", &s.Type}, {"media_type", &s.MediaType}, {"data", &s.Data},
		{"url", &s.URL}, {"file_id", &s.FileID}, {"content", &s.Content},
	}) {
		*s = Source{}
		return false
	}
	return true
}

// decodeFast is Tool.UnmarshalJSON's fast path (see above).
func (t *Tool) decodeFast(data []byte) bool {
	var p Tool
	if !decodeFields(data, []field{
		{"type", &p.Type}, {"name", &p.Name}, {"description", &p.Description},
		{"input_schema", &p.InputSchema}, {"strict", &p.Strict}, {"cache_control", &p.CacheControl},
	}) {
		return false
	}
	if !p.IsCustom() {
		p = Tool{Type: p.Type, Name: p.Name, Raw: kept(data)}
	}
	*t = p
	return true
}

// kept is data, a member of a type kept whole, as Raw keeps it.
func kept(data []byte) json.RawMessage {
	return append(json.RawMessage(nil), bytes.TrimSpace(data)...)
}

// A field is a member a fast path decodes: its key, and where its value
// goes, whose type says what the value may be (see decodeValue).
type field struct {
	key string
	dst any
}

// decodeFields walks the JSON object data, decoding each member whose key
// is one of fields' into its dst: false when a member fails, comes twice
// (encoding/json would take the last; the slow path does), or has another
// key that encoding/json might match to a field case-insensitively.
// fields holds at most 32 (the bits of seen).
func decodeFields(data []byte, fields []field) bool {
	var seen uint32 // bit i: fields[i] was seen
	ok := true
	err := jsonpeek.Object(data, func(key []byte, s, e int) bool {
		i := 0
		for i < len(fields) && string(key) != fields[i].key {
			i++
		}
		switch {
		case i == len(fields):
			ok = plainKey(key)
		case seen&(1<<i) != 0:
			ok = false
		default:
			seen |= 1 << i
			ok = decodeValue(data[s:e], fields[i].dst)
		}
		return ok
	})
	return err == nil && ok
}

// decodeValue decodes the JSON value v into dst, as encoding/json would;
// false for a value it leaves to the slow path: a null, a value of the
// wrong kind, a content or source it cannot decode.
func decodeValue(v []byte, dst any) bool {
	switch d := dst.(type) {
	case *string:
		if v[0] != '"' {
			return false
		}
		s, err := jsonpeek.String(v)
		*d = s
		return err == nil
	case *json.RawMessage:
		if v[0] == 'n' {
			return false
		}
		*d = append(json.RawMessage(nil), v...)
		return true
	case *bool:
		*d = string(v) == "true"
		return *d || string(v) == "false"
	case **bool:
		b := new(bool)
		*d = b
		return decodeValue(v, b)
	case **Content:
		if v[0] != '"' && v[0] != '[' {
			return false
		}
		*d = new(Content)
		return (*d).UnmarshalJSON(v) == nil
	case **Source:
		if v[0] != '{' {
			return false
		}
		*d = new(Source)
		return (*d).decodeFast(v) || json.Unmarshal(v, *d) == nil
	}
	panic("anthropic: decodeValue: unexpected destination")
}
