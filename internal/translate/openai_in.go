package translate

// OpenAI Chat Completions clients on Anthropic-format upstreams: the
// request, the answer, errors and the stream. See FromOpenAIRequest for the
// request mapping and what is dropped.

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

// OpenAIRequestInfo is what translating an OpenAI request learned that
// translating its answer needs.
type OpenAIRequestInfo struct {
	Model        string // the model the client asked for; answers echo it
	Stream       bool   // the client asked for a stream
	IncludeUsage bool   // stream_options.include_usage: end the stream with a usage chunk
	// Created is the "created" time of the answer, in Unix seconds. The
	// caller may set it (tests do); when it is 0 the answer's translation
	// uses time.Now.
	Created int64
	// Thinking: the Anthropic request asks for extended thinking (from
	// reasoning_effort).
	Thinking bool
}

// OpenAI's reasoning_effort as an Anthropic thinking budget. Anthropic's
// minimum budget is 1024; "none" asks for no thinking.
var oiEffortBudget = map[string]int64{
	"minimal": 1024,
	"low":     2048,
	"medium":  8192,
	"high":    24576,
	"xhigh":   32768,
	"max":     32768,
}

const (
	// oiDefaultMaxTokens is max_tokens when the client sets neither
	// max_completion_tokens nor max_tokens. OpenAI lets the model run to the
	// context limit; Anthropic requires a value.
	oiDefaultMaxTokens = 4096
	// oiMinBudget is Anthropic's smallest thinking budget.
	oiMinBudget = 1024
	// oiAnswerReserve is what a thinking budget leaves of the client's
	// max_tokens for the answer itself.
	oiAnswerReserve = 1024
)

// Anthropic request body, as FromOpenAIRequest writes it. Field order is
// the order of the output.
type oiAnthropicRequest struct {
	Model         string          `json:"model"`
	MaxTokens     int64           `json:"max_tokens"`
	System        string          `json:"system,omitempty"`
	Messages      []oiTurn        `json:"messages"`
	Tools         []oiTool        `json:"tools,omitempty"`
	ToolChoice    *oiToolChoice   `json:"tool_choice,omitempty"`
	Thinking      *oiThinking     `json:"thinking,omitempty"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Metadata      *oiMetadata     `json:"metadata,omitempty"`
	OutputConfig  *oiOutputConfig `json:"output_config,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
}

type oiTurn struct {
	Role    string    `json:"role"`
	Content []oiBlock `json:"content"`
	results []oiBlock // tool_result blocks of a user turn being built
}

// oiBlock is an Anthropic content block of any of the kinds written here.
type oiBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"` // text blocks are never empty: empty texts are dropped
	Source    *oiSource       `json:"source,omitempty"`
	Title     string          `json:"title,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   any             `json:"content,omitempty"` // tool_result: string or []oiBlock
}

type oiSource struct {
	Type      string `json:"type"` // base64 | url
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type oiTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type oiToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

type oiThinking struct {
	Type         string `json:"type"`
	BudgetTokens int64  `json:"budget_tokens"`
}

type oiMetadata struct {
	UserID string `json:"user_id"`
}

type oiOutputConfig struct {
	Format oiFormat `json:"format"`
}

type oiFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema"`
}

// OpenAI request parts, decoded one message at a time.
type oiInMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []oiInToolCall  `json:"tool_calls"`
	ToolCallID *string         `json:"tool_call_id"`
	Refusal    *string         `json:"refusal"`
	// FunctionCall is the deprecated single call; refused.
	FunctionCall json.RawMessage `json:"function_call"`
}

type oiInToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

type oiInPart struct {
	Type     string          `json:"type"`
	Text     *string         `json:"text"`
	Refusal  *string         `json:"refusal"`
	ImageURL json.RawMessage `json:"image_url"`
	File     *struct {
		FileData string `json:"file_data"`
		FileID   string `json:"file_id"`
		Filename string `json:"filename"`
	} `json:"file"`
}

type oiInTool struct {
	Type     string `json:"type"`
	Function *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

// oiFields are the top-level request members FromOpenAIRequest reads, as
// their raw values. Any other member is dropped.
type oiFields struct {
	model, messages, maxTokens, maxCompletionTokens, temperature, topP, stop, n,
	stream, streamOptions, tools, toolChoice, parallelToolCalls, user, safetyIdentifier,
	reasoningEffort, responseFormat, functions, functionCall []byte
}

func (f *oiFields) slot(key string) *[]byte {
	switch key {
	case "model":
		return &f.model
	case "messages":
		return &f.messages
	case "max_tokens":
		return &f.maxTokens
	case "max_completion_tokens":
		return &f.maxCompletionTokens
	case "temperature":
		return &f.temperature
	case "top_p":
		return &f.topP
	case "stop":
		return &f.stop
	case "n":
		return &f.n
	case "stream":
		return &f.stream
	case "stream_options":
		return &f.streamOptions
	case "tools":
		return &f.tools
	case "tool_choice":
		return &f.toolChoice
	case "parallel_tool_calls":
		return &f.parallelToolCalls
	case "user":
		return &f.user
	case "safety_identifier":
		return &f.safetyIdentifier
	case "reasoning_effort":
		return &f.reasoningEffort
	case "response_format":
		return &f.responseFormat
	case "functions":
		return &f.functions
	case "function_call":
		return &f.functionCall
	}
	return nil
}

// oiErr returns a client error about a field.
func oiErr(field, msg string) error {
	if field == "" {
		return &Error{Msg: msg}
	}
	return &Error{Msg: field + ": " + msg}
}

// oiNull reports whether a member is absent or null; OpenAI treats an
// explicit null as "not given".
func oiNull(v []byte) bool { return v == nil || string(v) == "null" }

// oiDecode decodes v into dst and words a failure for the API user.
func oiDecode(field string, v []byte, dst any) error {
	err := json.Unmarshal(v, dst)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			field += "." + te.Field
		}
		return oiErr(field, "expected "+oiKind(te.Type)+", got "+te.Value)
	}
	return oiErr(field, "invalid value")
}

// oiKind names the JSON kind that decodes into t.
func oiKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		if t == reflect.TypeFor[json.RawMessage]() {
			return "a JSON value"
		}
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another type"
}

// oiInt decodes a non-negative integer (1e3 and 100.0 count as integers).
func oiInt(field string, v []byte) (int64, error) {
	var f float64
	if err := oiDecode(field, v, &f); err != nil {
		return 0, err
	}
	if f != math.Trunc(f) || f < 0 || f > 1<<40 {
		return 0, oiErr(field, "must be a non-negative integer")
	}
	return int64(f), nil
}

// oiNumber decodes a number.
func oiNumber(field string, v []byte) (float64, error) {
	var f float64
	err := oiDecode(field, v, &f)
	return f, err
}

