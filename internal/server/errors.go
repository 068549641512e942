package server

import (
	"strconv"

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
	writeJSON(x, e.Kind.Status(), apierr.AppendBody(nil, protocol(x), e.Kind, e.Public, x.id))
}

// protocol is the error shape x's client reads.
func protocol(x *exchange) apierr.Protocol {
	if x.format == provider.FormatOpenAI {
		return apierr.OpenAI
	}
	return apierr.Anthropic
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
