// Package jsonpeek reads the top-level members of a JSON object without
// decoding it into Go values.
//
// The gateway has to look at one or two fields of request bodies that are
// often 100 KB or more (system prompts, dozens of tool schemas, long
// conversations) and forward the rest untouched. Decoding such a body with
// encoding/json costs hundreds of allocations and throws the result away;
// [Object] instead validates the body in one pass, allocates nothing, and
// reports each top-level member as a key and the byte span of its value so
// the caller can decode just the values it needs (see [String]) or splice a
// replacement into the original bytes.
//
// Validation follows RFC 8259 strictly, with one deliberate leniency shared
// with encoding/json: bytes inside strings are not checked to be valid UTF-8.
// Rejecting them would refuse bodies that encoding/json (and most upstream
// servers) accept; where a string is decoded, by [String] or for the keys
// passed to [Object]'s callback, each invalid byte becomes U+FFFD exactly as
// encoding/json would decode it, so every reader of the body agrees on
// what the text says.
package jsonpeek

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects Object accepts; the
// top-level object counts as one level. It bounds the work an adversarial
// body can cause and is far beyond anything a real request needs.
const MaxDepth = 512

// ErrTooDeep is wrapped by the *SyntaxError reported for a body nested
// deeper than MaxDepth, so callers can tell "too deep for us" from "not
// JSON" (encoding/json allows deeper nesting).
var ErrTooDeep = errors.New("nesting too deep")

// SyntaxError describes why a body is not a single well-formed JSON object.
type SyntaxError struct {
	Msg    string // what is wrong, e.g. "invalid character 'x' in literal true"
	Offset int    // the byte offset in the input at which it was detected
	err    error
}

func (e *SyntaxError) Error() string {
	return "jsonpeek: " + e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

// Unwrap returns ErrTooDeep for depth errors and nil otherwise.
func (e *SyntaxError) Unwrap() error { return e.err }

// Object checks that b holds exactly one JSON object, optionally surrounded
// by whitespace, and calls fn for each of its top-level members in order.
//
// key is the member name as encoding/json decodes it: escapes are resolved
// (the key "mod\u0065l" is reported as model) and invalid UTF-8 is replaced
// with U+FFFD. Comparing decoded keys matters for security: a router that
// compared raw bytes would miss a field the upstream server sees. key aliases
// either b or a scratch buffer and is valid only during the call. b[start:end]
// is the member's value exactly as written, without surrounding whitespace.
// Duplicate keys are reported as often as they occur.
//
// If fn returns false, Object stops and returns nil without looking at the
// rest of b, which therefore is NOT validated; callers that need the whole
// body validated must return true. fn may be nil, which just validates.
//
// Object allocates nothing unless a key contains escapes or invalid UTF-8,
// or b is malformed (for the error).
func Object(b []byte, fn func(key []byte, start, end int) bool) error {
	i, err := begin(b, '{', '}', "looking for beginning of object")
	if i < 0 {
		return err
	}
	// scratch receives decoded keys; it is allocated only when a key
	// actually needs decoding, which real clients practically never send.
	var scratch []byte
	for {
		if i >= len(b) {
			return errEOF(i)
		}
		if b[i] != '"' {
			return errChar(b[i], "looking for beginning of object key string", i)
		}
		ke, esc, err := scanString(b, i)
		if err != nil {
			return err
		}
		key := b[i+1 : ke-1]
		if esc || !isASCII(key) && !utf8.Valid(key) {
			scratch = appendUnquoted(scratch[:0], key)
			key = scratch
		}
		i = skipSpace(b, ke)
		if i >= len(b) {
			return errEOF(i)
		}
		if b[i] != ':' {
			return errChar(b[i], "after object key", i)
		}
		i = skipSpace(b, i+1)
		start := i
		if i, err = scanValue(b, i, 1); err != nil {
			return err
		}
		if fn != nil && !fn(key, start, i) {
			return nil
		}
		var done bool
		if i, done, err = sep(b, i, '}', "after object key:value pair"); done || err != nil {
			return err
		}
	}
}

// begin checks that b opens with the bracket opening and returns where
// its first member or element starts, or -1 with the container's verdict
// when it is empty (only whitespace may follow) or does not open so.
func begin(b []byte, opening, closing byte, context string) (int, error) {
	i := skipSpace(b, 0)
	if i >= len(b) {
		return -1, errEOF(i)
	}
	if b[i] != opening {
		return -1, errChar(b[i], context, i)
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closing {
		return -1, end(b, i+1)
	}
	return i, nil
}

// sep steps over what follows a member or element ending at i: a comma
// (next is where the following one starts) or the closing bracket (done;
// only whitespace may follow the top-level value). context names the
// place for the error message.
func sep(b []byte, i int, closing byte, context string) (next int, done bool, err error) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return 0, false, errEOF(i)
	}
	switch b[i] {
	case ',':
		return skipSpace(b, i+1), false, nil
	case closing:
		return 0, true, end(b, i+1)
	}
	return 0, false, errChar(b[i], context, i)
}