// FromOpenAIRequest turns an OpenAI Chat Completions request body into an
// Anthropic Messages request body. Errors the client must fix are *Error
// (the caller answers 400 invalid_request_error with the message).
//
// Mapping:
//   - system and developer messages, wherever they are, become the top-level
//     system prompt, their texts joined with "\n\n" in order (Anthropic has
//     no mid-conversation system message on every model).
//   - user content: a string or text parts → text blocks; image_url with a
//     base64 data URI → a base64 image (jpeg, png, gif, webp), with an
//     http(s) URL → a url image; a file part with a PDF data URI → a
//     document. Audio, file ids and other parts are refused (400).
//   - assistant content (text and refusal parts, and the refusal field) →
//     text blocks, tool_calls → tool_use blocks whose input is the parsed
//     arguments (an empty string counts as {}; anything but a JSON object is
//     refused). reasoning_content in history is dropped: Anthropic needs a
//     signature to take thinking back.
//   - tool messages → tool_result blocks in a user turn. Turns of the same
//     role in a row merge into one, and in a user turn the tool_result
//     blocks go first (Anthropic requires it), keeping their order.
//     Empty and all-whitespace texts are dropped (Anthropic refuses them),
//     and a message left empty with them; a final assistant message (a
//     prefill) loses its trailing whitespace, which Anthropic refuses too.
//   - tools[].function → {name, description, input_schema: parameters};
//     parameters default to {"type":"object"}, and get "type":"object" if
//     they lack a type. strict is dropped.
//   - tool_choice none/auto/required/{function:{name}} → none/auto/any/tool;
//     parallel_tool_calls:false → disable_parallel_tool_use:true (on auto
//     when tool_choice is absent).
//   - max_completion_tokens, else max_tokens → max_tokens; absent: 4096
//     (oiDefaultMaxTokens), since Anthropic requires it.
//   - temperature is clamped into Anthropic's [0, 1] (OpenAI's range is
//     [0, 2]; values above 1 become 1); top_p is clamped into [0, 1].
//   - stop (a string or an array) → stop_sequences, without the empty and
//     all-whitespace ones, which Anthropic refuses; user, else
//     safety_identifier → metadata.user_id; stream as is;
//     stream_options.include_usage is kept in the info.
//   - reasoning_effort → thinking {type:"enabled", budget_tokens}: minimal
//     1024, low 2048, medium 8192, high 24576, xhigh and max 32768; none:
//     no thinking. Without a max_tokens the default becomes budget + 4096.
//     With one, max_tokens stays the client's limit (OpenAI counts
//     reasoning inside max_completion_tokens, as Anthropic counts thinking
//     inside max_tokens) and the budget shrinks to leave 1024 tokens of it
//     for the answer; if that leaves less than Anthropic's minimum budget
//     (1024), thinking is left out. It is also left out when the last
//     assistant turn called tools: Anthropic then requires that turn to
//     start with its signed thinking block, which an OpenAI client cannot
//     send back. With thinking on, temperature is dropped and top_p is kept
//     only at 0.95 or more (Anthropic refuses other values with thinking).
//   - response_format json_schema → output_config.format; json_object and
//     text are dropped (json_object has no exact Anthropic equivalent; the
//     OpenAI API itself requires the prompt to ask for JSON).
//   - n other than 1, the deprecated functions/function_call and role
//     "function", custom tools and allowed_tools tool choices are refused.
//   - Every other field (seed, logprobs, penalties, logit_bias, metadata,
//     store, service_tier, prompt_cache_key, modalities, audio, message
//     names, ...) is dropped.
func FromOpenAIRequest(body []byte) ([]byte, *OpenAIRequestInfo, error) {
	var f oiFields
	var dup string
	err := jsonpeek.Object(body, func(key []byte, start, end int) bool {
		p := f.slot(string(key))
		if p == nil {
			return true
		}
		if *p != nil && dup == "" {
			dup = string(key)
		}
		*p = body[start:end]
		return true
	})
	if err != nil {
		msg := err.Error()
		var se *jsonpeek.SyntaxError
		if errors.As(err, &se) {
			msg = se.Msg + " at offset " + strconv.Itoa(se.Offset)
		}
		return nil, nil, oiErr("", "request body is not a JSON object: "+msg)
	}
	if dup != "" {
		return nil, nil, oiErr(dup, "duplicate key")
	}

	info := &OpenAIRequestInfo{}
	req := oiAnthropicRequest{}

	if oiNull(f.model) {
		return nil, nil, oiErr("model", "field required")
	}
	if err := oiDecode("model", f.model, &req.Model); err != nil {
		return nil, nil, err
	}
	if req.Model == "" {
		return nil, nil, oiErr("model", "must not be empty")
	}
	info.Model = req.Model

	if !oiNull(f.functions) || !oiNull(f.functionCall) {
		return nil, nil, oiErr("functions", "the deprecated functions and function_call are not supported; use tools and tool_choice")
	}
	if !oiNull(f.n) {
		n, err := oiInt("n", f.n)
		if err != nil {
			return nil, nil, err
		}
		if n != 1 {
			return nil, nil, oiErr("n", "only 1 choice is supported")
		}
	}
	if !oiNull(f.stream) {
		if err := oiDecode("stream", f.stream, &req.Stream); err != nil {
			return nil, nil, err
		}
		info.Stream = req.Stream
	}
	if !oiNull(f.streamOptions) {
		var so struct {
			IncludeUsage *bool `json:"include_usage"`
		}
		if err := oiDecode("stream_options", f.streamOptions, &so); err != nil {
			return nil, nil, err
		}
		info.IncludeUsage = req.Stream && so.IncludeUsage != nil && *so.IncludeUsage
	}

	// Messages.
	if oiNull(f.messages) {
		return nil, nil, oiErr("messages", "field required")
	}
	msgs, err := oiMessages(f.messages)
	if err != nil {
		return nil, nil, err
	}
	var system []string
	for i := range msgs {
		m := &msgs[i]
		field := "messages[" + strconv.Itoa(i) + "]"
		switch m.Role {
		case "system", "developer":
			texts, err := oiTexts(field+".content", m.Content)
			if err != nil {
				return nil, nil, err
			}
			for _, t := range texts {
				if oiBlank(t) {
					continue
				}
				system = append(system, t)
			}
		case "user":
			blocks, err := oiUserContent(field+".content", m.Content, false)
			if err != nil {
				return nil, nil, err
			}
			req.Messages = oiAppendTurn(req.Messages, "user", blocks)
		case "assistant":
			if !oiNull(m.FunctionCall) {
				return nil, nil, oiErr(field+".function_call", "the deprecated function_call is not supported; use tool_calls")
			}
			blocks, err := oiAssistantContent(field, m)
			if err != nil {
				return nil, nil, err
			}
			req.Messages = oiAppendTurn(req.Messages, "assistant", blocks)
		case "tool":
			if m.ToolCallID == nil || *m.ToolCallID == "" {
				return nil, nil, oiErr(field+".tool_call_id", "field required")
			}
			res := oiBlock{Type: "tool_result", ToolUseID: *m.ToolCallID}
			content, err := oiUserContent(field+".content", m.Content, true)
			if err != nil {
				return nil, nil, err
			}
			switch {
			case len(content) == 1 && content[0].Type == "text":
				res.Content = content[0].Text
			case len(content) > 0:
				res.Content = content
			}
			req.Messages = oiAppendTurn(req.Messages, "user", []oiBlock{res})
		case "function":
			return nil, nil, oiErr(field+".role", `the deprecated role "function" is not supported; use tool messages`)
		case "":
			return nil, nil, oiErr(field+".role", "field required")
		default:
			return nil, nil, oiErr(field+".role", "unknown role "+strconv.Quote(m.Role))
		}
	}
	oiFinishTurns(req.Messages)
	req.Messages = oiTrimPrefill(req.Messages)
	if len(req.Messages) == 0 {
		return nil, nil, oiErr("messages", "at least one non-empty user or assistant message is required")
	}
	req.System = strings.Join(system, "\n\n")

	// Tools.
	if !oiNull(f.tools) {
		var tools []oiInTool
		if err := oiDecode("tools", f.tools, &tools); err != nil {
			return nil, nil, err
		}
		for i, t := range tools {
			field := "tools[" + strconv.Itoa(i) + "]"
			if t.Type != "" && t.Type != "function" {
				return nil, nil, oiErr(field+".type", "only function tools are supported")
			}
			if t.Function == nil || t.Function.Name == "" {
				return nil, nil, oiErr(field+".function.name", "field required")
			}
			schema, err := oiSchema(field+".function.parameters", t.Function.Parameters)
			if err != nil {
				return nil, nil, err
			}
			req.Tools = append(req.Tools, oiTool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
		}
	}
	if !oiNull(f.toolChoice) {
		tc, err := oiToolChoiceOf(f.toolChoice)
		if err != nil {
			return nil, nil, err
		}
		req.ToolChoice = tc
	}
	if !oiNull(f.parallelToolCalls) {
		var par bool
		if err := oiDecode("parallel_tool_calls", f.parallelToolCalls, &par); err != nil {
			return nil, nil, err
		}
		if !par && len(req.Tools) > 0 {
			if req.ToolChoice == nil {
				req.ToolChoice = &oiToolChoice{Type: "auto"}
			}
			if req.ToolChoice.Type != "none" {
				req.ToolChoice.DisableParallelToolUse = true
			}
		}
	}

	// Sampling and limits.
	haveMax := false
	for _, m := range []struct {
		field string
		v     []byte
	}{{"max_completion_tokens", f.maxCompletionTokens}, {"max_tokens", f.maxTokens}} {
		if oiNull(m.v) {
			continue
		}
		n, err := oiInt(m.field, m.v)
		if err != nil {
			return nil, nil, err
		}
		if !haveMax {
			req.MaxTokens, haveMax = n, true
		}
	}
	if !haveMax {
		req.MaxTokens = oiDefaultMaxTokens
	}
	if !oiNull(f.temperature) {
		t, err := oiNumber("temperature", f.temperature)
		if err != nil {
			return nil, nil, err
		}
		t = min(max(t, 0), 1)
		req.Temperature = &t
	}
	if !oiNull(f.topP) {
		p, err := oiNumber("top_p", f.topP)
		if err != nil {
			return nil, nil, err
		}
		p = min(max(p, 0), 1)
		req.TopP = &p
	}
	if !oiNull(f.stop) {
		var stops []string
		if f.stop[0] == '"' {
			var s string
			if err := oiDecode("stop", f.stop, &s); err != nil {
				return nil, nil, err
			}
			stops = []string{s}
		} else if err := oiDecode("stop", f.stop, &stops); err != nil {
			return nil, nil, err
		}
		req.StopSequences = oiStops(stops)
	}
	for _, u := range []struct {
		field string
		v     []byte
	}{{"user", f.user}, {"safety_identifier", f.safetyIdentifier}} {
		if oiNull(u.v) || req.Metadata != nil {
			continue
		}
		var s string
		if err := oiDecode(u.field, u.v, &s); err != nil {
			return nil, nil, err
		}
		if s != "" {
			req.Metadata = &oiMetadata{UserID: s}
		}
	}

	// Reasoning.
	if !oiNull(f.reasoningEffort) {
		var effort string
		if err := oiDecode("reasoning_effort", f.reasoningEffort, &effort); err != nil {
			return nil, nil, err
		}
		budget, ok := oiEffortBudget[effort]
		if !ok && effort != "none" {
			return nil, nil, oiErr("reasoning_effort", "unknown value "+strconv.Quote(effort))
		}
		if ok && !oiToolLoop(req.Messages) {
			if !haveMax {
				req.MaxTokens = budget + oiDefaultMaxTokens
			} else {
				budget = min(budget, req.MaxTokens-oiAnswerReserve)
			}
			if budget >= oiMinBudget {
				req.Thinking = &oiThinking{Type: "enabled", BudgetTokens: budget}
				info.Thinking = true
				req.Temperature = nil
				if req.TopP != nil && *req.TopP < 0.95 {
					req.TopP = nil
				}
			}
		}
	}

	if !oiNull(f.responseFormat) {
		var rf struct {
			Type       string `json:"type"`
			JSONSchema *struct {
				Schema json.RawMessage `json:"schema"`
			} `json:"json_schema"`
		}
		if err := oiDecode("response_format", f.responseFormat, &rf); err != nil {
			return nil, nil, err
		}
		switch rf.Type {
		case "json_schema":
			if rf.JSONSchema == nil || oiNull(rf.JSONSchema.Schema) {
				return nil, nil, oiErr("response_format.json_schema.schema", "field required")
			}
			if rf.JSONSchema.Schema[0] != '{' {
				return nil, nil, oiErr("response_format.json_schema.schema", "must be an object")
			}
			req.OutputConfig = &oiOutputConfig{Format: oiFormat{Type: "json_schema", Schema: rf.JSONSchema.Schema}}
		case "json_object", "text":
		default:
			return nil, nil, oiErr("response_format.type", "unknown value "+strconv.Quote(rf.Type))
		}
	}

	out, err := oiMarshal(&req)
	if err != nil {
		return nil, nil, err
	}
	return out, info, nil
}

// oiMessages decodes the messages array in one pass; if that fails, it
// decodes them one by one to say which message is wrong.
func oiMessages(v []byte) ([]oiInMessage, error) {
	var msgs []oiInMessage
	if json.Unmarshal(v, &msgs) == nil {
		return msgs, nil
	}
	var raws []json.RawMessage
	if err := oiDecode("messages", v, &raws); err != nil {
		return nil, err
	}
	for i, raw := range raws {
		var m oiInMessage
		if err := oiDecode("messages["+strconv.Itoa(i)+"]", raw, &m); err != nil {
			return nil, err
		}
	}
	return nil, oiErr("messages", "invalid value")
}

// oiStops keeps the stop sequences Anthropic accepts: it refuses one that
// is empty or all whitespace ("each stop sequence must contain
// non-whitespace"), which OpenAI takes (stop: "\n" is common). Those are
// dropped rather than failing the request.
func oiStops(stops []string) []string {
	var out []string
	for _, s := range stops {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// oiMarshal encodes v without HTML escaping (the bodies are not embedded in
// HTML, and clients do not escape either). The result is valid UTF-8:
// encoding/json coerces strings, but copies json.RawMessage values (tool
// schemas and inputs passed through) as they are, so invalid bytes in them
// are replaced here, each by U+FFFD as a JSON decoder would read them.
func oiMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if utf8.Valid(out) {
		return out, nil
	}
	fixed := make([]byte, 0, len(out)+16)
	for i := 0; i < len(out); {
		r, size := utf8.DecodeRune(out[i:])
		if r == utf8.RuneError && size == 1 {
			fixed = append(fixed, "\uFFFD"...)
		} else {
			fixed = append(fixed, out[i:i+size]...)
		}
		i += size
	}
	return fixed, nil
}

// oiAppendTurn adds blocks as a turn of role, merging it into the last turn
// if that has the same role. In a user turn, tool_result blocks are kept
// before every other block (Anthropic refuses text before a tool result in
// the turn answering a tool call): they collect in results until
// oiFinishTurns puts them first.
func oiAppendTurn(turns []oiTurn, role string, blocks []oiBlock) []oiTurn {
	if len(blocks) == 0 {
		return turns
	}
	if n := len(turns); n == 0 || turns[n-1].Role != role {
		turns = append(turns, oiTurn{Role: role})
	}
	last := &turns[len(turns)-1]
	for _, b := range blocks {
		if role == "user" && b.Type == "tool_result" {
			last.results = append(last.results, b)
		} else {
			last.Content = append(last.Content, b)
		}
	}
	return turns
}

// oiFinishTurns puts each user turn's tool results first.
func oiFinishTurns(turns []oiTurn) {
	for i := range turns {
		t := &turns[i]
		if len(t.results) > 0 {
			t.Content = append(t.results, t.Content...)
			t.results = nil
		}
	}
}

// oiBlank reports whether a text is empty or all whitespace: Anthropic
// refuses such text blocks ("text content blocks must contain
// non-whitespace text"), so they are dropped.
func oiBlank(s string) bool { return strings.TrimSpace(s) == "" }

// oiTrimPrefill trims the trailing whitespace of a final assistant turn
// (a prefill), which Anthropic refuses ("final assistant content cannot
// end with trailing whitespace"), dropping what becomes empty.
func oiTrimPrefill(turns []oiTurn) []oiTurn {
	n := len(turns)
	if n == 0 || turns[n-1].Role != "assistant" {
		return turns
	}
	t := &turns[n-1]
	last := &t.Content[len(t.Content)-1]
	if last.Type != "text" {
		return turns
	}
	if last.Text = strings.TrimRightFunc(last.Text, unicode.IsSpace); last.Text == "" {
		if t.Content = t.Content[:len(t.Content)-1]; len(t.Content) == 0 {
			return turns[:n-1]
		}
	}
	return turns
}

// oiToolLoop reports whether the last assistant turn calls tools.
func oiToolLoop(turns []oiTurn) bool {
	for i := len(turns) - 1; i >= 0; i-- {
		if turns[i].Role != "assistant" {
			continue
		}
		for _, b := range turns[i].Content {
			if b.Type == "tool_use" {
				return true
			}
		}
		return false
	}
	return false
}

// oiTexts reads a system, developer or text-only content: a string or an
// array of text parts.
func oiTexts(field string, v json.RawMessage) ([]string, error) {
	if oiNull(v) {
		return nil, nil
	}
	if v[0] == '"' {
		var s string
		if err := oiDecode(field, v, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	var parts []oiInPart
	if err := oiDecode(field, v, &parts); err != nil {
		return nil, err
	}
	texts := make([]string, 0, len(parts))
	for i, p := range parts {
		if p.Type != "text" || p.Text == nil {
			return nil, oiErr(field+"["+strconv.Itoa(i)+"]", "only text parts are supported here")
		}
		texts = append(texts, *p.Text)
	}
	return texts, nil
}

// oiUserContent reads a user or tool message's content into Anthropic
// blocks. Tool messages (tool is set) take text and images.
func oiUserContent(field string, v json.RawMessage, tool bool) ([]oiBlock, error) {
	if oiNull(v) {
		return nil, nil
	}
	if v[0] == '"' {
		var s string
		if err := oiDecode(field, v, &s); err != nil {
			return nil, err
		}
		if oiBlank(s) {
			return nil, nil
		}
		return []oiBlock{{Type: "text", Text: s}}, nil
	}
	var parts []oiInPart
	if err := oiDecode(field, v, &parts); err != nil {
		return nil, err
	}
	blocks := make([]oiBlock, 0, len(parts))
	for i, p := range parts {
		pf := field + "[" + strconv.Itoa(i) + "]"
		switch p.Type {
		case "text":
			if p.Text == nil {
				return nil, oiErr(pf+".text", "field required")
			}
			if !oiBlank(*p.Text) {
				blocks = append(blocks, oiBlock{Type: "text", Text: *p.Text})
			}
		case "image_url":
			b, err := oiImage(pf+".image_url", p.ImageURL)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, b)
		case "file":
			if tool {
				return nil, oiErr(pf+".type", "file parts are not supported in tool messages")
			}
			if p.File == nil {
				return nil, oiErr(pf+".file", "field required")
			}
			if p.File.FileData == "" {
				return nil, oiErr(pf+".file", "only file_data is supported (file_id is not)")
			}
			mt, data, ok := oiDataURI(p.File.FileData)
			if !ok || mt != "application/pdf" {
				return nil, oiErr(pf+".file.file_data", "must be a base64 data URI of a PDF (data:application/pdf;base64,...)")
			}
			blocks = append(blocks, oiBlock{Type: "document", Title: p.File.Filename,
				Source: &oiSource{Type: "base64", MediaType: mt, Data: data}})
		case "":
			return nil, oiErr(pf+".type", "field required")
		default:
			return nil, oiErr(pf+".type", "unsupported content part type "+strconv.Quote(p.Type))
		}
	}
	return blocks, nil
}

// oiImage turns an image_url part ({url, detail} or, leniently, a bare URL
// string) into an image block.
func oiImage(field string, v json.RawMessage) (oiBlock, error) {
	if oiNull(v) {
		return oiBlock{}, oiErr(field, "field required")
	}
	var url string
	if v[0] == '"' {
		if err := oiDecode(field, v, &url); err != nil {
			return oiBlock{}, err
		}
	} else {
		var iu struct {
			URL string `json:"url"`
		}
		if err := oiDecode(field, v, &iu); err != nil {
			return oiBlock{}, err
		}
		url = iu.URL
		field += ".url"
	}
	if mt, data, ok := oiDataURI(url); ok {
		if mt == "image/jpg" {
			mt = "image/jpeg"
		}
		switch mt {
		case "image/jpeg", "image/png", "image/gif", "image/webp":
		default:
			return oiBlock{}, oiErr(field, "unsupported image type "+strconv.Quote(mt)+" (jpeg, png, gif and webp are supported)")
		}
		return oiBlock{Type: "image", Source: &oiSource{Type: "base64", MediaType: mt, Data: data}}, nil
	}
	if l := strings.ToLower(url); strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") {
		return oiBlock{Type: "image", Source: &oiSource{Type: "url", URL: url}}, nil
	}
	return oiBlock{}, oiErr(field, "must be an http(s) URL or a base64 data URI")
}

// oiDataURI splits "data:<media type>[;params];base64,<data>". The media
// type is lowercased; the data must be non-empty. Data URIs that are not
// base64 are not accepted.
func oiDataURI(s string) (mediaType, data string, ok bool) {
	if len(s) < 5 || !strings.EqualFold(s[:5], "data:") {
		return "", "", false
	}
	head, data, found := strings.Cut(s[5:], ",")
	if !found || data == "" {
		return "", "", false
	}
	params := strings.Split(head, ";")
	if len(params) < 2 || !strings.EqualFold(strings.TrimSpace(params[len(params)-1]), "base64") {
		return "", "", false
	}
	return strings.ToLower(strings.TrimSpace(params[0])), data, true
}

// oiAssistantContent reads an assistant message: its text, then its tool
// calls.
func oiAssistantContent(field string, m *oiInMessage) ([]oiBlock, error) {
	var blocks []oiBlock
	if !oiNull(m.Content) {
		if m.Content[0] == '"' {
			var s string
			if err := oiDecode(field+".content", m.Content, &s); err != nil {
				return nil, err
			}
			if !oiBlank(s) {
				blocks = append(blocks, oiBlock{Type: "text", Text: s})
			}
		} else {
			var parts []oiInPart
			if err := oiDecode(field+".content", m.Content, &parts); err != nil {
				return nil, err
			}
			for i, p := range parts {
				var s *string
				switch p.Type {
				case "text":
					s = p.Text
				case "refusal":
					s = p.Refusal
				default:
					return nil, oiErr(field+".content["+strconv.Itoa(i)+"].type", "only text and refusal parts are supported in assistant messages")
				}
				if s != nil && !oiBlank(*s) {
					blocks = append(blocks, oiBlock{Type: "text", Text: *s})
				}
			}
		}
	}
	if m.Refusal != nil && !oiBlank(*m.Refusal) {
		blocks = append(blocks, oiBlock{Type: "text", Text: *m.Refusal})
	}
	for i, tc := range m.ToolCalls {
		tf := field + ".tool_calls[" + strconv.Itoa(i) + "]"
		if tc.Type != "" && tc.Type != "function" {
			return nil, oiErr(tf+".type", "only function tool calls are supported")
		}
		if tc.ID == "" {
			return nil, oiErr(tf+".id", "field required")
		}
		if tc.Function.Name == "" {
			return nil, oiErr(tf+".function.name", "field required")
		}
		input, err := oiArguments(tf+".function.arguments", tc.Function.Arguments)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, oiBlock{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: input})
	}
	return blocks, nil
}

// oiArguments turns a tool call's arguments, a JSON string holding a JSON
// object, into the object. An empty (or blank) string is {}; an object
// given directly instead of a string is taken too.
func oiArguments(field string, v json.RawMessage) (json.RawMessage, error) {
	if oiNull(v) {
		return json.RawMessage("{}"), nil
	}
	var args []byte
	switch v[0] {
	case '"':
		var s string
		if err := oiDecode(field, v, &s); err != nil {
			return nil, err
		}
		args = []byte(s)
	case '{':
		args = v
	default:
		return nil, oiErr(field, "must be a string holding a JSON object")
	}
	args = bytes.TrimSpace(args)
	if len(args) == 0 {
		return json.RawMessage("{}"), nil
	}
	if !json.Valid(args) {
		return nil, oiErr(field, "is not valid JSON")
	}
	if args[0] != '{' {
		return nil, oiErr(field, "must be a JSON object")
	}
	return args, nil
}

// oiSchema returns a tool's input_schema: parameters, or {"type":"object"}
// when absent, with "type":"object" added when it has no type.
func oiSchema(field string, v json.RawMessage) (json.RawMessage, error) {
	if oiNull(v) {
		return json.RawMessage(`{"type":"object"}`), nil
	}
	hasType := false
	err := jsonpeek.Object(v, func(key []byte, _, _ int) bool {
		if string(key) == "type" {
			hasType = true
		}
		return true
	})
	if err != nil {
		return nil, oiErr(field, "must be a JSON schema object")
	}
	if hasType {
		return v, nil
	}
	i := bytes.IndexByte(v, '{')
	rest := bytes.TrimSpace(v[i+1:])
	out := []byte(`{"type":"object"`)
	if rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...), nil
}

