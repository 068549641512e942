package translate

// Anthropic Message → OpenAI chat.completion (non-streaming), and Anthropic
// errors → OpenAI's error shape, for OpenAI clients.

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/tokens"
)

// Anthropic Message, as AnthropicToOpenAIResponse reads it.
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

// OpenAI chat.completion, as AnthropicToOpenAIResponse writes it.
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
// "msg_01X…" becomes "chatcmpl-01X…".
func oiCompletionID(msgID string, env Env) string { return answerID("chatcmpl-", msgID, env) }

func oiCreated(info *OpenAIRequestInfo) int64 {
	if info == nil {
		return 0
	}
	return info.Created
}

func oiEnv(info *OpenAIRequestInfo) Env {
	if info == nil {
		return Env{}
	}
	return info.Env
}

// AnthropicToOpenAIResponse turns an Anthropic Message JSON into an OpenAI
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
func AnthropicToOpenAIResponse(msg []byte, info *OpenAIRequestInfo) ([]byte, error) {
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
		ID:      oiCompletionID(m.ID, oiEnv(info)),
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

// AnthropicToOpenAIError turns an Anthropic error response (status, body) into an
// OpenAI error body {"error":{"message","type","param":null,"code"}}.
// message and type are Anthropic's (the types largely coincide with
// OpenAI's); code is the OpenAI code clients act on where there is one
// (invalid_api_key, rate_limit_exceeded, model_not_found,
// context_length_exceeded), else null; a context-length message is
// reworded as OpenAI words it (tokens/overflow.go). A body that is not an Anthropic
// error gets the type for its status and a generic message: it is not
// echoed, since it may be a proxy's HTML page.
func AnthropicToOpenAIError(status int, body []byte) []byte {
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
	if c, ok := tokens.ParseAnthropicContextMessage(d.Message); ok && d.Code == "context_length_exceeded" {
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
