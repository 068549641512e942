package translate

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// Reading a client's request body, for the request translators: the
// top-level members (OpenAIToAnthropicRequest, CompleteToAnthropicRequest
// keep their raw values in a fields struct, whose slot method gives the
// field of a key, nil for a member that is dropped), and the wording of
// decoding errors.

// readFields reads the top-level members of body, which must be one JSON
// object, with set: a fields struct's set method, which keeps the raw
// value of a member it reads and reports whether it had one already. The
// error is the client's (fieldsError). set is a method value rather than
// slot itself: a pointer into the fields coming back from a call through a
// func value would move them to the heap.
func readFields(body []byte, set func(key, v []byte) (dup bool)) error {
	var dup string
	err := jsonpeek.Object(body, func(key []byte, start, end int) bool {
		if set(key, body[start:end]) && dup == "" {
			dup = string(key)
		}
		return true
	})
	return fieldsError(err, dup)
}

// keepField keeps v in p (nil: the member is dropped) and reports whether
// p held a value already (the member was given twice).
func keepField(p *[]byte, v []byte) (dup bool) {
	if p == nil {
		return false
	}
	dup = *p != nil
	*p = v
	return dup
}

// fieldsError is the client's error (*Error) for a body that is not a
// JSON object (err from jsonpeek.Object) or that repeats a member read.
func fieldsError(err error, dup string) error {
	if err != nil {
		msg := err.Error()
		var se *jsonpeek.SyntaxError
		if errors.As(err, &se) {
			msg = se.Msg + " at offset " + strconv.Itoa(se.Offset)
		}
		return oiErr("", "request body is not a JSON object: "+msg)
	}
	if dup != "" {
		return oiErr(dup, "duplicate key")
	}
	return nil
}

// jsonKind names, for a client's error message, the JSON kind that
// decodes into t (a type encoding/json reported in an UnmarshalTypeError),
// without Go type names.
func jsonKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case nil:
		return "another type"
	case reflect.TypeFor[anthropic.Content]():
		return "a string or an array of content blocks"
	case reflect.TypeFor[json.RawMessage]():
		return "a JSON value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another type"
}