// oiToolChoiceOf maps tool_choice.
func oiToolChoiceOf(v []byte) (*oiToolChoice, error) {
	if v[0] == '"' {
		var s string
		if err := oiDecode("tool_choice", v, &s); err != nil {
			return nil, err
		}
		switch s {
		case "none":
			return &oiToolChoice{Type: "none"}, nil
		case "auto":
			return &oiToolChoice{Type: "auto"}, nil
		case "required":
			return &oiToolChoice{Type: "any"}, nil
		}
		return nil, oiErr("tool_choice", "unknown value "+strconv.Quote(s))
	}
	var tc struct {
		Type     string `json:"type"`
		Function *struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := oiDecode("tool_choice", v, &tc); err != nil {
		return nil, err
	}
	if tc.Type != "" && tc.Type != "function" {
		return nil, oiErr("tool_choice.type", "only function tool choices are supported")
	}
	if tc.Function == nil || tc.Function.Name == "" {
		return nil, oiErr("tool_choice.function.name", "field required")
	}
	return &oiToolChoice{Type: "tool", Name: tc.Function.Name}, nil
}

// Anthropic Message, as ToOpenAIResponse reads it.
type oiMessage struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Model      string          `json:"model"`
	Content    []oiOutBlock    `json:"content"`
	StopReason string          `json:"stop_reason"`
	Usage      json.RawMessage `json:"usage"`
}

