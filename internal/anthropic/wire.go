package anthropic

// ErrorBody is the error envelope of the Messages API:
// {"type":"error","error":{"type":"...","message":"..."},"request_id":"req_..."}.
type ErrorBody struct {
	Type      string      `json:"type"` // always "error"
	Error     ErrorDetail `json:"error"`
	RequestID string      `json:"request_id,omitempty"`
}

// ErrorDetail is the inner error object.
type ErrorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// Usage is a message's token usage. Pointer fields distinguish "absent" from
// zero where a stream's message_delta may overwrite message_start's counts.
type Usage struct {
	InputTokens              *int64 `json:"input_tokens,omitempty"`
	OutputTokens             *int64 `json:"output_tokens,omitempty"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens,omitempty"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens,omitempty"`
}

// Totals are usage counts with absent fields as zero.
type Totals struct {
	Input, Output, CacheRead, CacheCreation int64
}

// Merge overwrites t's counts with those present in u. Stream usage counts
// are cumulative totals, not increments (the SDKs overwrite, never add), so a
// later event replaces an earlier one's value.
func (t *Totals) Merge(u *Usage) {
	if u == nil {
		return
	}
	if u.InputTokens != nil {
		t.Input = *u.InputTokens
	}
	if u.OutputTokens != nil {
		t.Output = *u.OutputTokens
	}
	if u.CacheReadInputTokens != nil {
		t.CacheRead = *u.CacheReadInputTokens
	}
	if u.CacheCreationInputTokens != nil {
		t.CacheCreation = *u.CacheCreationInputTokens
	}
}

// MessageStartEvent is the part of message_start the gateway reads.
type MessageStartEvent struct {
	Message struct {
		ID    string `json:"id"`
		Model string `json:"model"`
		Usage *Usage `json:"usage"`
	} `json:"message"`
}

// MessageDeltaEvent is the part of message_delta the gateway reads.
type MessageDeltaEvent struct {
	Delta struct {
		StopReason string `json:"stop_reason"`
	} `json:"delta"`
	Usage *Usage `json:"usage"`
}

// MessageSummary is the part of a non-streaming Message the gateway reads.
type MessageSummary struct {
	ID         string `json:"id"`
	Model      string `json:"model"`
	StopReason string `json:"stop_reason"`
	Usage      *Usage `json:"usage"`
}

// ModelInfo is one entry of GET /v1/models.
type ModelInfo struct {
	Type        string `json:"type"` // "model"
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"` // RFC 3339
}

// ModelList is the GET /v1/models page.
type ModelList struct {
	Data    []ModelInfo `json:"data"`
	HasMore bool        `json:"has_more"`
	FirstID *string     `json:"first_id"`
	LastID  *string     `json:"last_id"`
}
