package apierr

import "github.com/ferrygw/ferry/internal/jsonpeek"

// Protocol is the API a client speaks, which decides its error shape.
type Protocol uint8

// Protocols.
const (
	Anthropic Protocol = iota // /v1/messages and the other Anthropic routes
	OpenAI                    // /v1/chat/completions
)

// AppendBody appends the error body a client of protocol p gets for kind
// k with the public message msg: the one place an error kind becomes
// bytes.
//
//	Anthropic: {"type":"error","error":{"type":k.Type(),"message":msg},"request_id":requestID}
//	OpenAI:    {"error":{"message":msg,"type":k.OpenAIType(),"param":null,"code":null}}
//
// request_id is left out when requestID is "" (and always for OpenAI,
// whose clients read it from the header).
func AppendBody(dst []byte, p Protocol, k Kind, msg, requestID string) []byte {
	if p == OpenAI {
		dst = append(dst, `{"error":{"message":`...)
		dst = jsonpeek.AppendString(dst, msg)
		dst = append(dst, `,"type":`...)
		dst = jsonpeek.AppendString(dst, k.OpenAIType())
		return append(dst, `,"param":null,"code":null}}`...)
	}
	dst = append(dst, `{"type":"error","error":{"type":`...)
	dst = jsonpeek.AppendString(dst, k.Type())
	dst = append(dst, `,"message":`...)
	dst = jsonpeek.AppendString(dst, msg)
	dst = append(dst, '}')
	if requestID != "" {
		dst = append(dst, `,"request_id":`...)
		dst = jsonpeek.AppendString(dst, requestID)
	}
	return append(dst, '}')
}
