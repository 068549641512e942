package openai

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// Message roles.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// ChatRequest is the body of POST /v1/chat/completions.
//
// Pointer fields are optional: nil leaves them out. Extra holds vendor
// fields that are not OpenAI's (Zhipu and DeepSeek "thinking", DashScope
// "enable_thinking", vLLM and Ollama "top_k"): they are written after the
// typed fields, in key order; a key that names a typed field is ignored.
// Decoding puts every unknown top-level field in Extra.
type ChatRequest struct {
	Model               string          `json:"model"`
	Messages            []Message       `json:"messages"`
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	N                   *int            `json:"n,omitempty"`
	Seed                *int64          `json:"seed,omitempty"`
	PresencePenalty     *float64        `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty,omitempty"`
	Stop                Stop            `json:"stop,omitempty"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *StreamOptions  `json:"stream_options,omitempty"`
	Tools               []Tool          `json:"tools,omitempty"`
	ToolChoice          *ToolChoice     `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      *ResponseFormat `json:"response_format,omitempty"`
	ReasoningEffort     string          `json:"reasoning_effort,omitempty"` // none|minimal|low|medium|high|xhigh
	User                string          `json:"user,omitempty"`

	Extra map[string]json.RawMessage `json:"-"`
}

// chatRequestFields is the set of JSON names of ChatRequest's typed fields.
var chatRequestFields = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[ChatRequest]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = true
		}
	}
	return m
})

// MarshalJSON writes the typed fields, then Extra (see appendChatRequest).
func (r ChatRequest) MarshalJSON() ([]byte, error) {
	return appendChatRequest(nil, &r)
}

// UnmarshalJSON decodes the typed fields and keeps the others in Extra.
func (r *ChatRequest) UnmarshalJSON(b []byte) error {
	type plain ChatRequest
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	known := chatRequestFields()
	for k := range all {
		if known[k] {
			delete(all, k)
		}
	}
	if len(all) == 0 {
		all = nil
	}
	*r = ChatRequest(p)
	r.Extra = all
	return nil
}

// Message is one entry of "messages", and also the message of an answer's
// choice. Which fields apply depends on Role:
//
//   - system, developer: Content (text).
//   - user: Content (text, or text/image_url/file/input_audio parts), Name.
//   - assistant: Content (may be nil when ToolCalls is set), ToolCalls,
//     Refusal, and the vendor reasoning fields (DeepSeek wants
//     ReasoningContent sent back on tool turns in thinking mode).
//   - tool: ToolCallID and Content (text only).
//
// A nil Content is written as "content":null, which OpenAI accepts for an
// assistant message with tool calls.
type Message struct {
	Role       string     `json:"role"`
	Content    *Content   `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	Refusal    *string    `json:"refusal,omitempty"`
	// ReasoningContent is the reasoning text of DeepSeek, Zhipu, DashScope,
	// Moonshot; Reasoning is vLLM's (since late 2025) and OpenRouter's.
	ReasoningContent *string `json:"reasoning_content,omitempty"`
	Reasoning        *string `json:"reasoning,omitempty"`
}

// ReasoningText returns the first non-empty reasoning field among fields
// ("reasoning_content", "reasoning"; other names are not known and give
// nothing).
func (m *Message) ReasoningText(fields []string) string {
	return reasoningText(fields, m.ReasoningContent, m.Reasoning)
}

func reasoningText(fields []string, content, reasoning *string) string {
	for _, f := range fields {
		var v *string
		switch f {
		case "reasoning_content":
			v = content
		case "reasoning":
			v = reasoning
		}
		if v != nil && *v != "" {
			return *v
		}
	}
	return ""
}

// Content is a message's content, which the API takes as a string or as an
// array of parts. With Parts nil it is plain text and marshals as the
// string Text; otherwise it marshals as the array Parts and Text is unused.
// Decoding an array always gives a non-nil Parts.
type Content struct {
	Text  string
	Parts []Part
}

// TextContent returns plain-text content.
func TextContent(s string) *Content { return &Content{Text: s} }

// PartsContent returns content made of parts.
func PartsContent(parts ...Part) *Content {
	if parts == nil {
		parts = []Part{}
	}
	return &Content{Parts: parts}
}

// JoinedText returns the text: Text, or the text parts concatenated.
func (c *Content) JoinedText() string {
	if c == nil {
		return ""
	}
	if c.Parts == nil {
		return c.Text
	}
	var sb strings.Builder
	for _, p := range c.Parts {
		if p.Type == PartText {
			sb.WriteString(p.Text)
		}
	}
	return sb.String()
}

func (c Content) MarshalJSON() ([]byte, error) {
	if c.Parts == nil {
		return jsonpeek.AppendString(make([]byte, 0, len(c.Text)+2), c.Text), nil
	}
	return marshal(c.Parts)
}

func (c *Content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var v Content
	if jsonpeek.Kind(b) == "array" {
		v.Parts = []Part{}
		if err := json.Unmarshal(b, &v.Parts); err != nil {
			return err
		}
	} else if err := textOrNull(b, &v.Text, reflect.TypeFor[Content]()); err != nil {
		return err
	}
	*c = v
	return nil
}

// Content part types.
const (
	PartText       = "text"
	PartImageURL   = "image_url"
	PartFile       = "file"
	PartInputAudio = "input_audio"
	PartRefusal    = "refusal"
)

// Part is one element of an array content.
type Part struct {
	Type       string      `json:"type"`
	Text       string      `json:"text,omitempty"`
	ImageURL   *ImageURL   `json:"image_url,omitempty"`
	File       *File       `json:"file,omitempty"`
	InputAudio *InputAudio `json:"input_audio,omitempty"`
	Refusal    string      `json:"refusal,omitempty"`
}

// TextPart returns a text part.
func TextPart(s string) Part { return Part{Type: PartText, Text: s} }

// MarshalJSON writes "text" even when empty for a text part.
func (p Part) MarshalJSON() ([]byte, error) {
	type plain Part
	if p.Type == PartText && p.Text == "" {
		return []byte(`{"type":"text","text":""}`), nil
	}
	return marshal(plain(p))
}

// ImageURL is an image_url part's image: an http(s) URL or a data URI
// ("data:image/png;base64,...").
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"` // auto|low|high
}

