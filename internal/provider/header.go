package provider

import (
	"net/http"
	"strings"
)

// AnswerHeader names, in one vendor's words, the upstream headers a
// client may act on: besides the content type and the retry hints
// (Retry-After, Retry-After-Ms), the rate-limit state and the request id.
type AnswerHeader struct {
	RequestID string // the upstream's request id, kept as Upstream-Request-Id
	RateLimit string // the prefix of the rate-limit headers
	// ShouldRetry keeps X-Should-Retry, the upstream's own retry verdict.
	ShouldRetry bool
}

// Keep is the headers of in a client may act on. The upstream's request
// id is kept under another name, since the response's request-id is the
// gateway's own.
func (a *AnswerHeader) Keep(in http.Header) http.Header {
	h := make(http.Header, 4)
	for k, v := range in {
		switch {
		case k == "Content-Type", k == "Retry-After", k == "Retry-After-Ms", k == "X-Should-Retry" && a.ShouldRetry:
			h[k] = v
		case k == a.RequestID:
			h["Upstream-Request-Id"] = v
		case strings.HasPrefix(k, a.RateLimit):
			h[k] = v
		}
	}
	return h
}
