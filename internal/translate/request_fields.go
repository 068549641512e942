package translate

import (
	"errors"
	"strconv"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// Reading the top-level members of a client's request body, for the
// request translators that take a client's format in
// (OpenAIToAnthropicRequest, CompleteToAnthropicRequest): each keeps its
// members in a struct whose slot method gives the field of a key (nil: a
// member that is dropped).

// setField keeps v in p (nil: the member is dropped) and notes in dup the
// first key given twice. It always reports true, to go on.
func setField(p *[]byte, v, key []byte, dup *string) bool {
	if p == nil {
		return true
	}
	if *p != nil && *dup == "" {
		*dup = string(key)
	}
	*p = v
	return true
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
