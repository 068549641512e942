// Package apierr defines the gateway's error kinds and the Error type that
// carries a kind, a public message, a cause and an optional retry delay.
//
// Only the server package turns an Error into a response body; the cause is
// for logs and never reaches the client.
package apierr

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error the way the client will see it.
type Kind uint8

// Kinds, one per status the gateway itself produces.
const (
	Internal         Kind = iota // 500 api_error (the zero value: an unclassified error is our fault)
	InvalidRequest               // 400 invalid_request_error
	Authentication               // 401 authentication_error
	Permission                   // 403 permission_error
	NotFound                     // 404 not_found_error
	RequestTooLarge              // 413 request_too_large
	RateLimit                    // 429 rate_limit_error
	BadGateway                   // 502 api_error: the upstream failed or answered garbage
	GatewayTimeout               // 504 api_error: the upstream did not answer in time
	Overloaded                   // 529 overloaded_error
	Unavailable                  // 503 api_error: the gateway is shutting down or has no healthy upstream
	MethodNotAllowed             // 405 invalid_request_error
	RequestTimeout               // 408 timeout_error: the client's request did not arrive in time
	Billing                      // 402 billing_error: the upstream account has no balance
	ContextLength                // 400 invalid_request_error: the prompt is over the model's context window
	UpstreamTimeout              // 504 timeout_error: the upstream said it timed out
	Conflict                     // 409 conflict_error: a request with the same Idempotency-Key is in progress
)

// kindInfo is the one error-kind table: the status, Anthropic's
// error.type, the log name and OpenAI's error.type of each kind.
var kindInfo = [...]struct {
	status int
	typ    string
	name   string
	openai string
}{
	Internal:         {500, "api_error", "internal", "server_error"},
	InvalidRequest:   {400, "invalid_request_error", "invalid_request", "invalid_request_error"},
	Authentication:   {401, "authentication_error", "authentication", "authentication_error"},
	Permission:       {403, "permission_error", "permission", "permission_error"},
	NotFound:         {404, "not_found_error", "not_found", "not_found_error"},
	RequestTooLarge:  {413, "request_too_large", "request_too_large", "invalid_request_error"},
	RateLimit:        {429, "rate_limit_error", "rate_limit", "rate_limit_error"},
	BadGateway:       {502, "api_error", "bad_gateway", "server_error"},
	GatewayTimeout:   {504, "api_error", "gateway_timeout", "server_error"},
	Overloaded:       {529, "overloaded_error", "overloaded", "server_error"},
	Unavailable:      {503, "api_error", "unavailable", "server_error"},
	MethodNotAllowed: {405, "invalid_request_error", "method_not_allowed", "invalid_request_error"},
	RequestTimeout:   {408, "timeout_error", "request_timeout", "invalid_request_error"},
	Billing:          {402, "billing_error", "billing", "insufficient_quota"},
	ContextLength:    {400, "invalid_request_error", "context_length", "invalid_request_error"},
	UpstreamTimeout:  {504, "timeout_error", "upstream_timeout", "server_error"},
	Conflict:         {409, "conflict_error", "conflict", "invalid_request_error"},
}

// Status is the HTTP status for the kind.
func (k Kind) Status() int {
	if int(k) < len(kindInfo) {
		return kindInfo[k].status
	}
	return 500
}

// Type is the Anthropic error.type for the kind.
func (k Kind) Type() string {
	if int(k) < len(kindInfo) {
		return kindInfo[k].typ
	}
	return "api_error"
}

// OpenAIType is OpenAI's error.type for the kind, for clients of the
// OpenAI-format routes.
func (k Kind) OpenAIType() string {
	if int(k) < len(kindInfo) {
		return kindInfo[k].openai
	}
	return "server_error"
}

// String is a stable, lowercase name for logs and metric labels.
func (k Kind) String() string {
	if int(k) < len(kindInfo) {
		return kindInfo[k].name
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Deterministic reports whether the same request would fail the same way
// again, so clients should be told not to retry (x-should-retry: false).
func (k Kind) Deterministic() bool {
	switch k {
	case InvalidRequest, Authentication, Permission, NotFound, RequestTooLarge, MethodNotAllowed, Billing, ContextLength:
		return true
	}
	return false
}

// NeedsOperator reports whether the failure does not pass by itself: a
// credential, a balance or a permission someone must fix. An upstream's
// error of such a kind tells the client not to retry (Claude Code
// otherwise retries a 401 for minutes, PROTOCOL.md §7), where other
// upstream 4xx keep the upstream's own retry advice.
func (k Kind) NeedsOperator() bool {
	return k == Authentication || k == Billing || k == Permission
}

// Error is an error with a client-facing kind and message.
type Error struct {
	Kind       Kind
	Public     string        // safe to show the client
	Err        error         // cause, for logs only
	RetryAfter time.Duration // 0: no retry-after header
	// NoRetry tells the client not to retry (x-should-retry: false) what
	// its kind alone would not: a provider refusing the gateway's own
	// credential, a retry budget spent on a failing upstream.
	NoRetry bool
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Kind.String() + ": " + e.Public
	}
	return e.Kind.String() + ": " + e.Public + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an Error with a public message.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Public: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error with a public message and a private cause.
func Wrap(kind Kind, cause error, public string) *Error {
	return &Error{Kind: kind, Public: public, Err: cause}
}

// From classifies any error: an *Error in the chain is returned as is,
// anything else becomes an Internal error whose cause is err.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Public: "internal error", Err: err}
}