// Valid reports whether b is exactly one well-formed JSON object (with
// optional surrounding whitespace) nested no deeper than MaxDepth.
func Valid(b []byte) bool { return Object(b, nil) == nil }

// String decodes v, which must be exactly one JSON string literal such as a
// value span reported by Object, the way encoding/json would: escapes are
// resolved, a lone or mismatched surrogate escape becomes U+FFFD, and so
// does each byte of invalid UTF-8. The common case, a string with no escapes
// and valid UTF-8, costs one allocation for the result.
func String(v []byte) (string, error) {
	if len(v) == 0 {
		return "", errEOF(0)
	}
	if v[0] != '"' {
		return "", errChar(v[0], "looking for beginning of string", 0)
	}
	e, esc, err := scanString(v, 0)
	if err != nil {
		return "", err
	}
	if e != len(v) {
		return "", errChar(v[e], "after string", e)
	}
	s := v[1 : e-1]
	if !esc && (isASCII(s) || utf8.Valid(s)) {
		return string(s), nil
	}
	return string(appendUnquoted(make([]byte, 0, len(s)), s)), nil
}

// end checks that only whitespace follows the object that ended at i.
func end(b []byte, i int) error {
	i = skipSpace(b, i)
	if i < len(b) {
		return errChar(b[i], "after top-level value", i)
	}
	return nil
}

// scanValue scans the value starting at b[i] (no leading whitespace) and
// returns the offset just past it. depth is the nesting level of the
// container holding the value.
//
// It is iterative rather than recursive: the kinds of the open containers
// live in a fixed bit stack on the Go stack, so nesting costs neither
// allocation nor call overhead.
func scanValue(b []byte, i, depth int) (int, error) {
	var stack [MaxDepth/64 + 1]uint64 // bit set: object; clear: array
	n := 0                            // open containers within this value
	var err error
	for {
		// Scan one value at b[i].
		if i >= len(b) {
			return i, errEOF(i)
		}
		switch c := b[i]; {
		case c == '"':
			if i, _, err = scanString(b, i); err != nil {
				return i, err
			}
		case c == '{' || c == '[':
			if depth+n+1 > MaxDepth {
				return i, &SyntaxError{Msg: "nesting deeper than " + strconv.Itoa(MaxDepth) + " levels", Offset: i, err: ErrTooDeep}
			}
			obj := c == '{'
			if obj {
				stack[n/64] |= 1 << (n % 64)
			} else {
				stack[n/64] &^= 1 << (n % 64)
			}
			n++
			i = skipSpace(b, i+1)
			if i < len(b) && (obj && b[i] == '}' || !obj && b[i] == ']') {
				i++
				n--
				break // an empty container is a complete value
			}
			if obj {
				if i, err = scanKey(b, i); err != nil {
					return i, err
				}
			}
			continue // scan the first element or member value
		case c == 't':
			if i, err = literal(b, i, "true"); err != nil {
				return i, err
			}
		case c == 'f':
			if i, err = literal(b, i, "false"); err != nil {
				return i, err
			}
		case c == 'n':
			if i, err = literal(b, i, "null"); err != nil {
				return i, err
			}
		case c == '-' || '0' <= c && c <= '9':
			if i, err = scanNumber(b, i); err != nil {
				return i, err
			}
		default:
			return i, errChar(c, "looking for beginning of value", i)
		}

		// A value ended at i: close containers or move to the next element.
		for {
			if n == 0 {
				return i, nil
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, errEOF(i)
			}
			obj := stack[(n-1)/64]&(1<<((n-1)%64)) != 0
			c := b[i]
			if c == ',' {
				i = skipSpace(b, i+1)
				if obj {
					if i, err = scanKey(b, i); err != nil {
						return i, err
					}
				}
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				i++
				n--
				continue
			}
			if obj {
				return i, errChar(c, "after object key:value pair", i)
			}
			return i, errChar(c, "after array element", i)
		}
	}
}

