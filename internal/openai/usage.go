package openai

import (
	"strconv"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/tokens"
)

// ReadUsage reads the "usage" of a chat.completion (or of a stream chunk)
// into t in Anthropic's terms, without decoding anything else:
// input = prompt_tokens − cached, cache_read = cached, output =
// completion_tokens. cached is prompt_tokens_details.cached_tokens, or
// DeepSeek's prompt_cache_hit_tokens. It reports whether usage was found
// (a null usage, as in every chunk but the last, is not usage).
func ReadUsage(b []byte, t *tokens.Totals) bool {
	return MergeUsage(jsonpeek.Member(b, "usage"), t)
}

// MergeUsage is ReadUsage given the usage member's value u (nil: none).
func MergeUsage(u []byte, t *tokens.Totals) bool {
	if u == nil || string(u) == "null" {
		return false
	}
	var prompt, completion, cached, hit int64
	var seen bool
	err := jsonpeek.Object(u, func(key []byte, start, end int) bool {
		v := u[start:end]
		switch string(key) {
		case "prompt_tokens":
			prompt, seen = atoi(v), true
		case "completion_tokens":
			completion, seen = atoi(v), true
		case "prompt_cache_hit_tokens":
			hit = atoi(v)
		case "prompt_tokens_details":
			if c := jsonpeek.Member(v, "cached_tokens"); c != nil {
				cached = atoi(c)
			}
		}
		return true
	})
	if err != nil || !seen {
		return false
	}
	if cached == 0 {
		cached = hit
	}
	t.Input, t.Output, t.CacheRead = max(prompt-cached, 0), completion, cached
	return true
}

// ReadChunkUsage is ReadUsage for one stream chunk's data.
func ReadChunkUsage(data []byte, t *tokens.Totals) bool {
	if len(data) == 0 || data[0] != '{' {
		return false
	}
	return ReadUsage(data, t)
}

// IsErrorChunk reports whether a stream chunk carries an error object
// (some vendors, and the gateway itself, end a broken stream with one).
func IsErrorChunk(data []byte) bool {
	if len(data) == 0 || data[0] != '{' {
		return false
	}
	e := jsonpeek.Member(data, "error")
	return e != nil && string(e) != "null"
}

func atoi(b []byte) int64 {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
