package openai

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/tokens"
)

// Finish reasons.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishToolCalls     = "tool_calls"
	FinishContentFilter = "content_filter"
	FinishFunctionCall  = "function_call" // deprecated functions API
)

// Head is the members an answer and a stream chunk both begin with. It is
// embedded first in ChatCompletion and Chunk, so that encoding/json writes
// its members first and decodes them as the outer type's own.
type Head struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // "chat.completion" or "chat.completion.chunk"
	Created int64  `json:"created"`
	Model   string `json:"model"`
}

// ChatCompletion is a non-streaming answer ("object":"chat.completion").
type ChatCompletion struct {
	Head
	Choices           []Choice `json:"choices"`
	Usage             *Usage   `json:"usage,omitempty"`
	SystemFingerprint string   `json:"system_fingerprint,omitempty"`
	ServiceTier       string   `json:"service_tier,omitempty"`
}

// Choice is one of an answer's choices (the gateway asks for one).
type Choice struct {
	Index        int     `json:"index"`
	Message      Message `json:"message"`
	FinishReason string  `json:"finish_reason"` // null decodes as ""
	// Logprobs is kept as received.
	Logprobs json.RawMessage `json:"logprobs,omitempty"`
	// StopReason is vLLM's extension: the stop string (a JSON string) or
	// token id (a number) that ended generation, or null.
	StopReason json.RawMessage `json:"stop_reason,omitempty"`
}

// Usage is an answer's token counts. PromptTokens includes the cached
// tokens. DeepSeek reports its cache hits as PromptCacheHitTokens (and also,
// lately, in PromptTokensDetails.CachedTokens).
type Usage struct {
	PromptTokens            int64                    `json:"prompt_tokens"`
	CompletionTokens        int64                    `json:"completion_tokens"`
	TotalTokens             int64                    `json:"total_tokens"`
	PromptTokensDetails     *PromptTokensDetails     `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *CompletionTokensDetails `json:"completion_tokens_details,omitempty"`
	PromptCacheHitTokens    int64                    `json:"prompt_cache_hit_tokens,omitempty"`
	PromptCacheMissTokens   int64                    `json:"prompt_cache_miss_tokens,omitempty"`
}

// PromptTokensDetails breaks PromptTokens down. CacheWriteTokens is
// OpenRouter's count of tokens written to a prompt cache.
type PromptTokensDetails struct {
	CachedTokens     int64 `json:"cached_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens,omitempty"`
	AudioTokens      int64 `json:"audio_tokens,omitempty"`
}

// CompletionTokensDetails breaks CompletionTokens down; reasoning tokens
// are part of CompletionTokens.
type CompletionTokensDetails struct {
	ReasoningTokens          int64 `json:"reasoning_tokens"`
	AudioTokens              int64 `json:"audio_tokens,omitempty"`
	AcceptedPredictionTokens int64 `json:"accepted_prediction_tokens,omitempty"`
	RejectedPredictionTokens int64 `json:"rejected_prediction_tokens,omitempty"`
}

// Totals converts u to Anthropic's terms, where input_tokens excludes the
// tokens read from or written to the cache (PROTOCOL.md §3, VENDORS.md C10):
// cached = prompt_tokens_details.cached_tokens, or DeepSeek's
// prompt_cache_hit_tokens; Input = prompt_tokens − cached − cache writes
// (never below 0); CacheRead = cached; CacheCreation =
// cache_write_tokens; Output = completion_tokens. A nil u gives zeros.
func (u *Usage) Totals() tokens.Totals {
	if u == nil {
		return tokens.Totals{}
	}
	var cached, written int64
	if d := u.PromptTokensDetails; d != nil {
		cached, written = max(d.CachedTokens, 0), max(d.CacheWriteTokens, 0)
	}
	if cached == 0 {
		cached = max(u.PromptCacheHitTokens, 0)
	}
	return tokens.Totals{
		Input:         max(u.PromptTokens-cached-written, 0),
		Output:        max(u.CompletionTokens, 0),
		CacheRead:     cached,
		CacheCreation: written,
	}
}

// Chunk is one stream event's data ("object":"chat.completion.chunk").
// With stream_options.include_usage the last chunk has empty Choices and
// Usage set; encoders should write that as "choices":[] (a non-nil empty
// slice), as OpenAI does.
type Chunk struct {
	Head
	Choices           []ChunkChoice `json:"choices"`
	Usage             *Usage        `json:"usage,omitempty"`
	SystemFingerprint string        `json:"system_fingerprint,omitempty"`
}

// ChunkChoice is a chunk's choice. FinishReason is null (nil) until the
// last content chunk; some vendors (Zhipu) omit it instead.
type ChunkChoice struct {
	Index        int             `json:"index"`
	Delta        Delta           `json:"delta"`
	FinishReason *string         `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs,omitempty"`
	StopReason   json.RawMessage `json:"stop_reason,omitempty"` // vLLM, as in Choice
}

// Delta is a chunk's increment of the message. Content and the reasoning
// fields are pointers so that an encoder can write an empty string (the
// first OpenAI chunk has "content":"") and a decoder can tell it from
// absent.
type Delta struct {
	Role             string     `json:"role,omitempty"`
	Content          *string    `json:"content,omitempty"`
	ReasoningContent *string    `json:"reasoning_content,omitempty"`
	Reasoning        *string    `json:"reasoning,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
	Refusal          *string    `json:"refusal,omitempty"`
}

// ReasoningText is Message.ReasoningText for a delta.
func (d *Delta) ReasoningText(fields []string) string {
	return reasoningText(fields, d.ReasoningContent, d.Reasoning)
}

// ErrorBody is the error envelope: {"error":{"message","type","param","code"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inner error object. Vendors fill it unevenly: Zhipu
// sends only code (a string such as "1210") and message; Moonshot only
// message and type.
type ErrorDetail struct {
	Message string    `json:"message"`
	Type    string    `json:"type,omitempty"`
	Param   *string   `json:"param"`
	Code    ErrorCode `json:"code"`
}

// ErrorCode is an error's "code", which vendors send as a string
// ("invalid_request_error", "1210"), a number (kept as its JSON text,
// "1210") or null (""). It marshals as a string, or null when empty.
type ErrorCode string

func (c ErrorCode) MarshalJSON() ([]byte, error) {
	if c == "" {
		return []byte("null"), nil
	}
	return marshal(string(c))
}

func (c *ErrorCode) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var v string
	if jsonpeek.Kind(b) == "number" {
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		v = string(n)
	} else if err := textOrNull(b, &v, reflect.TypeFor[ErrorCode]()); err != nil {
		return err
	}
	*c = ErrorCode(v)
	return nil
}
