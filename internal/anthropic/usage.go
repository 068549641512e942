package anthropic

import (
	"strconv"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// Usage field names, as the API spells them.
const (
	fieldInput         = "input_tokens"
	fieldOutput        = "output_tokens"
	fieldCacheRead     = "cache_read_input_tokens"
	fieldCacheCreation = "cache_creation_input_tokens"
)

// MergeUsage reads a usage object (the bytes of its JSON value) into t,
// overwriting the counts it holds: stream usage counts are cumulative
// totals, not increments (the SDKs overwrite, never add). It reports
// whether b was a usage object. It decodes nothing else, so it costs no
// allocation: it runs on the hot path of every stream and answer.
func MergeUsage(b []byte, t *Totals) bool {
	err := jsonpeek.Object(b, func(key []byte, start, end int) bool {
		var dst *int64
		switch string(key) {
		case fieldInput:
			dst = &t.Input
		case fieldOutput:
			dst = &t.Output
		case fieldCacheRead:
			dst = &t.CacheRead
		case fieldCacheCreation:
			dst = &t.CacheCreation
		default:
			return true
		}
		// null leaves the count as it was; a non-integer is ignored.
		if n, err := strconv.ParseInt(string(b[start:end]), 10, 64); err == nil && n >= 0 {
			*dst = n
		}
		return true
	})
	return err == nil
}

// MessageUsage merges the usage of a Message body (non-streaming answer).
func MessageUsage(body []byte, t *Totals) bool {
	u := jsonpeek.Member(body, "usage")
	return u != nil && MergeUsage(u, t)
}

// StartUsage merges the usage of a message_start event's data.
func StartUsage(data []byte, t *Totals) bool {
	m := jsonpeek.Member(data, "message")
	if m == nil {
		return false
	}
	u := jsonpeek.Member(m, "usage")
	return u != nil && MergeUsage(u, t)
}

// DeltaUsage merges the usage of a message_delta event's data.
func DeltaUsage(data []byte, t *Totals) bool {
	u := jsonpeek.Member(data, "usage")
	return u != nil && MergeUsage(u, t)
}
