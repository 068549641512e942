package anthropic

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// Peek is what the gateway needs to know about a /v1/messages or
// /v1/messages/count_tokens request body before routing it. It is produced
// by Inspect and remembers where the model is so WithModel can rewrite it
// without re-parsing the body.
type Peek struct {
	Model  string // the "model" field, decoded
	Stream bool   // the "stream" field; absent or null means false
	// MaxTokens is "max_tokens" (or, in an OpenAI Chat Completions body,
	// "max_completion_tokens", whichever is larger) when it is a plain
	// non-negative integer, else 0. The rate limiter reserves it; judging
	// the field is left to the upstream.
	MaxTokens int64
	// HasMaxTokens: "max_tokens" is present and not null. The Messages
	// API requires it; count_tokens and OpenAI bodies do not.
	HasMaxTokens bool
	// Thinking: the request asks for reasoning ("thinking" with a type
	// other than "disabled", or an OpenAI "reasoning_effort" other than
	// "none"). Tools: it offers at least one tool. Both feed trait routing.
	Thinking bool
	Tools    bool

	// The span of the model value, quotes included, in the inspected body.
	modelStart, modelEnd int
}

// InspectError is a request body the gateway refuses. Its message is meant
// for the API user, who gets it in a 400 invalid_request_error as is.
type InspectError struct {
	Field string // the offending top-level field; empty if the body is not a JSON object
	Msg   string
	err   error // the *jsonpeek.SyntaxError, for a body that is not JSON
}

