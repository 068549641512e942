package anthropic

import "github.com/ferrygw/ferry/internal/tokens"

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

// Totals are a message's token counts; the API's usage object, as read by
// MergeUsage. The type lives in package tokens, below both wire packages.
type Totals = tokens.Totals

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