type oiOutBlock struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	Thinking string          `json:"thinking"`
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Input    json.RawMessage `json:"input"`
}

// OpenAI chat.completion, as ToOpenAIResponse writes it.
type oiCompletion struct {
	ID      string     `json:"id"`
	Object  string     `json:"object"`
	Created int64      `json:"created"`
	Model   string     `json:"model"`
	Choices []oiChoice `json:"choices"`
	Usage   oiUsage    `json:"usage"`
}

type oiChoice struct {
	Index        int          `json:"index"`
	Message      oiOutMessage `json:"message"`
	Logprobs     *struct{}    `json:"logprobs"`
	FinishReason string       `json:"finish_reason"`
}

type oiOutMessage struct {
	Role             string          `json:"role"`
	Content          *string         `json:"content"`
	Refusal          *string         `json:"refusal"`
	ToolCalls        []oiOutToolCall `json:"tool_calls,omitempty"`
	ReasoningContent string          `json:"reasoning_content,omitempty"`
}

type oiOutToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type oiUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

func oiUsageOf(t anthropic.Totals) oiUsage {
	var u oiUsage
	u.PromptTokens = t.Input + t.CacheRead + t.CacheCreation
	u.CompletionTokens = t.Output
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	u.PromptTokensDetails.CachedTokens = t.CacheRead
	return u
}

