package jsonpeek

import (
	"bytes"
	"unicode/utf16"
)

// Helpers the translators (internal/translate) scan with: several members
// of an object at once, string comparison without decoding, and decoding
// that leaves invalid UTF-8 for the caller to repair.

// Members reads the top-level members named in names from the JSON object
// b into vals (vals[i] is the value of names[i], b[start:end] as written,
// nil if absent; the last of duplicates wins). It returns Object's verdict
// on b: nil when b is one valid JSON object (on an error, vals holds what
// was read before it). len(vals) must be at least len(names).
func Members(b []byte, names []string, vals [][]byte) error {
	clear(vals)
	return Object(b, func(key []byte, start, end int) bool {
		for i, n := range names {
			if string(key) == n {
				vals[i] = b[start:end]
				break
			}
		}
		return true
	})
}

// StringIs reports whether v is a JSON string literal that decodes to s.
// A literal without escapes is compared in place, allocating nothing (and
// its invalid UTF-8, if any, is compared as written, not as U+FFFD).
func StringIs(v []byte, s string) bool {
	if len(v) < 2 || v[0] != '"' {
		return false
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1:len(v)-1]) == s
	}
	d, err := String(v)
	return err == nil && d == s
}

// AppendUnquotedRaw appends the decoded contents s of a JSON string literal
// (without its quotes) that was validated already, resolving escapes as
// String does (a valid surrogate pair becomes one character, any other
// surrogate escape U+FFFD) but copying invalid UTF-8 bytes as they are, so
// that a caller joining fragments can reassemble a character split between
// them before it replaces what is still invalid.
func AppendUnquotedRaw(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		j := bytes.IndexByte(s[i:], '\\')
		if j < 0 {
			return append(dst, s[i:]...)
		}
		dst = append(dst, s[i:i+j]...)
		i += j
		if i+1 >= len(s) {
			return dst // cannot happen in a validated literal
		}
		n := 2 // the escape's length: \n, \", ...
		if s[i+1] == 'u' {
			n = 6
			if r := u4(s[i:]); utf16.IsSurrogate(r) && r < 0xDC00 {
				if r2 := u4(s[i+6:]); 0xDC00 <= r2 && r2 < 0xE000 {
					n = 12 // a pair
				}
			}
		}
		dst = appendUnquoted(dst, s[i:min(i+n, len(s))])
		i += n
	}
	return dst
}
