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
// and gives up (false) wherever its result could differ from
// encoding/json's: invalid JSON, a value of the wrong type, a key given
// twice or matching a field only case-insensitively, an escaped nested
// key, a part type the translation never reads. The caller then decodes
// with encoding/json, which gives the same answer, or the same error, as
// before; the common body never gets there.

import (
	"bytes"
	"encoding/json"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/openai"
)

// The members of each object rdBody decodes, in the order of the structs'
// fields. An index in these lists is the member's bit in rdFields' seen set.
var (
	rdCompletionKeys       = []string{"id", "object", "created", "model", "choices", "usage", "system_fingerprint", "service_tier"}
	rdChoiceKeys           = []string{"index", "message", "finish_reason", "logprobs", "stop_reason"}
	rdMessageKeys          = []string{"role", "content", "name", "tool_calls", "tool_call_id", "refusal", "reasoning_content", "reasoning"}
	rdToolCallKeys         = []string{"index", "id", "type", "function"}
	rdFunctionKeys         = []string{"name", "arguments"}
	rdPartKeys             = []string{"type", "text", "image_url", "file", "input_audio", "refusal"}
	rdUsageKeys            = []string{"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details", "prompt_cache_hit_tokens", "prompt_cache_miss_tokens"}
	rdPromptKeys           = []string{"cached_tokens", "cache_write_tokens", "audio_tokens"}
	rdCompletionDetailKeys = []string{"reasoning_tokens", "audio_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens"}
)

// rdBody decodes body, a chat.completion, into cc (which must be zero) as
// json.Unmarshal would, and reports whether it did. The string fields
// Response does not read (the answer's id, model, system_fingerprint and
// service_tier, a message's role, name and tool_call_id, a tool call's
// type) are only checked to be strings, and stay empty. It also gives up on a
// body that openai.IsErrorChunk reports as an error object, whose message
// the caller reads.
func rdBody(body []byte, cc *openai.ChatCompletion) bool {
	ok := true
	var seen uint64
	errorSeen := false
	err := jsonpeek.Object(body, func(key []byte, start, end int) bool {
		v := body[start:end]
		if string(key) == "error" && !errorSeen {
			// openai.IsErrorChunk looks at the first "error" member only.
			errorSeen = true
			if body[0] == '{' && string(v) != "null" {
				ok = false
				return false
			}
		}
		i := rdField(key, rdCompletionKeys, &seen)
		switch i {
		case rdUnknown:
			return true
		case rdBail:
			ok = false
		case 0, 3, 6, 7: // id, model, system_fingerprint, service_tier
			ok = rdStringKind(v)
		case 1:
			ok = rdWord(v, &cc.Object, "chat.completion")
		case 2:
			ok = rdInt(v, &cc.Created)
		case 4:
			ok = rdChoices(v, &cc.Choices)
		case 5:
			ok = rdUsage(v, &cc.Usage)
		}
		return ok
	})
	return err == nil && ok
}

func rdChoices(v []byte, dst *[]openai.Choice) bool {
	if rdNull(v) {
		*dst = nil
		return true
	}
	cs := []openai.Choice{}
	ok := rdArray(v, func(v []byte) bool {
		cs = append(cs, openai.Choice{})
		return rdNull(v) || rdChoice(v, &cs[len(cs)-1])
	})
	*dst = cs
	return ok
}

func rdChoice(v []byte, c *openai.Choice) bool {
	return rdObject(v, rdChoiceKeys, func(i int, v []byte) bool {
		switch i {
		case 0:
			return rdInt(v, &c.Index)
		case 1:
			return rdNull(v) || rdMessage(v, &c.Message)
		case 2:
			return rdWord(v, &c.FinishReason, openai.FinishStop, openai.FinishToolCalls, openai.FinishLength)
		case 3:
			return rdRaw(v, &c.Logprobs)
		default:
			return rdRaw(v, &c.StopReason)
		}
	})
}

func rdMessage(v []byte, m *openai.Message) bool {
	return rdObject(v, rdMessageKeys, func(i int, v []byte) bool {
		switch i {
		case 0, 2, 4: // role, name, tool_call_id
			return rdStringKind(v)
		case 1:
			return rdContent(v, &m.Content)
		case 3:
			return rdToolCalls(v, &m.ToolCalls)
		case 5:
			return rdStringPtr(v, &m.Refusal)
		case 6:
			return rdStringPtr(v, &m.ReasoningContent)
		default:
			return rdStringPtr(v, &m.Reasoning)
		}
	})
}

