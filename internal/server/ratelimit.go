package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/ratelimit"
)

// bytesPerToken turns a request's size into its input-token estimate for
// the reservation. Four bytes a token is the usual rule of thumb for English
// and JSON; it undercounts CJK text (three bytes a character, about a token
// each) and overcounts base64 images. It need not be exact: the reservation
// is settled to the real usage when the request ends.
const bytesPerToken = 4

// admit asks the rate limiter whether the request may start, and sets the
// rate-limit headers either way. Refused, the error is answered and admit
// returns false. The ticket must be settled (s.settle) when the request ends.
func (s *Server) admit(x *exchange, r *http.Request, op provider.Op, peek anthropic.Peek, bodyLen int) (ratelimit.Ticket, bool) {
	if s.limiter == nil {
		return ratelimit.Ticket{}, true
	}
	var own ratelimit.Own
	if x.ident != nil {
		l := x.ident.Limits
		own = ratelimit.Own{RPM: int64(l.RequestsPerMinute), TPM: int64(l.TokensPerMinute), Concurrency: int64(l.Concurrency)}
	}
	if !s.limiter.Applies(own) {
		return ratelimit.Ticket{}, true
	}
	subj := ratelimit.Subject{Key: x.key, Own: own}
	if ip := s.limiter.ClientIP(r.RemoteAddr, r.Header["X-Forwarded-For"]); ip.IsValid() {
		subj.IP = ip.String()
	}
	if x.rt != nil {
		subj.Route = x.rt.Match
	}
	if h := s.limiter.TagHeader(); h != "" {
		subj.Tag = r.Header.Get(h)
	}
	if subj.Tag == "" && x.ident != nil {
		subj.Tag = x.ident.Tag // a managed key's traffic tag, when the request names none
	}
	t, err := s.limiter.Admit(r.Context(), subj, estimate(op, bodyLen, peek.MaxTokens))
	s.rateHeaders(x, &t)
	if err != nil {
		s.fail(x, err)
		return t, false
	}
	return t, true
}

// estimate is the tokens a request reserves: its input, guessed from its
// size, and all the output it allows. count_tokens generates nothing and is
// charged as a request only.
func estimate(op provider.Op, bodyLen int, maxTokens int64) int64 {
	if op == provider.OpCountTokens {
		return 0
	}
	return int64(bodyLen)/bytesPerToken + maxTokens
}

// settle ends the request's ticket with the tokens it really used: input,
// output and cache tokens as the upstream reported them; none when the
// request failed without usage (no upstream answered, or it answered an
// error); the reservation itself when an answer came without usage.
func (s *Server) settle(x *exchange, r *http.Request, t *ratelimit.Ticket) {
	if s.limiter == nil {
		return
	}
	actual := t.Estimate()
	switch {
	case x.usageSeen:
		u := x.usage
		actual = u.Input + u.Output + u.CacheRead + u.CacheCreation
		if x.streamErr != nil {
			// Cut short (the client left, the upstream broke): the usage
			// seen is message_start's, with output near zero, though the
			// output relayed so far was generated, and a client that hangs
			// up must not dodge the token limit. Charge at least the output
			// relayed, estimated from the deltas' text (relayed.go).
			actual = max(actual, u.Input+u.CacheRead+u.CacheCreation+x.relayed.tokens())
		}
	case x.status >= 400 || x.err != nil:
		actual = 0
	}
	// After the response: the client may be gone, the settlement is still
	// due; Settle ignores the cancellation and bounds its own wait
	// (ratelimit.SettleTimeout).
	t.Settle(r.Context(), actual)
}

// rateHeaders sets the rate-limit headers of the limits that apply, in the
// client's format. Anthropic's clients read anthropic-ratelimit-*, with the
// reset as an RFC 3339 time (PROTOCOL.md §6); OpenAI's read x-ratelimit-*,
// with the reset as a duration ("1s", "6m0s"). The reset is when the
// bucket is full again, rounded up to the second for Anthropic's format so
// it is never early. Set before the upstream's headers are copied, they
// are set again after (a real Anthropic upstream sends its own, about the
// provider's account rather than this client).
func (s *Server) rateHeaders(x *exchange, t *ratelimit.Ticket) {
	if s.limiter == nil {
		return
	}
	h := x.Header()
	names := &anthropicRateHeaders
	if x.format == provider.FormatOpenAI {
		names = &openaiRateHeaders
	}
	_, reqOK := t.Requests()
	_, tokOK := t.Tokens()
	if reqOK || tokOK {
		// Our limits apply: the upstream's own rate-limit headers describe
		// the provider's account, not this client, and clients act on
		// them (a tokens header our rules do not set would pass through).
		for k := range h {
			if strings.HasPrefix(k, "Anthropic-Ratelimit-") || strings.HasPrefix(k, "X-Ratelimit-") {
				delete(h, k)
			}
		}
	}
	// The six values are formatted into one buffer, made one string and
	// sliced: two allocations (the string and the values' backing array)
	// instead of a string and a slice per header.
	var buf [160]byte
	b := buf[:0]
	var ends [6]int
	var set [2]bool
	for i := range 2 {
		q, ok := t.Requests()
		if i == 1 {
			q, ok = t.Tokens()
		}
		if !ok {
			continue
		}
		set[i] = true
		b = strconv.AppendInt(b, q.Limit, 10)
		ends[3*i] = len(b)
		b = strconv.AppendInt(b, q.Remaining, 10)
		ends[3*i+1] = len(b)
		b = appendReset(b, names == &openaiRateHeaders, q)
		ends[3*i+2] = len(b)
	}
	if !set[0] && !set[1] {
		return
	}
	all, vals, start := string(b), make([]string, 6), 0
	for i := range 2 {
		if !set[i] {
			continue
		}
		for j := range 3 {
			k := 3*i + j
			vals[k] = all[start:ends[k]]
			start = ends[k]
			h[names[i][j]] = vals[k : k+1 : k+1]
		}
	}
}

// appendReset appends a quota's reset: for OpenAI's clients the time until
// the bucket is full ("1.2s", "6m0s"); for Anthropic's, the time it is,
// RFC 3339, rounded up to the second so it is never early.
func appendReset(b []byte, openai bool, q ratelimit.Quota) []byte {
	if openai {
		return append(b, q.ResetIn.String()...)
	}
	at := q.Reset.UTC()
	if at.Nanosecond() != 0 {
		at = at.Truncate(time.Second).Add(time.Second)
	}
	return at.AppendFormat(b, time.RFC3339)
}

// The rate-limit header names, canonical: requests, then tokens; limit,
// remaining, reset.
var (
	anthropicRateHeaders = [2][3]string{
		{"Anthropic-Ratelimit-Requests-Limit", "Anthropic-Ratelimit-Requests-Remaining", "Anthropic-Ratelimit-Requests-Reset"},
		{"Anthropic-Ratelimit-Tokens-Limit", "Anthropic-Ratelimit-Tokens-Remaining", "Anthropic-Ratelimit-Tokens-Reset"},
	}
	openaiRateHeaders = [2][3]string{
		{"X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests"},
		{"X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Tokens"},
	}
)
