package shadow

import (
	"unicode/utf16"
	"unicode/utf8"
)

// appendUnquoted appends the JSON string literal v (quotes included, as a
// span reported by jsonpeek) decoded the way encoding/json decodes it:
// escapes resolved, a lone or mismatched surrogate escape and each byte of
// invalid UTF-8 turned into U+FFFD. It stops before dst would grow past
// limit bytes, never splitting a character, and then reports truncated.
//
// It exists because jsonpeek.String allocates a string per call, and the
// recorder decodes one text delta per event on the path of a mirrored
// request; here the text goes straight into the recorder's bounded buffer.
// v must have been validated (jsonpeek.Object does) or be garbage the
// caller accepts garbage from: a malformed v never panics.
func appendUnquoted(dst, v []byte, limit int) (out []byte, truncated bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return dst, false
	}
	s := v[1 : len(v)-1]
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
			j := i + 1
			for j < len(s) && s[j] < utf8.RuneSelf && s[j] != '\\' {
				j++
			}
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
		r := hex4(s[2:])
		if r < 0 {
			return utf8.RuneError, 2
		}
		if !utf16.IsSurrogate(r) {
			return r, 6
		}
		// A high surrogate must be followed by an escaped low one;
		// otherwise it stands alone and becomes U+FFFD, as in
		// encoding/json, and what follows is decoded on its own.
		if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
			if r2 := hex4(s[8:]); r2 >= 0 {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					return dec, 12
				}
			}
		}
		return utf8.RuneError, 6
	}
	return utf8.RuneError, 2
}

// hex4 decodes four hex digits, or returns -1.
func hex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// forEachElement calls fn with each element of the JSON array a, which must
// be valid JSON (a span jsonpeek.Object validated). Anything else yields
// no call or a partial walk, never a panic.
func forEachElement(a []byte, fn func(elem []byte)) {
	i := skipWS(a, 0)
	if i >= len(a) || a[i] != '[' {
		return
	}
	i++
	for {
		i = skipWS(a, i)
		if i >= len(a) || a[i] == ']' {
			return
		}
		start := i
		depth := 0
	scan:
		for ; i < len(a); i++ {
			switch a[i] {
			case '"':
				// Skip the string, escapes included.
				for i++; i < len(a) && a[i] != '"'; i++ {
					if a[i] == '\\' {
						i++
					}
				}
			case '[', '{':
				depth++
			case ']', '}':
				if depth == 0 {
					break scan
				}
				depth--
			case ',':
				if depth == 0 {
					break scan
				}
			}
		}
		end := i
		for end > start && isWS(a[end-1]) {
			end--
		}
		fn(a[start:end])
		if i >= len(a) || a[i] == ']' {
			return
		}
		i++ // the comma
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// parseIndex reads a small non-negative JSON integer without allocating;
// -1 for anything else.
func parseIndex(b []byte) int {
	if len(b) == 0 || len(b) > 6 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