func (e *InspectError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Unwrap returns the *jsonpeek.SyntaxError of a body that is not a JSON
// object, and nil otherwise.
func (e *InspectError) Unwrap() error { return e.err }

// Inspect validates body as a JSON object and reads its "model" and
// "stream" members, and what routing and limits need of the others.
//
// The whole body is validated, not just the part up to the fields we need:
// the gateway forwards the body it routed on, and must not forward
// something the upstream might parse differently. For the same reason a
// repeated "model" or "stream" key is refused: JSON parsers disagree on
// which duplicate wins, so a router and the upstream could otherwise act on
// different values (request smuggling). The same holds for every member
// that routing, limits or the cache read (checked): a repeated one is
// refused too. Keys are compared after unescaping, so "mod\u0065l" is the
// model too.
//
// Rules: model is required and must be a non-empty string of valid UTF-8
// without NUL (a name the upstream might read differently from the
// router); stream, if present, must be true, false or null (null means
// false). Every other field is left to the upstream to judge. The only
// allocation is the Model string (plus the error, for a refused body).
func Inspect(body []byte) (Peek, error) {
	var p Peek
	var ferr *InspectError // the first field error
	var seen checked
	fail := func(field, msg string) {
		if ferr == nil {
			ferr = &InspectError{Field: field, Msg: msg}
		}
	}
	err := jsonpeek.Object(body, func(key []byte, start, end int) bool {
		bit := checkedBit(key)
		if bit != 0 {
			if seen&bit != 0 {
				fail(string(key), "duplicate key")
				return true
			}
			seen |= bit
		}
		v := body[start:end]
		switch bit {
		case seenModel:
			p.modelStart, p.modelEnd = start, end
			if msg := checkModel(v, &p.Model); msg != "" {
				fail("model", msg)
			}
		case seenMaxTokens:
			p.MaxTokens = max(p.MaxTokens, plainInt(v))
			p.HasMaxTokens = string(v) != "null"
		case seenMaxCompletion:
			p.MaxTokens = max(p.MaxTokens, plainInt(v))
		case seenStream:
			switch string(v) {
			case "true":
				p.Stream = true
			case "false", "null":
			default:
				fail("stream", "must be a boolean")
			}
		case seenThinking:
			if v[0] == '{' {
				t := string(jsonpeek.Member(v, "type"))
				p.Thinking = t != "" && t != `"disabled"` && t != "null"
			}
		case seenReasoning:
			p.Thinking = v[0] == '"' && string(v) != `"none"`
		case seenTools:
			p.Tools = v[0] == '[' && v[len(v)-1] == ']' && len(bytes.TrimSpace(v[1:len(v)-1])) > 0
		}
		return true // never stop early: the whole body must be valid
	})
	if err != nil {
		if errors.Is(err, jsonpeek.ErrTooDeep) {
			return Peek{}, &InspectError{Msg: "request body is nested more than " + strconv.Itoa(jsonpeek.MaxDepth) + " levels deep", err: err}
		}
		msg := err.Error()
		var se *jsonpeek.SyntaxError
		if errors.As(err, &se) {
			msg = se.Msg + " at offset " + strconv.Itoa(se.Offset)
		}
		return Peek{}, &InspectError{Msg: "request body is not a JSON object: " + msg, err: err}
	}
	if ferr == nil && seen&seenModel == 0 {
		fail("model", "field required")
	}
	if ferr != nil {
		return Peek{}, ferr
	}
	return p, nil
}

// checked is a set of the top-level members Inspect refuses to see twice:
// those that routing, limits or the cache read.
type checked uint16

const (
	seenModel checked = 1 << iota
	seenStream
	seenMaxTokens
	seenMaxCompletion
	seenMessages
	seenSystem
	seenTools
	seenThinking
	seenReasoning
)

// checkedBit is the member's bit, or 0 for a member nothing reads. (A
// switch: it runs for every top-level key of every request, and a table
// scan measured 2.5 times slower.)
func checkedBit(key []byte) checked {
	switch string(key) {
	case "model":
		return seenModel
	case "stream":
		return seenStream
	case "max_tokens":
		return seenMaxTokens
	case "max_completion_tokens":
		return seenMaxCompletion
	case "messages":
		return seenMessages
	case "system":
		return seenSystem
	case "tools":
		return seenTools
	case "thinking":
		return seenThinking
	case "reasoning_effort":
		return seenReasoning
	}
	return 0
}

// checkModel decodes the model value v into *model, or says what is wrong
// with it.
func checkModel(v []byte, model *string) string {
	if v[0] != '"' {
		return "must be a string"
	}
	if !utf8.Valid(v) {
		return "must be valid UTF-8"
	}
	m, err := jsonpeek.String(v)
	if err != nil { // cannot happen: Object validated the span
		return "must be a string"
	}
	if m == "" {
		return "must not be empty"
	}
	if strings.IndexByte(m, 0) >= 0 {
		return "must not contain NUL"
	}
	*model = m
	return ""
}

// plainInt reads a JSON number made of digits only, saturating at 1<<53;
// anything else (a sign, a fraction, an exponent, not a number) is 0.
func plainInt(v []byte) int64 {
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0
		}
		if n < 1<<53 {
			n = n*10 + int64(c-'0')
		}
	}
	return min(n, 1<<53)
}

// WithModel returns body, which must be the body p was inspected from, with
// the model value replaced by model, JSON-encoded. Everything else is kept
// byte for byte. If model is already p.Model, body itself is returned;
// otherwise the result is a new slice, allocated once at its exact size.
//
// The model is written by [jsonpeek.AppendString], as encoding/json would
// write it without HTML escaping: '"', '\\', control characters, U+2028 and
// U+2029 are escaped and invalid UTF-8 becomes \ufffd, so the result is
// valid JSON for any model string; '<', '>' and '&' are left alone since the
// body is not embedded in HTML.
func (p Peek) WithModel(body []byte, model string) []byte {
	if model == p.Model {
		return body
	}
	if p.modelEnd <= p.modelStart || p.modelEnd > len(body) || body[p.modelStart] != '"' || body[p.modelEnd-1] != '"' {
		panic("anthropic: Peek.WithModel called with a body that was not inspected")
	}
	n := jsonpeek.StringLen(model)
	out := make([]byte, 0, len(body)-(p.modelEnd-p.modelStart)+n)
	out = append(out, body[:p.modelStart]...)
	out = jsonpeek.AppendString(out, model)
	return append(out, body[p.modelEnd:]...)
}