// rdContent decodes a message's content as openai.Content.UnmarshalJSON
// does: null is nil, a string is Text, an array is Parts (non-nil).
func rdContent(v []byte, dst **openai.Content) bool {
	switch v[0] {
	case 'n':
		*dst = nil
		return true
	case '"':
		c := &openai.Content{}
		*dst = c
		return rdString(v, &c.Text)
	case '[':
		parts := []openai.Part{}
		ok := rdArray(v, func(v []byte) bool {
			parts = append(parts, openai.Part{})
			return rdNull(v) || rdPart(v, &parts[len(parts)-1])
		})
		*dst = &openai.Content{Parts: parts}
		return ok
	}
	return false
}

// rdPart decodes a text or refusal part; the parts with a nested object
// (image_url, file, input_audio), which an answer does not have, bail.
func rdPart(v []byte, p *openai.Part) bool {
	return rdObject(v, rdPartKeys, func(i int, v []byte) bool {
		switch i {
		case 0:
			return rdString(v, &p.Type)
		case 1:
			return rdString(v, &p.Text)
		case 5:
			return rdString(v, &p.Refusal)
		}
		return false
	})
}

func rdToolCalls(v []byte, dst *[]openai.ToolCall) bool {
	if rdNull(v) {
		*dst = nil
		return true
	}
	calls := []openai.ToolCall{}
	ok := rdArray(v, func(v []byte) bool {
		calls = append(calls, openai.ToolCall{})
		return rdNull(v) || rdToolCall(v, &calls[len(calls)-1])
	})
	*dst = calls
	return ok
}

func rdToolCall(v []byte, tc *openai.ToolCall) bool {
	return rdObject(v, rdToolCallKeys, func(i int, v []byte) bool {
		switch i {
		case 0:
			return rdIntPtr(v, &tc.Index)
		case 1:
			return rdString(v, &tc.ID)
		case 2:
			return rdStringKind(v) // type
		default:
			return rdFunction(v, &tc.Function)
		}
	})
}

// rdFunction decodes a tool call's function as
// openai.FunctionCall.UnmarshalJSON does: null resets it; arguments are a
// JSON string, or any other value kept as compact JSON text.
func rdFunction(v []byte, f *openai.FunctionCall) bool {
	*f = openai.FunctionCall{}
	if rdNull(v) {
		return true
	}
	return rdObject(v, rdFunctionKeys, func(i int, v []byte) bool {
		switch {
		case i == 0:
			return rdString(v, &f.Name)
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
	})
}

func rdUsage(v []byte, dst **openai.Usage) bool {
	if rdNull(v) {
		*dst = nil
		return true
	}
	u := &openai.Usage{}
	*dst = u
	return rdObject(v, rdUsageKeys, func(i int, v []byte) bool {
		switch i {
		case 0:
			return rdInt(v, &u.PromptTokens)
		case 1:
			return rdInt(v, &u.CompletionTokens)
		case 2:
			return rdInt(v, &u.TotalTokens)
		case 3:
			if rdNull(v) {
				u.PromptTokensDetails = nil
				return true
			}
			d := &openai.PromptTokensDetails{}
			u.PromptTokensDetails = d
			return rdInts(v, rdPromptKeys, &d.CachedTokens, &d.CacheWriteTokens, &d.AudioTokens)
		case 4:
			if rdNull(v) {
				u.CompletionTokensDetails = nil
				return true
			}
			d := &openai.CompletionTokensDetails{}
			u.CompletionTokensDetails = d
			return rdInts(v, rdCompletionDetailKeys, &d.ReasoningTokens, &d.AudioTokens, &d.AcceptedPredictionTokens, &d.RejectedPredictionTokens)
		case 5:
			return rdInt(v, &u.PromptCacheHitTokens)
		default:
			return rdInt(v, &u.PromptCacheMissTokens)
		}
	})
}

// rdInts decodes an object of integer members: keys[i] into dst[i].
func rdInts(v []byte, keys []string, dst ...*int64) bool {
	return rdObject(v, keys, func(i int, v []byte) bool { return rdInt(v, dst[i]) })
}