// oiFinishReason maps an Anthropic stop_reason to an OpenAI finish_reason.
func oiFinishReason(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	}
	// end_turn, stop_sequence, pause_turn, and anything unknown.
	return "stop"
}

// oiCompletionID makes a chat.completion id from an Anthropic message id:
// "msg_01X…" becomes "chatcmpl-01X…". A missing id gets a random one.
func oiCompletionID(msgID string) string {
	if msgID = strings.TrimPrefix(msgID, "msg_"); msgID == "" {
		msgID = strconv.FormatUint(rand.Uint64(), 36)
	}
	return "chatcmpl-" + msgID
}

func oiCreated(info *OpenAIRequestInfo) int64 {
	if info != nil && info.Created != 0 {
		return info.Created
	}
	return time.Now().Unix()
}

// ToOpenAIResponse turns an Anthropic Message JSON into an OpenAI
// chat.completion JSON: text blocks joined as content (null when there are
// none), tool_use blocks as tool_calls (arguments: the input as compact
// JSON), thinking blocks joined as reasoning_content, stop_reason as
// finish_reason (end_turn, stop_sequence, pause_turn → stop; max_tokens,
// model_context_window_exceeded → length; tool_use → tool_calls; refusal →
// content_filter), and usage with prompt_tokens counting cached tokens
// (input + cache read + cache creation) as OpenAI does. The model is
// info.Model (the upstream's when that is empty). Server-tool and
// redacted_thinking blocks have no OpenAI form and are dropped. info may be
// nil.
func ToOpenAIResponse(msg []byte, info *OpenAIRequestInfo) ([]byte, error) {
	var m oiMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		return nil, errors.New("translate: Anthropic message: " + err.Error())
	}
	if m.Type != "" && m.Type != "message" {
		return nil, errors.New("translate: Anthropic message has type " + strconv.Quote(m.Type))
	}
	var t anthropic.Totals
	if len(m.Usage) > 0 {
		anthropic.MergeUsage(m.Usage, &t)
	}
	out := oiCompletion{
		ID:      oiCompletionID(m.ID),
		Object:  "chat.completion",
		Created: oiCreated(info),
		Model:   m.Model,
		Usage:   oiUsageOf(t),
	}
	if info != nil && info.Model != "" {
		out.Model = info.Model
	}
	om := oiOutMessage{Role: "assistant"}
	var text, reasoning strings.Builder
	hasText := false
	for _, b := range m.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
			hasText = true
		case "thinking":
			reasoning.WriteString(b.Thinking)
		case "tool_use":
			var tc oiOutToolCall
			tc.ID, tc.Type = b.ID, "function"
			tc.Function.Name = b.Name
			tc.Function.Arguments = "{}"
			if len(b.Input) > 0 && string(b.Input) != "null" {
				var buf bytes.Buffer
				if err := json.Compact(&buf, b.Input); err == nil {
					tc.Function.Arguments = buf.String()
				}
			}
			om.ToolCalls = append(om.ToolCalls, tc)
		}
	}
	if hasText {
		s := text.String()
		om.Content = &s
	}
	om.ReasoningContent = reasoning.String()
	finish := oiFinishReason(m.StopReason)
	if finish == "stop" && len(om.ToolCalls) > 0 {
		finish = "tool_calls"
	}
	out.Choices = []oiChoice{{Message: om, FinishReason: finish}}
	return oiMarshal(&out)
}

