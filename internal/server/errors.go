package server

import (
	"encoding/json"
	"strconv"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/provider"
)

// fail answers a request with the gateway's own error, in Anthropic's
// shape. It is the only place a gateway error becomes a response.
func (s *Server) fail(x *exchange, err error) {
	e := apierr.From(err)
	x.err = e
	s.m.Errors.WithLabelValues(x.endpoint, e.Kind.String()).Inc()
	if x.wroteHeader {
		// The status is gone; the caller must end the stream instead.
		return
	}
	h := x.Header()
	h.Set("Content-Type", "application/json")
	if e.Kind.Deterministic() || e.NoRetry {
		// Without this, Claude Code retries a 401 for minutes.
		h.Set("X-Should-Retry", "false")
	}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+999_999_999)/1_000_000_000)))
	}
	if e.Kind == apierr.RequestTooLarge {
		// The rest of the body is not read: the connection cannot be reused.
		h.Set("Connection", "close")
	}
	body := errorBody(x.id, e.Kind.Type(), e.Public)
	if x.format == provider.FormatOpenAI {
		body = openaiErrorBody(e.Kind, e.Public)
	}
	writeJSON(x, e.Kind.Status(), body)
}

// openaiErrorBody is OpenAI's error shape, {"error":{"message","type","param","code"}},
// for clients of /v1/chat/completions.
func openaiErrorBody(k apierr.Kind, msg string) []byte {
	typ := "invalid_request_error"
	switch k {
	case apierr.Authentication:
		typ = "authentication_error"
	case apierr.Permission:
		typ = "permission_error"
	case apierr.NotFound:
		typ = "not_found_error"
	case apierr.RateLimit:
		typ = "rate_limit_error"
	case apierr.Internal, apierr.BadGateway, apierr.GatewayTimeout, apierr.Unavailable, apierr.Overloaded:
		typ = "server_error"
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}})
	return b
}

func errorBody(id, typ, msg string) []byte {
	b, _ := json.Marshal(anthropic.ErrorBody{Type: "error", Error: anthropic.ErrorDetail{Type: typ, Message: msg}, RequestID: id})
	return b
}

func writeJSON(x *exchange, status int, body []byte) {
	h := x.Header()
	if h.Get("Content-Type") == "" {
		h["Content-Type"] = []string{"application/json"}
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	x.WriteHeader(status)
	x.Write(body)
}
