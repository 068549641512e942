package cache

import (
	"errors"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

var errTooManyMembers = errors.New("cache: too many members to set")

// member is a replacement for (or an addition to) an object's member.
type member struct {
	name string
	val  []byte // raw JSON
}

// overlay appends obj, a JSON object, to dst with the members named in
// set replaced by their values, keeping the member order; members of set
// that obj lacks are appended at the end. Member names are re-encoded, so
// the result is valid JSON whatever obj's escapes.
func overlay(dst, obj []byte, set []member) ([]byte, error) {
	if len(set) > 64 {
		return dst, errTooManyMembers
	}
	var used uint64 // bit i: set[i] was written (set is small)
	dst = append(dst, '{')
	first := true
	err := jsonpeek.Object(obj, func(key []byte, start, end int) bool {
		val := obj[start:end]
		for i := range set {
			if set[i].name == string(key) {
				if used&(1<<i) != 0 {
					return true // a duplicate member: written once
				}
				used |= 1 << i
				val = set[i].val
				break
			}
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsonpeek.AppendStringBytes(dst, key)
		dst = append(dst, ':')
		dst = append(dst, val...)
		return true
	})
	if err != nil {
		return dst, err
	}
	for i := range set {
		if used&(1<<i) == 0 {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = jsonpeek.AppendString(dst, set[i].name)
			dst = append(dst, ':')
			dst = append(dst, set[i].val...)
		}
	}
	return append(dst, '}'), nil
}

// stringValue returns the inside of a JSON string value (between the
// quotes, escapes kept), or ok false if v is not a string. Concatenating
// such insides concatenates the strings: escapes never span them.
func stringValue(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	return v[1 : len(v)-1], true
}

// quoted appends the JSON string whose inside is in (escapes kept).
func quoted(dst, in []byte) []byte {
	dst = append(dst, '"')
	dst = append(dst, in...)
	return append(dst, '"')
}
