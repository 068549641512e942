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
func (a *AnswerHeader) Keep(in http.Header) http.Header { return SelectHeader(in, a.name, 0) }

// SelectHeader is the headers of in that name keeps, each under the name
// it returns ("" drops it), in a map made at its final size with room for
// extra more: providers send a dozen headers to keep (and SDKs a dozen to
// forward), and a map grown past its first 8 entries is made twice. in is
// walked once, the kept headers gathered on the stack.
func SelectHeader(in http.Header, name func(string) string, extra int) http.Header {
	type kept struct {
		name string
		v    []string
	}
	var spare [16]kept
	keep := spare[:0]
	for k, v := range in {
		if n := name(k); n != "" {
			keep = append(keep, kept{n, v})
		}
	}
	h := make(http.Header, len(keep)+extra)
	for _, e := range keep {
		h[e.name] = e.v
	}
	return h
}

// name is the name an upstream header k is kept under, "" when it is not.
func (a *AnswerHeader) name(k string) string {
	switch {
	case k == "Content-Type", k == "Retry-After", k == "Retry-After-Ms", k == "X-Should-Retry" && a.ShouldRetry:
		return k
	case k == a.RequestID:
		return "Upstream-Request-Id"
	case strings.HasPrefix(k, a.RateLimit):
		return k
	}
	return ""
}
