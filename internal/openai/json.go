package openai

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// marshal is json.Marshal without HTML escaping. The custom marshalers of
// this package use it so that the whole body stays unescaped: encoding/json
// keeps what a MarshalJSON method returns as it is.
func marshal(v any) ([]byte, error) { return jsonpeek.Marshal(v) }

// Marshal encodes v as JSON like json.Marshal, without escaping '<', '>'
// and '&', and without a trailing newline. Use it for the bodies built from
// this package's types.
func Marshal(v any) ([]byte, error) {
	// A request body is written in one pass, without encoding/json
	// re-compacting it (see appendChatRequest).
	switch r := v.(type) {
	case ChatRequest:
		return appendChatRequest(make([]byte, 0, chatRequestSize(&r)), &r)
	case *ChatRequest:
		if r != nil {
			return appendChatRequest(make([]byte, 0, chatRequestSize(r)), r)
		}
	}
	return marshal(v)
}

// isNull reports whether b is the JSON literal null (surrounding space
// allowed), which every custom decoder here treats as "absent".
func isNull(b []byte) bool { return string(bytes.TrimSpace(b)) == "null" }

// typeError reports a JSON value b of the wrong kind for t, as a
// *json.UnmarshalTypeError so that encoding/json adds the field's path.
func typeError(b []byte, t reflect.Type) error {
	return &json.UnmarshalTypeError{Value: jsonpeek.Kind(b), Type: t}
}

// unquote decodes the JSON string b into *dst as encoding/json would.
// jsonpeek.String does it without a second validation pass over a text
// encoding/json just checked; encoding/json decides (and words the error)
// when it fails.
func unquote(b []byte, dst *string) error {
	s, err := jsonpeek.String(b)
	if err != nil {
		return json.Unmarshal(b, dst)
	}
	*dst = s
	return nil
}

// textOrNull decodes b, a JSON string or null (""), into *dst, for the
// fields that take a string or some other kind; any kind left is a type
// error for t.
func textOrNull(b []byte, dst *string, t reflect.Type) error {
	switch jsonpeek.Kind(b) {
	case "null":
		*dst = ""
		return nil
	case "string":
		return unquote(b, dst)
	}
	return typeError(b, t)
}