// scanKey scans `"key" :` plus the whitespace after the colon, starting at
// b[i], and returns the offset of the member's value.
func scanKey(b []byte, i int) (int, error) {
	if i >= len(b) {
		return i, errEOF(i)
	}
	if b[i] != '"' {
		return i, errChar(b[i], "looking for beginning of object key string", i)
	}
	i, _, err := scanString(b, i)
	if err != nil {
		return i, err
	}
	i = skipSpace(b, i)
	if i >= len(b) {
		return i, errEOF(i)
	}
	if b[i] != ':' {
		return i, errChar(b[i], "after object key", i)
	}
	return skipSpace(b, i+1), nil
}

// SWAR ("SIMD within a register") constants: lo has 0x01 in every byte, hi
// has 0x80 in every byte.
const (
	lo = 0x0101010101010101
	hi = 0x8080808080808080
)

// special returns a mask with the high bit set in (at least) the lowest byte
// of x that is '"', '\\' or a control character. A borrow can only flag a
// byte ABOVE a truly matching one, so the lowest set bit is exact and the
// mask is zero exactly when no byte matches.
func special(x uint64) uint64 {
	q := x ^ (lo * '"')
	s := x ^ (lo * '\\')
	return ((q-lo)&^q | (s-lo)&^s | (x-lo*0x20)&^x) & hi
}

// scanString scans the string literal starting with the quote at b[i] and
// returns the offset just past its closing quote and whether it contains
// escapes.
//
// Strings are most of a request body, so the loop skips eight ordinary
// bytes at a time.
func scanString(b []byte, i int) (int, bool, error) {
	i++
	esc := false
	for {
		if i+8 <= len(b) {
			m := special(binary.LittleEndian.Uint64(b[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		} else {
			for i < len(b) && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\' {
				i++
			}
			if i >= len(b) {
				return i, esc, errEOF(i)
			}
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, esc, nil
		case c == '\\':
			esc = true
			i++
			if i >= len(b) {
				return i, esc, errEOF(i)
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				i++
				for k := 0; k < 4; k++ {
					if i >= len(b) {
						return i, esc, errEOF(i)
					}
					if unhex(b[i]) < 0 {
						return i, esc, errChar(b[i], "in \\u hexadecimal character escape", i)
					}
					i++
				}
			default:
				return i, esc, errChar(b[i], "in string escape code", i)
			}
		default: // a control character
			return i, esc, errChar(c, "in string literal", i)
		}
	}
}

// scanNumber scans the number starting at b[i] per the RFC 8259 grammar
//
//	number = [ "-" ] int [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "-" / "+" ] 1*DIGIT ]
//	int    = "0" / ( %x31-39 *DIGIT )
func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, errEOF(i)
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return i, errChar(b[i], "in numeric literal", i)
	}
	var err error
	if i < len(b) && b[i] == '.' {
		if i, err = someDigits(b, i+1, "after decimal point in numeric literal"); err != nil {
			return i, err
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		return someDigits(b, i, "in exponent of numeric literal")
	}
	return i, nil
}

// someDigits scans the 1*DIGIT starting at b[i]; where there is none, the
// error says the character was unexpected in context.
func someDigits(b []byte, i int, context string) (int, error) {
	if i >= len(b) {
		return i, errEOF(i)
	}
	if !isDigit(b[i]) {
		return i, errChar(b[i], context, i)
	}
	return digits(b, i+1), nil
}

func digits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// literal checks that b[i:] starts with lit (true, false or null).
func literal(b []byte, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(b) {
			return i + k, errEOF(i + k)
		}
		if b[i+k] != lit[k] {
			return i + k, errChar(b[i+k], "in literal "+lit, i+k)
		}
	}
	return i + len(lit), nil
}

func skipSpace(b []byte, i int) int {
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

func isASCII(s []byte) bool {
	for len(s) >= 8 {
		if binary.LittleEndian.Uint64(s)&hi != 0 {
			return false
		}
		s = s[8:]
	}
	for _, c := range s {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func unhex(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// u4 decodes the \uXXXX escape at the start of s, or returns -1.
func u4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		h := unhex(c)
		if h < 0 {
			return -1
		}
		r = r<<4 | h
	}
	return r
}

func errEOF(off int) error {
	return &SyntaxError{Msg: "unexpected end of input", Offset: off}
}

func errChar(c byte, context string, off int) error {
	return &SyntaxError{Msg: "invalid character " + quoteChar(c) + " " + context, Offset: off}
}

// quoteChar formats c for an error message: 'x' for printable ASCII and a
// Go-style escape otherwise, so the message stays readable and one line.
func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c >= 0x20 && c < 0x7f:
		return "'" + string(rune(c)) + "'"
	}
	q := strconv.QuoteToASCII(string([]byte{c}))
	return "'" + q[1:len(q)-1] + "'"
}
