package translate

// Decoding helpers of the single-pass decoders (rdBody, rqBody): they
// read values from spans that jsonpeek.Object validated, as encoding/json
// would decode them into the same Go types, and report false wherever
// encoding/json might decide otherwise (a value of the wrong type, a key
// given twice or matching a field only case-insensitively, an escaped
// nested key), so that the caller can leave the body to encoding/json.

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// rdMember is a member of a JSON object decoded into a T: its name, and
// the decoder of its value into the T's field.
type rdMember[T any] struct {
	name string
	dec  func(v []byte, p *T) bool
}

// rdStruct lists the members of a T that encoding/json would decode (at
// most 64); other members are skipped, as encoding/json skips them.
type rdStruct[T any] []rdMember[T]

// top validates body, which must be exactly one JSON object, and decodes
// it into p, comparing member names as encoding/json decodes them.
func (s rdStruct[T]) top(body []byte, p *T) bool {
	ok := true
	var seen uint64
	err := jsonpeek.Object(body, func(key []byte, start, end int) bool {
		ok = s.member(key, body[start:end], &seen, p)
		return ok
	})
	return err == nil && ok
}

// object decodes the validated JSON object v into p; null leaves p as it
// is, as encoding/json leaves a struct. Names are compared as written, so
// an escaped one gives up.
func (s rdStruct[T]) object(v []byte, p *T) bool {
	if rdNull(v) {
		return true
	}
	if v[0] != '{' {
		return false
	}
	ok := true
	var seen uint64
	err := jsonpeek.Skim(v, func(key []byte, start, end int) bool {
		ok = bytes.IndexByte(key, '\\') < 0 && s.member(key, v[start:end], &seen, p)
		return ok
	})
	return err == nil && ok
}

// member decodes the member key: v into p, noting it in seen. A second
// occurrence, or a key that matches a name only as encoding/json's
// case-insensitive fallback does, gives up; an unknown one is skipped.
func (s rdStruct[T]) member(key, v []byte, seen *uint64, p *T) bool {
	for i := range s {
		if string(key) == s[i].name {
			if *seen&(1<<i) != 0 {
				return false
			}
			*seen |= 1 << i
			return s[i].dec(v, p)
		}
	}
	for i := range s {
		if bytes.EqualFold(key, []byte(s[i].name)) {
			return false
		}
	}
	return true
}

// rdNew decodes a pointer member: null gives nil, any other value a new
// T that fill decodes.
func rdNew[T any](v []byte, dst **T, fill func(v []byte, p *T) bool) bool {
	if rdNull(v) {
		*dst = nil
		return true
	}
	p := new(T)
	*dst = p
	return fill(v, p)
}

// rdSlice decodes an array member: null gives nil, an array a non-nil
// slice whose elements elem decodes, each from its zero value (elem
// decides what a null element is).
func rdSlice[T any](v []byte, dst *[]T, elem func(v []byte, p *T) bool) bool {
	if rdNull(v) {
		*dst = nil
		return true
	}
	if v[0] != '[' {
		return false
	}
	s := []T{}
	ok := true
	err := jsonpeek.SkimArray(v, func(start, end int) bool {
		var zero T
		s = append(s, zero)
		ok = elem(v[start:end], &s[len(s)-1])
		return ok
	})
	*dst = s
	return err == nil && ok
}

// rdUnmarshaler decodes a value with its type's UnmarshalJSON, which
// encoding/json calls for null too.
func rdUnmarshaler[T any, P interface {
	*T
	json.Unmarshaler
}](v []byte, p P) bool {
	return p.UnmarshalJSON(v) == nil
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

// rdSkipString checks that a string member the translator does not read
// is a string or null, as decoding it would; it stays empty.
func rdSkipString[T any](v []byte, _ *T) bool { return v[0] == '"' || rdNull(v) }

// rdStringPtr decodes a *string member; null gives nil.
func rdStringPtr(v []byte, dst **string) bool { return rdNew(v, dst, rdString) }

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

// rdIntPtr decodes a *int member; null gives nil.
func rdIntPtr(v []byte, dst **int) bool { return rdNew(v, dst, rdInt[int]) }

// rdFloatPtr decodes a *float64 member as encoding/json does (a number out
// of float64's range is an error); null gives nil.
func rdFloatPtr(v []byte, dst **float64) bool {
	return rdNew(v, dst, func(v []byte, f *float64) bool {
		if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
			return false
		}
		var err error
		*f, err = strconv.ParseFloat(string(v), 64)
		return err == nil
	})
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

// rdRaw keeps a json.RawMessage member as written (null as "null").
func rdRaw(v []byte, dst *json.RawMessage) bool {
	*dst = append(json.RawMessage(nil), v...)
	return true
}