// File is a file part: a data URI in FileData (PDF), or an uploaded file's
// id.
type File struct {
	FileData string `json:"file_data,omitempty"`
	FileID   string `json:"file_id,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// InputAudio is an input_audio part.
type InputAudio struct {
	Data   string `json:"data"`
	Format string `json:"format"` // wav|mp3
}

// ToolCall is an assistant's call of a function, in a request's history,
// an answer, or a stream delta. In deltas only the first fragment of a
// call carries ID, Type and Function.Name; Index ties the fragments
// together (some vendors omit it).
type ToolCall struct {
	Index    *int         `json:"index,omitempty"`
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"` // "function"
	Function FunctionCall `json:"function"`
}

// FunctionCall is the function of a ToolCall. Arguments is JSON text (in
// deltas, a fragment of it).
type FunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// UnmarshalJSON accepts arguments as a JSON string (OpenAI) and also as
// an object or any other JSON value, kept as its compact JSON text: some
// OpenAI-compatible servers send the object itself. null and absent give "".
func (f *FunctionCall) UnmarshalJSON(b []byte) error {
	var w struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*f = FunctionCall{Name: w.Name}
	a := bytes.TrimSpace(w.Arguments)
	switch {
	case len(a) == 0 || isNull(a):
	case a[0] == '"':
		return unquote(a, &f.Arguments)
	default:
		var buf bytes.Buffer
		if err := json.Compact(&buf, a); err != nil {
			return err
		}
		f.Arguments = buf.String()
	}
	return nil
}

// Tool is an entry of "tools". Only function tools are typed; others
// decode with an empty Function.
type Tool struct {
	Type     string   `json:"type"` // "function"
	Function Function `json:"function"`
}

// Function is a function tool's definition. Parameters is a JSON Schema
// object.
type Function struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Tool choice modes.
const (
	ToolChoiceNone     = "none"
	ToolChoiceAuto     = "auto"
	ToolChoiceRequired = "required"
)

// ToolChoice is "tool_choice": a mode string, or an object naming the
// function to call. It marshals as Raw if set, else as
// {"type":"function","function":{"name":Function}} if Function is set,
// else as the string Mode. Decoding a string sets Mode; a function object
// sets Function; any other object (allowed_tools, custom) is kept in Raw.
type ToolChoice struct {
	Mode     string
	Function string
	Raw      json.RawMessage
}

type toolChoiceObject struct {
	Type     string `json:"type"`
	Function *struct {
		Name string `json:"name"`
	} `json:"function,omitempty"`
}

func (t ToolChoice) MarshalJSON() ([]byte, error) {
	switch {
	case t.Raw != nil:
		return t.Raw, nil
	case t.Function != "":
		o := toolChoiceObject{Type: "function"}
		o.Function = &struct {
			Name string `json:"name"`
		}{t.Function}
		return marshal(o)
	}
	return marshal(t.Mode)
}

func (t *ToolChoice) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*t = ToolChoice{}
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &t.Mode)
	}
	var o toolChoiceObject
	if err := json.Unmarshal(b, &o); err != nil {
		return typeError(b, reflect.TypeFor[ToolChoice]())
	}
	if o.Type == "function" && o.Function != nil && o.Function.Name != "" {
		t.Function = o.Function.Name
		return nil
	}
	t.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// Stop is "stop": a string or up to four strings (vendors differ). It
// marshals as an array; decoding accepts a string, an array or null.
type Stop []string

func (s *Stop) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var v Stop
	switch jsonpeek.Kind(b) {
	case "null":
	case "string":
		v = Stop{""}
		if err := unquote(b, &v[0]); err != nil {
			return err
		}
	default:
		var many []string // not a Stop: that would call this method again
		if err := json.Unmarshal(b, &many); err != nil {
			return typeError(b, reflect.TypeFor[Stop]())
		}
		v = many
	}
	*s = v
	return nil
}

// StreamOptions is "stream_options". IncludeUsage asks for a last chunk
// carrying usage (with "choices":[]).
type StreamOptions struct {
	IncludeUsage       bool  `json:"include_usage"`
	IncludeObfuscation *bool `json:"include_obfuscation,omitempty"`
}

// ResponseFormat is "response_format": type "text", "json_object" or
// "json_schema" (with JSONSchema).
type ResponseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

// JSONSchema is a json_schema response format.
type JSONSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}
