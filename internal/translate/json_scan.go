package translate

// Small JSON and UTF-8 scanning helpers of the stream translators.

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// stCutTail returns how many bytes at the end of b begin a UTF-8 sequence
// that b cuts off (0 to 3).
func stCutTail(b []byte) int {
	for k := 1; k < utf8.UTFMax && k <= len(b); k++ {
		c := b[len(b)-k]
		if c < utf8.RuneSelf {
			return 0
		}
		if utf8.RuneStart(c) {
			if utf8.FullRune(b[len(b)-k:]) {
				return 0
			}
			return k
		}
	}
	return 0
}

// stElems iterates over the elements of a JSON array that jsonpeek has
// validated as part of its chunk, so it only needs to find boundaries.
type stElems struct {
	b    []byte
	i    int
	pos  int // position of elem
	elem []byte
}

func (it *stElems) next() bool {
	if it.i == 0 {
		it.i = stSkipSpace(it.b, 1)
		it.pos = -1
	} else {
		it.i = stSkipSpace(it.b, it.i)
		if it.i >= len(it.b) || it.b[it.i] != ',' {
			return false
		}
		it.i = stSkipSpace(it.b, it.i+1)
	}
	if it.i >= len(it.b) || it.b[it.i] == ']' {
		it.i = len(it.b)
		return false
	}
	j := stSkipValue(it.b, it.i)
	it.elem = it.b[it.i:j]
	it.i = j
	it.pos++
	return true
}

func stSkipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stSkipValue returns the end of the valid JSON value starting at b[i].
func stSkipValue(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

// stZeroIndex reports whether a choice's index (absent, null, or a number
// however written: 0, 0.0, 0e1) designates the first choice.
func stZeroIndex(v []byte) bool {
	if len(v) == 0 || string(v) == "null" {
		return true
	}
	if n, ok := stInt(v); ok {
		return n == 0
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return err == nil && f == 0
}

// stInt reads a JSON integer small enough for an int; ok is false for
// anything else (absent, null, a fraction…).
func stInt(v []byte) (int, bool) {
	n, ok := stInt64(v)
	if !ok || n != int64(int32(n)) {
		return 0, false
	}
	return int(n), true
}

func stInt64(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 19 {
		return 0, false
	}
	neg := v[0] == '-'
	if neg {
		v = v[1:]
		if len(v) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// stContainsFold reports whether b contains the lowercase ASCII word w,
// ignoring ASCII case.
func stContainsFold(b []byte, w string) bool {
	for i := 0; i+len(w) <= len(b); i++ {
		j := 0
		for j < len(w) && b[i+j]|0x20 == w[j] {
			j++
		}
		if j == len(w) {
			return true
		}
	}
	return false
}

// stAppendUnquoted appends the decoded contents of a JSON string literal
// already validated by jsonpeek, the way encoding/json decodes it (a valid
// surrogate pair becomes one character, any other surrogate escape U+FFFD)
// except that invalid UTF-8 bytes are copied as they are: they are replaced
// when written, after join had its chance to reassemble a split character.
func stAppendUnquoted(dst, s []byte) []byte {
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
		switch s[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := stU4(s[i:])
			i += 6
			if r < 0 {
				r = utf8.RuneError
			} else if 0xD800 <= r && r < 0xE000 {
				r2 := stU4(s[i:])
				if r < 0xDC00 && 0xDC00 <= r2 && r2 < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[i+1])
		}
		i += 2
	}
	return dst
}

// stU4 decodes the \uXXXX escape at the start of s, or returns -1.
func stU4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// stAppendBytes appends b as a JSON string, as encoding/json writes it with
// HTML escaping off (the Anthropic API does not escape <, > and &), each
// invalid byte as \ufffd: jsonpeek.AppendStringBytes, which keeps the
// per-chunk path free of allocations.
func stAppendBytes(dst, b []byte) []byte { return jsonpeek.AppendStringBytes(dst, b) }
