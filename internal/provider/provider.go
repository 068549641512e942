// Package provider holds what every provider takes and returns: a Call in
// Anthropic's format and the upstream's Response. The providers themselves
// live in the subpackages; the relay, which uses them, defines the
// interface they satisfy.
package provider

import (
	"io"
	"net/http"
	"time"

	"github.com/ferrygw/ferry/internal/anthropic"
)

// Op is the operation a call performs.
type Op uint8

// Operations.
const (
	OpMessages    Op = iota // POST /v1/messages
	OpCountTokens           // POST /v1/messages/count_tokens
)

func (o Op) String() string {
	switch o {
	case OpMessages:
		return "messages"
	case OpCountTokens:
		return "count_tokens"
	}
	return "unknown"
}

// Format is a wire format.
type Format uint8

// Formats.
const (
	FormatAnthropic Format = iota // Messages API (the canonical format)
	FormatOpenAI                  // Chat Completions
)

// Call is one request to one provider, in Anthropic's format unless Format
// says otherwise (a provider that speaks a format natively takes it as is).
type Call struct {
	Op     Op
	Format Format
	Body   []byte      // the request body, with the model already rewritten for the upstream
	Model  string      // the model name the upstream sees
	Stream bool        // the client asked for "stream": true
	Query  string      // raw query to forward (the SDKs' "beta=true"), already filtered
	Header http.Header // the client's request headers; providers copy only what they allow
	// SetHeader are headers the route's header policy sets upstream, after
	// the provider's own (canonical name, value). Config validation keeps
	// credentials and hop-by-hop headers out; providers skip them anyway
	// (Protected).
	SetHeader [][2]string

	// Node is the index, into the provider's Nodes, of the node to call.
	// The relay chooses it: a provider makes exactly one attempt, on this
	// node, and never fails over by itself.
	Node int
	// FirstByte bounds the wait for the response headers of this attempt,
	// StreamIdle the silence between two reads of the answer (a route's
	// override, or the provider's own timeouts). Zero: the provider's
	// configured value.
	FirstByte  time.Duration
	StreamIdle time.Duration

	// Prepared and PreparedBody are the relay's translation of the call
	// for an upstream of another format (package convert: an Anthropic
	// call for a Chat Completions upstream), made once per target before
	// the first attempt, so that a retried request is not decoded and
	// encoded again. The provider sends PreparedBody; Prepared is the
	// relay's, which translates each answer back.
	Prepared     any
	PreparedBody []byte
}

// Protected reports whether a canonical header name is one a header policy
// must never set: the credential headers, which the provider sends from
// its own key, and those the connection owns.
func Protected(name string) bool {
	switch name {
	case "Authorization", "X-Api-Key", "Cookie", "Host", "Content-Length",
		"Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return len(name) > 6 && name[:6] == "Proxy-"
}

// ApplySetHeader sets c.SetHeader on h, skipping protected names.
func (c *Call) ApplySetHeader(h http.Header) {
	for _, kv := range c.SetHeader {
		if !Protected(kv[0]) {
			h[kv[0]] = []string{kv[1]}
		}
	}
}

// Timeouts returns the call's first-byte and stream-idle timeouts, each
// falling back to the provider's own (firstByte, idle) when the call (the
// route) sets none.
func (c *Call) Timeouts(firstByte, idle time.Duration) (time.Duration, time.Duration) {
	if c.FirstByte > 0 {
		firstByte = c.FirstByte
	}
	if c.StreamIdle > 0 {
		idle = c.StreamIdle
	}
	return firstByte, idle
}

// Response is an upstream's answer in Anthropic's format. Exactly one of
// Body and Events is set.
type Response struct {
	Status int
	Header http.Header   // headers for the client, already filtered
	Body   io.ReadCloser // a JSON body (success or error)
	Events Stream        // an event stream (status 200 to a streaming call)
	Node   string        // the label of the node that answered, for logs
	// Usage, when set, is the answer's usage read before a translation
	// that drops it; otherwise it is read from the answer itself.
	Usage *anthropic.Totals
	// Local marks an answer the gateway made itself (a count_tokens
	// estimate): no upstream was called, so it says nothing about a
	// node's latency or health.
	Local bool
	// Note is a problem with the upstream's answer that the client does
	// not see as such (a repaired answer, an untranslatable one turned
	// into a 502): for the access log and metrics, never for the client.
	Note error
}

// Close releases whichever of Body and Events is set.
func (r *Response) Close() error {
	if r.Events != nil {
		return r.Events.Close()
	}
	if r.Body != nil {
		return r.Body.Close()
	}
	return nil
}
