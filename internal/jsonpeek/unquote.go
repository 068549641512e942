package jsonpeek

import (
	"encoding/binary"
	"math"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// AppendUnquoted appends the JSON string literal v (quotes included, as a
// span reported by [Object]) decoded the way encoding/json decodes it:
// escapes resolved, a lone or mismatched surrogate escape and each byte of
// invalid UTF-8 turned into U+FFFD. It stops before dst would grow past
// limit bytes, never splitting a character, and then reports truncated.
//
// Unlike [String] it allocates nothing of its own: text goes straight into
// the caller's (bounded) buffer, as the shadow recorder needs for one text
// delta per event. v should have been validated; a malformed v yields
// garbage, never a panic, and anything but a string literal appends
// nothing.
func AppendUnquoted(dst, v []byte, limit int) (out []byte, truncated bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return dst, false
	}
	return appendUnquotedLimit(dst, v[1:len(v)-1], limit)
}

// appendUnquoted appends the decoded form of s, the contents of a string
// literal already validated by scanString.
func appendUnquoted(dst, s []byte) []byte {
	dst, _ = appendUnquotedLimit(dst, s, math.MaxInt)
	return dst
}

// appendUnquotedLimit appends the decoded form of s, the contents of a
// string literal, up to limit bytes of dst (see AppendUnquoted).
func appendUnquotedLimit(dst, s []byte, limit int) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			r, n := unescape(s[i:])
			if len(dst)+utf8.RuneLen(r) > limit {
				return dst, true
			}
			dst = utf8.AppendRune(dst, r)
			i += n
		case c < utf8.RuneSelf:
			// A run of plain ASCII: copied in one go.
			j := plainRun(s, i+1)
			if room := limit - len(dst); j-i > room {
				return append(dst, s[i:i+room]...), true
			}
			dst = append(dst, s[i:j]...)
			i = j
		default:
			r, n := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && n == 1 {
				if len(dst)+3 > limit {
					return dst, true
				}
				dst = append(dst, "\uFFFD"...)
				i++
				continue
			}
			if len(dst)+n > limit {
				return dst, true
			}
			dst = append(dst, s[i:i+n]...)
			i += n
		}
	}
	return dst, false
}

// plainRun returns the end of the run of ASCII bytes other than '\\' in s
// from i, looking at eight bytes at a time while it can (SWAR).
func plainRun(s []byte, i int) int {
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		if m := hasByte(x, '\\') | x&hi; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(s) && s[i] < utf8.RuneSelf && s[i] != '\\' {
		i++
	}
	return i
}

// unescape decodes the escape sequence at the start of s (s[0] is '\\')
// and returns the character and the bytes consumed, at least 1.
func unescape(s []byte) (rune, int) {
	if len(s) < 2 {
		return utf8.RuneError, len(s)
	}
	switch s[1] {
	case '"', '\\', '/':
		return rune(s[1]), 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r := u4(s)
		if r < 0 {
			return utf8.RuneError, 2
		}
		if !utf16.IsSurrogate(r) {
			return r, 6
		}
		// A high surrogate must be followed by an escaped low one;
		// otherwise it stands alone and becomes U+FFFD, as in
		// encoding/json, and what follows is decoded on its own.
		if len(s) >= 12 {
			if d := utf16.DecodeRune(r, u4(s[6:])); d != utf8.RuneError {
				return d, 12
			}
		}
		return utf8.RuneError, 6
	}
	return utf8.RuneError, 2
}

// Index reads v, a small non-negative JSON integer such as an event's
// "index", without allocating; -1 for anything else (a sign, a fraction,
// an exponent, more than six digits).
func Index(v []byte) int {
	if len(v) == 0 || len(v) > 6 {
		return -1
	}
	n := 0
	for _, c := range v {
		if !isDigit(c) {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
