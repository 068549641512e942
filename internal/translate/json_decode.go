package translate

// Decoding helpers of the single-pass decoders (rdBody, rqBody): they
// read values from spans that jsonpeek.Object validated, as encoding/json
// would decode them into the same Go types, and report false wherever
// encoding/json might decide otherwise, so that the caller can leave the
// body to encoding/json.

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// rdField's answers besides an index into keys.
const (
	rdUnknown = -1 // a member the struct has no field for: skipped
	rdBail    = -2 // one whose decoding could differ from encoding/json's
)

// rdField returns the index in keys of the member named key, noting it in
// seen, or rdUnknown, or rdBail for a second occurrence or a key that
// matches a field only as encoding/json's case-insensitive fallback does.
func rdField(key []byte, keys []string, seen *uint64) int {
	for i, k := range keys {
		if string(key) == k {
			if *seen&(1<<i) != 0 {
				return rdBail
			}
			*seen |= 1 << i
			return i
		}
	}
	for _, k := range keys {
		if bytes.EqualFold(key, []byte(k)) {
			return rdBail
		}
	}
	return rdUnknown
}

// rdObject calls set for each member of the validated object v that is
// one of keys, with the member's index and value. It reports false when v
// is not an object, when set does, or when rdField bails. null is left to
// the caller. Nested keys are compared as written, so an escaped one bails.
func rdObject(v []byte, keys []string, set func(i int, v []byte) bool) bool {
	if len(v) == 0 || v[0] != '{' {
		return false
	}
	ok := true
	var seen uint64
	err := jsonpeek.Skim(v, func(key []byte, start, end int) bool {
		if bytes.IndexByte(key, '\\') >= 0 {
			ok = false
			return false
		}
		switch i := rdField(key, keys, &seen); i {
		case rdUnknown:
		case rdBail:
			ok = false
		default:
			ok = set(i, v[start:end])
		}
		return ok
	})
	return err == nil && ok
}

// rdArray calls elem with each element of the validated array v, and
// reports false when v is not an array or elem does.
func rdArray(v []byte, elem func(v []byte) bool) bool {
	if len(v) == 0 || v[0] != '[' {
		return false
	}
	ok := true
	err := jsonpeek.SkimArray(v, func(start, end int) bool {
		ok = elem(v[start:end])
		return ok
	})
	return err == nil && ok
}

func rdNull(v []byte) bool { return string(v) == "null" }

// rdString decodes a string member; null leaves dst as it is.
func rdString(v []byte, dst *string) bool {
	if rdNull(v) {
		return true
	}
	if v[0] != '"' {
		return false
	}
	s, err := jsonpeek.String(v)
	*dst = s
	return err == nil
}

// rdWord is rdString for a member that is usually one of words: those
// are not allocated again.
func rdWord(v []byte, dst *string, words ...string) bool {
	for _, w := range words {
		if jsonpeek.StringIs(v, w) {
			*dst = w
			return true
		}
	}
	return rdString(v, dst)
}

// rdStringKind checks that a member the translator does not read is a string
// or null, as decoding it would.
func rdStringKind(v []byte) bool { return v[0] == '"' || rdNull(v) }

// rdStringPtr decodes a *string member; null gives nil.
func rdStringPtr(v []byte, dst **string) bool {
	if rdNull(v) {
		*dst = nil
		return true
	}
	s := new(string)
	*dst = s
	return rdString(v, s)
}

// rdInt decodes an integer member as encoding/json does (a fraction or an
// exponent is a type error); null leaves dst as it is.
func rdInt[T int | int64](v []byte, dst *T) bool {
	if rdNull(v) {
		return true
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || int64(T(n)) != n {
		return false
	}
	*dst = T(n)
	return true
}

// rdRaw keeps a json.RawMessage member as written (null as "null").
func rdRaw(v []byte, dst *json.RawMessage) bool {
	*dst = append(json.RawMessage(nil), v...)
	return true
}

// rdBool decodes a boolean member; null leaves dst as it is.
func rdBool(v []byte, dst *bool) bool {
	switch string(v) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	case "null":
	default:
		return false
	}
	return true
}

// rdFloatPtr decodes a *float64 member as encoding/json does (a number out
// of float64's range is an error); null gives nil.
func rdFloatPtr(v []byte, dst **float64) bool {
	if rdNull(v) {
		*dst = nil
		return true
	}
	if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return false
	}
	*dst = &f
	return true
}

// rdIntPtr decodes a *int member; null gives nil.
func rdIntPtr(v []byte, dst **int) bool {
	if rdNull(v) {
		*dst = nil
		return true
	}
	n := new(int)
	*dst = n
	return rdInt(v, n)
}
