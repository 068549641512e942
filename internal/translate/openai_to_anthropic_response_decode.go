package translate

// Decoding an upstream's chat.completion body in one validating pass.
//
// OpenAIToAnthropicResponse used to decode the body with encoding/json,
// which validates the whole body (checkValid) and then decodes it by
// reflection, a byte at a time: most of the translated path's CPU. rdBody
// validates the body once with jsonpeek.Object and decodes the members
// from the spans it reports, skimming nested objects (jsonpeek.Skim, which
// trusts the validated bytes) and decoding strings with jsonpeek.String,
// which resolves escapes and invalid UTF-8 exactly as encoding/json does.
//
// It decodes into the same openai.ChatCompletion encoding/json would fill,
// and gives up (false) wherever its result could differ (see
// json_decode.go), and on a part type an answer does not have. The caller
// then decodes with encoding/json, which gives the same answer, or the
// same error, as before; the common body never gets there.

import (
	"bytes"
	"encoding/json"

	"github.com/ferrygw/ferry/internal/openai"
)

// rdBody decodes body, a chat.completion, into cc (which must be zero) as
// json.Unmarshal would, and reports whether it did. The string fields
// Response does not read (the answer's id, model, system_fingerprint and
// service_tier, a message's role, name and tool_call_id, a tool call's
// type) are only checked to be strings, and stay empty. It also gives up
// on a body that openai.IsErrorChunk reports as an error object, whose
// message the caller reads.
func rdBody(body []byte, cc *openai.ChatCompletion) bool {
	return rdCompletion.top(body, cc)
}