// oiErrorCode gives the OpenAI error code clients branch on, where OpenAI
// has one for the situation; nil otherwise.
func oiErrorCode(status int, typ, msg string) any {
	switch {
	case status == 401 || typ == "authentication_error":
		return "invalid_api_key"
	case status == 429 || typ == "rate_limit_error":
		return "rate_limit_exceeded"
	case typ == "not_found_error" && strings.HasPrefix(msg, "model:"):
		return "model_not_found"
	case typ == "invalid_request_error" && (strings.Contains(msg, "prompt is too long") || strings.Contains(msg, "exceed context limit")):
		return "context_length_exceeded"
	}
	return nil
}

// oiErrorType is the Anthropic error type for a status, for bodies that
// do not say.
func oiErrorType(status int) string {
	switch status {
	case 400:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 402:
		return "billing_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 504:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

type oiErrorBody struct {
	Error oiErrorDetail `json:"error"`
}

type oiErrorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    any     `json:"code"`
}

// ToOpenAIError turns an Anthropic error response (status, body) into an
// OpenAI error body {"error":{"message","type","param":null,"code"}}.
// message and type are Anthropic's (the types largely coincide with
// OpenAI's); code is the OpenAI code clients act on where there is one
// (invalid_api_key, rate_limit_exceeded, model_not_found,
// context_length_exceeded), else null; a context-length message is
// reworded as OpenAI words it (contexterr.go). A body that is not an Anthropic
// error gets the type for its status and a generic message: it is not
// echoed, since it may be a proxy's HTML page.
func ToOpenAIError(status int, body []byte) []byte {
	var e anthropic.ErrorBody
	if json.Unmarshal(body, &e) != nil || e.Error.Type == "" && e.Error.Message == "" {
		e.Error = anthropic.ErrorDetail{}
	}
	if e.Error.Type == "" {
		e.Error.Type = oiErrorType(status)
	}
	if e.Error.Message == "" {
		e.Error.Message = "upstream error (HTTP " + strconv.Itoa(status) + ")"
	}
	d := oiErrorDetail{
		Message: e.Error.Message, Type: e.Error.Type,
		Code: oiErrorCode(status, e.Error.Type, e.Error.Message),
	}
	if c, ok := ParseAnthropicContextMessage(d.Message); ok && d.Code == "context_length_exceeded" {
		// OpenAI's own sentence, whose numbers OpenAI clients read.
		param := "messages"
		d.Message, d.Param = c.OpenAIMessage(), &param
	}
	out, err := oiMarshal(oiErrorBody{Error: d})
	if err != nil { // cannot happen: strings and nil only
		return []byte(`{"error":{"message":"upstream error","type":"api_error","param":null,"code":null}}`)
	}
	return out
}

// oiFrames is a queue of output frames kept in one buffer. Frames handed
// out by next stay valid until the next call that adds frames.
type oiFrames struct {
	buf  []byte
	ends []int // end offset of each frame in buf
	read int   // frames handed out
}

// reset drops the frames once all have been handed out, to reuse the
// buffer.
func (q *oiFrames) reset() {
	if q.read == len(q.ends) {
		q.buf, q.ends, q.read = q.buf[:0], q.ends[:0], 0
	}
}

// mark ends the frame being appended to buf.
func (q *oiFrames) mark() { q.ends = append(q.ends, len(q.buf)) }

func (q *oiFrames) next() ([]byte, bool) {
	if q.read == len(q.ends) {
		return nil, false
	}
	start := 0
	if q.read > 0 {
		start = q.ends[q.read-1]
	}
	q.read++
	return q.buf[start:q.ends[q.read-1]:q.ends[q.read-1]], true
}

// oiAppendLiteral appends lit, a JSON string literal validated by
// jsonpeek, copying it as is when it is valid UTF-8 (the common case, no
// allocation) and re-encoding it otherwise.
func oiAppendLiteral(dst, lit []byte) []byte {
	if utf8.Valid(lit) {
		return append(dst, lit...)
	}
	s, err := jsonpeek.String(lit)
	if err != nil {
		return append(dst, `""`...)
	}
	return jsonpeek.AppendString(dst, s)
}

// oiMembers reads the members named in names from the JSON object b into
// vals (vals[i] is the value of names[i], nil if absent; the last of
// duplicates wins). It reports whether b is an object.
func oiMembers(b []byte, names []string, vals [][]byte) bool {
	for i := range vals {
		vals[i] = nil
	}
	err := jsonpeek.Object(b, func(key []byte, start, end int) bool {
		for i, n := range names {
			if string(key) == n {
				vals[i] = b[start:end]
			}
		}
		return true
	})
	return err == nil
}

// oiIsString reports whether v is a JSON string literal.
func oiIsString(v []byte) bool { return len(v) >= 2 && v[0] == '"' }

// oiStringIs reports whether v is a string literal that decodes to s.
func oiStringIs(v []byte, s string) bool {
	if !oiIsString(v) {
		return false
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1:len(v)-1]) == s
	}
	d, err := jsonpeek.String(v)
	return err == nil && d == s
}

