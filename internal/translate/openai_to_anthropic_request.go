package translate

// OpenAI Chat Completions request → Anthropic Messages request: the way in
// for OpenAI clients on any route. Their answers go back through
// anthropic_to_openai_response.go and anthropic_to_openai_stream.go. See
// OpenAIToAnthropicRequest for the mapping and what is dropped.

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
)

// OpenAIRequestInfo is what translating an OpenAI request learned that
// translating its answer needs.
type OpenAIRequestInfo struct {
	Model        string // the model the client asked for; answers echo it
	Stream       bool   // the client asked for a stream
	IncludeUsage bool   // stream_options.include_usage: end the stream with a usage chunk
	// Created is the "created" time of the answer, in Unix seconds: the
	// time the request was translated, from its Env.
	Created int64
	// Env supplies the id of an answer that comes without one.
	Env Env `json:"-"`
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

// Anthropic request body, as OpenAIToAnthropicRequest writes it. Field order is
// the order of the output.
type oiAnthropicRequest struct {
	oiRequestHead
	Messages      []oiTurn        `json:"messages"`
	Tools         []oiTool        `json:"tools,omitempty"`
	ToolChoice    *oiToolChoice   `json:"tool_choice,omitempty"`
	Thinking      *oiThinking     `json:"thinking,omitempty"`
	oiSampling                    // top_k stays unset
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Metadata      *oiMetadata     `json:"metadata,omitempty"`
	OutputConfig  *oiOutputConfig `json:"output_config,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
}

// The parts of an Anthropic request body that the request translators
// (OpenAIToAnthropicRequest, CompleteToAnthropicRequest) both write.
// Embedded, their fields are promoted: encoding/json writes them in place,
// as members of the enclosing object. Where the rest goes differs between
// the two (the golden files fix each output's member order).
type (
	// oiRequestHead is how the body starts; its messages follow.
	oiRequestHead struct {
		Model     string `json:"model"`
		MaxTokens int64  `json:"max_tokens"`
		System    string `json:"system,omitempty"`
	}
	// oiSampling are the sampling parameters, kept as the client gave them
	// (OpenAIToAnthropicRequest then clamps them).
	oiSampling struct {
		Temperature *float64 `json:"temperature,omitempty"`
		TopP        *float64 `json:"top_p,omitempty"`
		TopK        *int64   `json:"top_k,omitempty"`
	}
)

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

// oiFields are the top-level request members OpenAIToAnthropicRequest reads, as
// their raw values. Any other member is dropped.
type oiFields struct {
	model, messages, maxTokens, maxCompletionTokens, temperature, topP, stop, n,
	stream, streamOptions, tools, toolChoice, parallelToolCalls, user, safetyIdentifier,
	reasoningEffort, responseFormat, functions, functionCall []byte
}

// set keeps the raw value of a member read (see readFields).
func (f *oiFields) set(key, v []byte) bool { return keepField(f.slot(key), v) }

// slot is the field of the member key; nil for a member that is dropped.
func (f *oiFields) slot(key []byte) *[]byte {
	switch string(key) {
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
		return oiErr(field, "expected "+jsonKind(te.Type)+", got "+te.Value)
	}
	return oiErr(field, "invalid value")
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

// oiModel decodes the required model member into dst; it must not be
// empty.
func oiModel(v []byte, dst *string) error {
	if oiNull(v) {
		return oiErr("model", "field required")
	}
	if err := oiDecode("model", v, dst); err != nil {
		return err
	}
	if *dst == "" {
		return oiErr("model", "must not be empty")
	}
	return nil
}

// oiOptBool decodes an optional boolean into dst, which absent or null
// leave as it is.
func oiOptBool(field string, v []byte, dst *bool) error {
	if oiNull(v) {
		return nil
	}
	return oiDecode(field, v, dst)
}

// read decodes the optional temperature and top_p members.
func (s *oiSampling) read(temperature, topP []byte) (err error) {
	if s.Temperature, err = oiOptNumber("temperature", temperature); err != nil {
		return err
	}
	s.TopP, err = oiOptNumber("top_p", topP)
	return err
}

// oiOptNumber decodes an optional number: nil when absent or null.
func oiOptNumber(field string, v []byte) (*float64, error) {
	if oiNull(v) {
		return nil, nil
	}
	f := new(float64)
	if err := oiDecode(field, v, f); err != nil {
		return nil, err
	}
	return f, nil
}

// oiClamp01 clamps an optional number to [0, 1].
func oiClamp01(f *float64) {
	if f != nil {
		*f = min(max(*f, 0), 1)
	}
}

// OpenAIToAnthropicRequest turns an OpenAI Chat Completions request body into an
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
func OpenAIToAnthropicRequest(body []byte, env Env) ([]byte, *OpenAIRequestInfo, error) {
	var f oiFields
	err := readFields(body, f.set)
	if err != nil {
		return nil, nil, err
	}

	info := &OpenAIRequestInfo{Created: env.unix(), Env: env}
	req := oiAnthropicRequest{}

	if err := oiModel(f.model, &req.Model); err != nil {
		return nil, nil, err
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
	if err := oiOptBool("stream", f.stream, &req.Stream); err != nil {
		return nil, nil, err
	}
	info.Stream = req.Stream
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
	if err = req.oiSampling.read(f.temperature, f.topP); err != nil {
		return nil, nil, err
	}
	oiClamp01(req.Temperature)
	oiClamp01(req.TopP)
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
