package jsonpeek

// jsonpeek reads and patches JSON without a full decode: [Object] and
// [String] read a body where it lies, and the functions below write the
// JSON string a caller splices into it (or into JSON it writes by hand)
// without going through encoding/json.

import (
	"bytes"
	"encoding/json"
	"math/bits"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s to dst as a JSON string literal, exactly as
// encoding/json would write it with SetEscapeHTML(false): '"', '\\' and
// control characters are escaped (\b, \f, \n, \r and \t in short form,
// others as \u00XX), U+2028 and U+2029 are escaped so the output is also
// valid JavaScript, each byte of invalid UTF-8 becomes \ufffd, and '<', '>'
// and '&' are left alone. It allocates only if dst has too little room.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s) }

// AppendStringBytes is AppendString for a string held in a byte slice,
// without the allocation of converting it.
func AppendStringBytes(dst, b []byte) []byte { return appendString(dst, b) }

// appendString is AppendString and AppendStringBytes. Only the decoding of
// a non-ASCII character depends on what s is: each kind has its own
// decoder, and converting s to the other kind would copy it.
func appendString[T string | []byte](dst []byte, s T) []byte {
	str, isString := any(s).(string)
	b, _ := any(s).([]byte)
	dst = append(dst, '"')
	start := 0 // s[start:i] is still to be copied
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			// Eight bytes at a time while none needs a look (SWAR): the
			// lowest byte flagged is the first one that does.
			if m := needsLook(load64(s, i)); m == 0 {
				i += 8
				continue
			} else {
				i += bits.TrailingZeros64(m) / 8
			}
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b': // as encoding/json since Go 1.22
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		var r rune
		var size int
		if isString {
			r, size = utf8.DecodeRuneInString(str[i:])
		} else {
			r, size = utf8.DecodeRune(b[i:])
		}
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// needsLook flags (high bit) the bytes of x that appendString cannot copy
// as they are: special's, and non-ASCII. The lowest flag is exact.
func needsLook(x uint64) uint64 { return special(x) | x&hi }

// load64 is the eight bytes of s from i, little-endian (one load).
func load64[T string | []byte](s T, i int) uint64 {
	w := s[i : i+8]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// StringLen returns len(AppendString(nil, s)) without writing anything, for
// callers that allocate the result at its exact size.
func StringLen(s string) int {
	n := len(`""`)
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			// Eight bytes at a time while none needs a look (SWAR): the
			// lowest byte flagged is the first one that does.
			if m := needsLook(load64(s, i)); m == 0 {
				i, n = i+8, n+8
				continue
			} else {
				k := bits.TrailingZeros64(m) / 8
				i, n = i+k, n+k
			}
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
				n += 2
			case c < 0x20:
				n += len(`\u0000`)
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += len(`\ufffd`)
		case r == '\u2028' || r == '\u2029':
			n += len(`\u2028`)
		default:
			n += size
		}
		i += size
	}
	return n
}

// Marshal encodes v like json.Marshal but without escaping '<', '>' and
// '&' (prompts are full of tags, and Anthropic writes "A + B > C" as it
// is), and without the trailing newline a json.Encoder adds.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}