// oiStringOf decodes a string literal; anything else is "".
func oiStringOf(v []byte) string {
	if !oiIsString(v) {
		return ""
	}
	s, _ := jsonpeek.String(v)
	return s
}

// oiIndex decodes a block index; -1 if v is not a non-negative integer.
func oiIndex(v []byte) int {
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// oiEventType is the event's type: its name, or else the "type" of its
// data (the API always sends both, and they agree). It returns bytes so
// that switching on string(oiEventType(ev)) allocates nothing.
func oiEventType(ev sse.Event) []byte {
	if len(ev.Name) > 0 {
		return ev.Name
	}
	var v [1][]byte
	if oiMembers(ev.Data, oiNamesType, v[:]) && oiIsString(v[0]) {
		return []byte(oiStringOf(v[0]))
	}
	return nil
}

// Kinds of the content block a stream has open.
const (
	oiBlockNone = iota
	oiBlockText
	oiBlockThinking
	oiBlockTool
	oiBlockOther // redacted_thinking, server tools, results: not translated
)

// oiMember names, shared so that calls allocate nothing.
var (
	oiNamesType     = []string{"type"}
	oiNamesStart    = []string{"message"}
	oiNamesMessage  = []string{"id", "model", "usage"}
	oiNamesBlock    = []string{"index", "content_block", "delta"}
	oiNamesStartBlk = []string{"type", "text", "thinking", "id", "name", "input"}
	oiNamesDelta    = []string{"type", "text", "thinking", "partial_json", "stop_reason", "stop_sequence"}
	oiNamesMsgDelta = []string{"delta", "usage"}
	oiNamesError    = []string{"error"}
	oiNamesErrorObj = []string{"type", "message"}
)

// OpenAIStream turns Anthropic stream events into OpenAI
// chat.completion.chunk frames ("data: {...}\n\n"):
//
//   - message_start → the role chunk, delta {"role":"assistant","content":"","refusal":null};
//   - text_delta → content deltas; thinking_delta → reasoning_content deltas;
//   - a tool_use block start → a tool_calls delta {index, id, type, function{name, arguments:""}}
//     (index counts tool calls from 0), input_json_delta → arguments deltas at that index;
//   - message_delta → the finish chunk, delta {} with finish_reason;
//   - message_stop → (with info.IncludeUsage) a chunk with choices [] and usage, then "data: [DONE]".
//
// An Anthropic error event becomes a chunk {"error":{...}} (the OpenAI SDK
// throws on it) and ends the stream, without [DONE]; so does End before
// message_stop. ping, signature and citation deltas, redacted thinking,
// server-tool blocks and unknown events are dropped. A known event whose
// data is not JSON ends the stream with an error chunk. Every chunk carries
// id ("chatcmpl-" + the message id), object, created and model; with
// IncludeUsage every chunk has "usage":null but the last, as OpenAI sends.
//
// Call Feed for each event, End once at the end, and drain Next after
// each. A frame from Next is valid until the next call of Feed or End.
// An OpenAIStream is not safe for concurrent use.
type OpenAIStream struct {
	info    OpenAIRequestInfo
	created int64
	prefix  []byte // `{"id":…,"object":"chat.completion.chunk","created":…,"model":…,`
	q       oiFrames

	started  bool // the role chunk is out
	finished bool // the finish chunk is out
	done     bool // the terminal frame ([DONE] or an error) is out

	block    int // index of the open content block, -1 if none
	kind     int // its kind
	toolIdx  int // its tool call index, for oiBlockTool
	argsSent bool
	input    []byte // the tool_use start's input, when it is not {}

	tools int // tool calls so far
	usage anthropic.Totals

	vals [6][]byte // scratch for oiMembers
	sub  [6][]byte
}

// NewOpenAIStream starts the translation of one stream. info may be nil.
func NewOpenAIStream(info *OpenAIRequestInfo) *OpenAIStream {
	s := &OpenAIStream{block: -1, created: oiCreated(info)}
	if info != nil {
		s.info = *info
	}
	return s
}

// Next returns the next frame to write, if any.
func (s *OpenAIStream) Next() ([]byte, bool) { return s.q.next() }

// start writes the role chunk, once. id and model come from message_start,
// or are made up when the stream has none.
func (s *OpenAIStream) start(id, model string) {
	if s.started {
		return
	}
	s.started = true
	if s.info.Model != "" {
		model = s.info.Model
	}
	p := append(s.prefix[:0], `{"id":`...)
	p = jsonpeek.AppendString(p, oiCompletionID(id))
	p = append(p, `,"object":"chat.completion.chunk","created":`...)
	p = strconv.AppendInt(p, s.created, 10)
	p = append(p, `,"model":`...)
	p = jsonpeek.AppendString(p, model)
	s.prefix = append(p, ',')
	s.open()
	s.q.buf = append(s.q.buf, `"role":"assistant","content":"","refusal":null`...)
	s.close("")
}

// open begins a chunk with one choice, up to the inside of its delta.
func (s *OpenAIStream) open() {
	s.q.buf = append(s.q.buf, "data: "...)
	s.q.buf = append(s.q.buf, s.prefix...)
	s.q.buf = append(s.q.buf, `"choices":[{"index":0,"delta":{`...)
}

// close ends the chunk begun by open.
func (s *OpenAIStream) close(finish string) {
	b := append(s.q.buf, `},"logprobs":null,"finish_reason":`...)
	if finish == "" {
		b = append(b, "null"...)
	} else {
		b = jsonpeek.AppendString(b, finish)
	}
	b = append(b, "}]"...)
	if s.info.IncludeUsage {
		b = append(b, `,"usage":null`...)
	}
	s.q.buf = append(b, "}\n\n"...)
	s.q.mark()
}

// delta writes a chunk whose delta is {field: lit}.
func (s *OpenAIStream) delta(field string, lit []byte) {
	s.open()
	s.q.buf = append(s.q.buf, '"')
	s.q.buf = append(s.q.buf, field...)
	s.q.buf = append(s.q.buf, `":`...)
	s.q.buf = oiAppendLiteral(s.q.buf, lit)
	s.close("")
}

// args writes an arguments delta for the open tool call.
func (s *OpenAIStream) args(lit []byte) {
	s.open()
	s.q.buf = append(s.q.buf, `"tool_calls":[{"index":`...)
	s.q.buf = strconv.AppendInt(s.q.buf, int64(s.toolIdx), 10)
	s.q.buf = append(s.q.buf, `,"function":{"arguments":`...)
	s.q.buf = oiAppendLiteral(s.q.buf, lit)
	s.q.buf = append(s.q.buf, "}}]"...)
	s.close("")
	s.argsSent = true
}

// fail writes an error chunk and ends the stream.
func (s *OpenAIStream) fail(typ, msg string) {
	b := append(s.q.buf, `data: {"error":{"message":`...)
	b = jsonpeek.AppendString(b, msg)
	b = append(b, `,"type":`...)
	b = jsonpeek.AppendString(b, typ)
	b = append(b, `,"param":null,"code":`...)
	if c, ok := oiErrorCode(0, typ, msg).(string); ok {
		b = jsonpeek.AppendString(b, c)
	} else {
		b = append(b, "null"...)
	}
	s.q.buf = append(b, "}}\n\n"...)
	s.q.mark()
	s.done = true
}

// finish writes the finish chunk, once.
func (s *OpenAIStream) finish(stop string) {
	if s.finished {
		return
	}
	s.start("", "")
	s.endBlock()
	s.finished = true
	f := oiFinishReason(stop)
	if f == "stop" && s.tools > 0 {
		f = "tool_calls"
	}
	s.open()
	s.close(f)
}

// endBlock closes the open block: a tool call whose input came whole in its
// start event (no input_json_delta) gets it as one arguments delta.
func (s *OpenAIStream) endBlock() {
	if s.kind == oiBlockTool && !s.argsSent && len(s.input) > 0 {
		var buf bytes.Buffer
		if json.Compact(&buf, s.input) == nil {
			s.args(jsonpeek.AppendString(nil, buf.String()))
		}
	}
	s.block, s.kind, s.argsSent, s.input = -1, oiBlockNone, false, s.input[:0]
}

// Feed takes one Anthropic event.
func (s *OpenAIStream) Feed(ev sse.Event) {
	if s.done {
		return
	}
	s.q.reset()
	v := s.vals[:]
	switch string(oiEventType(ev)) {
	case "message_start":
		if !oiMembers(ev.Data, oiNamesStart, v[:1]) {
			s.fail("api_error", "upstream sent a malformed message_start event")
			return
		}
		m := s.sub[:3]
		if oiMembers(v[0], oiNamesMessage, m) && m[2] != nil {
			anthropic.MergeUsage(m[2], &s.usage)
		}
		s.start(oiStringOf(m[0]), oiStringOf(m[1]))
	case "content_block_start":
		if !oiMembers(ev.Data, oiNamesBlock, v[:3]) {
			s.fail("api_error", "upstream sent a malformed content_block_start event")
			return
		}
		if s.finished {
			return
		}
		s.start("", "")
		s.endBlock()
		s.block = oiIndex(v[0])
		b := s.sub[:6]
		oiMembers(v[1], oiNamesStartBlk, b)
		switch {
		case oiStringIs(b[0], "text"):
			s.kind = oiBlockText
			if oiIsString(b[1]) && len(b[1]) > 2 {
				s.delta("content", b[1])
			}
		case oiStringIs(b[0], "thinking"):
			s.kind = oiBlockThinking
			if oiIsString(b[2]) && len(b[2]) > 2 {
				s.delta("reasoning_content", b[2])
			}
		case oiStringIs(b[0], "tool_use"):
			s.kind, s.toolIdx = oiBlockTool, s.tools
			s.tools++
			if b[5] != nil && b[5][0] == '{' && !oiEmptyObject(b[5]) {
				s.input = append(s.input[:0], b[5]...)
			}
			s.open()
			q := append(s.q.buf, `"tool_calls":[{"index":`...)
			q = strconv.AppendInt(q, int64(s.toolIdx), 10)
			q = append(q, `,"id":`...)
			q = jsonpeek.AppendString(q, oiStringOf(b[3]))
			q = append(q, `,"type":"function","function":{"name":`...)
			q = jsonpeek.AppendString(q, oiStringOf(b[4]))
			s.q.buf = append(q, `,"arguments":""}}]`...)
			s.close("")
		default:
			s.kind = oiBlockOther
		}
	case "content_block_delta":
		if !oiMembers(ev.Data, oiNamesBlock, v[:3]) {
			s.fail("api_error", "upstream sent a malformed content_block_delta event")
			return
		}
		if s.finished || s.kind == oiBlockNone || oiIndex(v[0]) != s.block {
			return
		}
		d := s.sub[:6]
		oiMembers(v[2], oiNamesDelta, d)
		switch {
		case s.kind == oiBlockText && oiStringIs(d[0], "text_delta"):
			if oiIsString(d[1]) && len(d[1]) > 2 {
				s.delta("content", d[1])
			}
		case s.kind == oiBlockThinking && oiStringIs(d[0], "thinking_delta"):
			if oiIsString(d[2]) && len(d[2]) > 2 {
				s.delta("reasoning_content", d[2])
			}
		case s.kind == oiBlockTool && oiStringIs(d[0], "input_json_delta"):
			if oiIsString(d[3]) && len(d[3]) > 2 {
				s.args(d[3])
			}
		}
	case "content_block_stop":
		if !oiMembers(ev.Data, oiNamesBlock, v[:3]) {
			s.fail("api_error", "upstream sent a malformed content_block_stop event")
			return
		}
		if oiIndex(v[0]) == s.block && !s.finished {
			s.endBlock()
		}
	case "message_delta":
		if !oiMembers(ev.Data, oiNamesMsgDelta, v[:2]) {
			s.fail("api_error", "upstream sent a malformed message_delta event")
			return
		}
		if v[1] != nil {
			anthropic.MergeUsage(v[1], &s.usage)
		}
		d := s.sub[:6]
		oiMembers(v[0], oiNamesDelta, d)
		s.finish(oiStringOf(d[4]))
	case "message_stop":
		s.finish("")
		if s.info.IncludeUsage {
			u := append(s.q.buf, "data: "...)
			u = append(u, s.prefix...)
			u = append(u, `"choices":[],"usage":`...)
			s.q.buf = oiAppendUsage(u, oiUsageOf(s.usage))
			s.q.buf = append(s.q.buf, "}\n\n"...)
			s.q.mark()
		}
		s.q.buf = append(s.q.buf, "data: [DONE]\n\n"...)
		s.q.mark()
		s.done = true
	case "error":
		s.fail(oiUpstreamError(ev.Data, v[:1], s.sub[:2]))
	}
}

// End tells the stream that the upstream ended (err nil: cleanly, at a
// frame boundary) or failed. A stream that has not seen message_stop ends
// with an error chunk.
func (s *OpenAIStream) End(err error) {
	if s.done {
		return
	}
	s.q.reset()
	s.fail("api_error", oiEndMessage(err))
}

// oiUpstreamError reads an Anthropic error event's type and message (for
// both stream translators), with generic ones for whatever is missing.
// val and sub are scratch slices of one and two elements.
func oiUpstreamError(data []byte, val, sub [][]byte) (typ, msg string) {
	typ, msg = "api_error", "upstream stream failed"
	if oiMembers(data, oiNamesError, val) && oiMembers(val[0], oiNamesErrorObj, sub) {
		if t := oiStringOf(sub[0]); t != "" {
			typ = t
		}
		if m := oiStringOf(sub[1]); m != "" {
			msg = m
		}
	}
	return typ, msg
}

// oiEndMessage says why a stream that never finished ended.
func oiEndMessage(err error) string {
	if err != nil {
		return "upstream connection failed before the answer was complete"
	}
	return "upstream stream ended before the answer was complete"
}

// oiAppendUsage appends an OpenAI usage object.
func oiAppendUsage(b []byte, u oiUsage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, u.TotalTokens, 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokensDetails.CachedTokens, 10)
	return append(b, "}}"...)
}

// oiEmptyObject reports whether v is {} (with any inner whitespace).
func oiEmptyObject(v []byte) bool {
	return len(bytes.TrimSpace(v[1:len(v)-1])) == 0
}