var (
	rdCompletion = rdStruct[openai.ChatCompletion]{
		{"id", rdSkipString[openai.ChatCompletion]},
		{"object", func(v []byte, c *openai.ChatCompletion) bool { return rdWord(v, &c.Object, "chat.completion") }},
		{"created", func(v []byte, c *openai.ChatCompletion) bool { return rdInt(v, &c.Created) }},
		{"model", rdSkipString[openai.ChatCompletion]},
		{"choices", func(v []byte, c *openai.ChatCompletion) bool { return rdSlice(v, &c.Choices, rdChoice.object) }},
		{"usage", func(v []byte, c *openai.ChatCompletion) bool { return rdNew(v, &c.Usage, rdUsage.object) }},
		{"system_fingerprint", rdSkipString[openai.ChatCompletion]},
		{"service_tier", rdSkipString[openai.ChatCompletion]},
		// openai.IsErrorChunk's test; a second "error" gives up.
		{"error", func(v []byte, c *openai.ChatCompletion) bool { return rdNull(v) }},
	}
	rdChoice = rdStruct[openai.Choice]{
		{"index", func(v []byte, c *openai.Choice) bool { return rdInt(v, &c.Index) }},
		{"message", func(v []byte, c *openai.Choice) bool { return rdMessage.object(v, &c.Message) }},
		{"finish_reason", func(v []byte, c *openai.Choice) bool {
			return rdWord(v, &c.FinishReason, openai.FinishStop, openai.FinishToolCalls, openai.FinishLength)
		}},
		{"logprobs", func(v []byte, c *openai.Choice) bool { return rdRaw(v, &c.Logprobs) }},
		{"stop_reason", func(v []byte, c *openai.Choice) bool { return rdRaw(v, &c.StopReason) }},
	}
	rdMessage = rdStruct[openai.Message]{
		{"role", rdSkipString[openai.Message]},
		{"content", func(v []byte, m *openai.Message) bool { return rdNew(v, &m.Content, rdContent) }},
		{"name", rdSkipString[openai.Message]},
		{"tool_calls", func(v []byte, m *openai.Message) bool { return rdSlice(v, &m.ToolCalls, rdToolCall.object) }},
		{"tool_call_id", rdSkipString[openai.Message]},
		{"refusal", func(v []byte, m *openai.Message) bool { return rdStringPtr(v, &m.Refusal) }},
		{"reasoning_content", func(v []byte, m *openai.Message) bool { return rdStringPtr(v, &m.ReasoningContent) }},
		{"reasoning", func(v []byte, m *openai.Message) bool { return rdStringPtr(v, &m.Reasoning) }},
	}
	// rdPart reads text and refusal parts; the parts with a nested object
	// (image_url, file, input_audio), which an answer does not have, give
	// up.
	rdPart = rdStruct[openai.Part]{
		{"type", func(v []byte, p *openai.Part) bool { return rdString(v, &p.Type) }},
		{"text", func(v []byte, p *openai.Part) bool { return rdString(v, &p.Text) }},
		{"image_url", rdGiveUp[openai.Part]},
		{"file", rdGiveUp[openai.Part]},
		{"input_audio", rdGiveUp[openai.Part]},
		{"refusal", func(v []byte, p *openai.Part) bool { return rdString(v, &p.Refusal) }},
	}
	rdToolCall = rdStruct[openai.ToolCall]{
		{"index", func(v []byte, c *openai.ToolCall) bool { return rdIntPtr(v, &c.Index) }},
		{"id", func(v []byte, c *openai.ToolCall) bool { return rdString(v, &c.ID) }},
		{"type", rdSkipString[openai.ToolCall]},
		{"function", func(v []byte, c *openai.ToolCall) bool { return rdFunction(v, &c.Function) }},
	}
	rdFunctionCall = rdStruct[openai.FunctionCall]{
		{"name", func(v []byte, f *openai.FunctionCall) bool { return rdString(v, &f.Name) }},
		{"arguments", rdArguments},
	}
	rdUsage = rdStruct[openai.Usage]{
		{"prompt_tokens", func(v []byte, u *openai.Usage) bool { return rdInt(v, &u.PromptTokens) }},
		{"completion_tokens", func(v []byte, u *openai.Usage) bool { return rdInt(v, &u.CompletionTokens) }},
		{"total_tokens", func(v []byte, u *openai.Usage) bool { return rdInt(v, &u.TotalTokens) }},
		{"prompt_tokens_details", func(v []byte, u *openai.Usage) bool { return rdNew(v, &u.PromptTokensDetails, rdPromptDetails.object) }},
		{"completion_tokens_details", func(v []byte, u *openai.Usage) bool {
			return rdNew(v, &u.CompletionTokensDetails, rdCompletionDetails.object)
		}},
		{"prompt_cache_hit_tokens", func(v []byte, u *openai.Usage) bool { return rdInt(v, &u.PromptCacheHitTokens) }},
		{"prompt_cache_miss_tokens", func(v []byte, u *openai.Usage) bool { return rdInt(v, &u.PromptCacheMissTokens) }},
	}
	rdPromptDetails = rdStruct[openai.PromptTokensDetails]{
		{"cached_tokens", func(v []byte, d *openai.PromptTokensDetails) bool { return rdInt(v, &d.CachedTokens) }},
		{"cache_write_tokens", func(v []byte, d *openai.PromptTokensDetails) bool { return rdInt(v, &d.CacheWriteTokens) }},
		{"audio_tokens", func(v []byte, d *openai.PromptTokensDetails) bool { return rdInt(v, &d.AudioTokens) }},
	}
	rdCompletionDetails = rdStruct[openai.CompletionTokensDetails]{
		{"reasoning_tokens", func(v []byte, d *openai.CompletionTokensDetails) bool { return rdInt(v, &d.ReasoningTokens) }},
		{"audio_tokens", func(v []byte, d *openai.CompletionTokensDetails) bool { return rdInt(v, &d.AudioTokens) }},
		{"accepted_prediction_tokens", func(v []byte, d *openai.CompletionTokensDetails) bool {
			return rdInt(v, &d.AcceptedPredictionTokens)
		}},
		{"rejected_prediction_tokens", func(v []byte, d *openai.CompletionTokensDetails) bool {
			return rdInt(v, &d.RejectedPredictionTokens)
		}},
	}
)

// rdGiveUp leaves a member to encoding/json.
func rdGiveUp[T any](_ []byte, _ *T) bool { return false }

// rdContent decodes a non-null message content as
// openai.Content.UnmarshalJSON does: a string is Text, an array Parts
// (non-nil).
func rdContent(v []byte, c *openai.Content) bool {
	if v[0] == '"' {
		return rdString(v, &c.Text)
	}
	return rdSlice(v, &c.Parts, rdPart.object)
}

// rdFunction decodes a tool call's function as
// openai.FunctionCall.UnmarshalJSON does: null resets it.
func rdFunction(v []byte, f *openai.FunctionCall) bool {
	*f = openai.FunctionCall{}
	return rdFunctionCall.object(v, f)
}

// rdArguments decodes a function's arguments: a JSON string, or any other
// value kept as its compact JSON text; null gives "".
func rdArguments(v []byte, f *openai.FunctionCall) bool {
	switch {
	case rdNull(v):
		return true
	case v[0] == '"':
		return rdString(v, &f.Arguments)
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) != nil {
		return false
	}
	f.Arguments = buf.String()
	return true
}
