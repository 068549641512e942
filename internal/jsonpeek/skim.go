package jsonpeek

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
)

// ErrNotSkimmable is returned by [Skim] and [SkimArray] where they notice
// that b is not the JSON object or array they were promised.
var ErrNotSkimmable = errors.New("jsonpeek: not a well-formed object or array")

// Skim calls fn for each top-level member of the JSON object b, as
// [Object] does, but trusts b to be valid JSON (validated by [Object]
// earlier on its path) and only finds boundaries, several times faster
// than a validating scan: strings are skipped a word or a vector at a
// time, and only the few bytes between strings are looked at one by one.
// key is the member name as written between its quotes, escapes NOT
// resolved (compare decoded names with [Object]). It never panics on
// invalid input; it returns ErrNotSkimmable where it notices, and may
// report arbitrary spans where it does not. Nothing is allocated.
func Skim(b []byte, fn func(key []byte, start, end int) bool) error {
	i, err := skimOpen(b, '{', '}')
	if i < 0 {
		return err
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return ErrNotSkimmable
		}
		ke, ok := skipString(b, i)
		if !ok {
			return ErrNotSkimmable
		}
		key := b[i+1 : ke-1]
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return ErrNotSkimmable
		}
		start := skipSpace(b, i+1)
		if i, ok = skipValue(b, start); !ok {
			return ErrNotSkimmable
		}
		if !fn(key, start, i) {
			return nil
		}
		if i, ok = next(b, i, '}'); !ok || i < 0 {
			return errIf(!ok)
		}
	}
}

// SkimArray calls fn with the span of each element of the JSON array b,
// trusting b as [Skim] does; it stops early when fn returns false.
func SkimArray(b []byte, fn func(start, end int) bool) error {
	i, err := skimOpen(b, '[', ']')
	if i < 0 {
		return err
	}
	for {
		e, ok := skipValue(b, i)
		if !ok {
			return ErrNotSkimmable
		}
		if !fn(i, e) {
			return nil
		}
		if i, ok = next(b, e, ']'); !ok || i < 0 {
			return errIf(!ok)
		}
	}
}

// skimOpen returns where the first member or element of the container b
// starts, or -1 with a nil error when it is empty, or -1 with
// ErrNotSkimmable when b does not open with the bracket.
func skimOpen(b []byte, opening, closing byte) (int, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != opening {
		return -1, ErrNotSkimmable
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closing {
		return -1, nil
	}
	return i, nil
}

// next steps over the separator after a member or element ending at i:
// the start of the next one, or -1 at the closing bracket, or not ok.
func next(b []byte, i int, closing byte) (int, bool) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case ',':
		return skipSpace(b, i+1), true
	case closing:
		return -1, true
	}
	return 0, false
}

func errIf(bad bool) error {
	if bad {
		return ErrNotSkimmable
	}
	return nil
}

// skipString returns the index after the string starting at b[i] == '"'.
// Request strings are short (member names, roles, types) or long (text):
// it looks at the first eight bytes at once for a quote or a backslash
// (SWAR), cheaper than a call for a short string, and hands a longer one
// over to bytes.IndexByte, many times faster on a long one.
func skipString(b []byte, i int) (int, bool) {
	j := i + 1
	if j+8 > len(b) {
		return skipQuoted(b, i, j)
	}
	x := binary.LittleEndian.Uint64(b[j:])
	m := hasByte(x, '"') | hasByte(x, '\\')
	if m == 0 {
		return skipQuoted(b, i, j+8)
	}
	j += bits.TrailingZeros64(m) / 8
	if b[j] == '"' {
		return j + 1, true
	}
	return skipQuoted(b, i, j)
}

// skipQuoted returns the index after the string starting at b[i] == '"',
// looking for its end from b[from].
func skipQuoted(b []byte, i, from int) (int, bool) {
	j := from
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, false
		}
		q := j + k
		// The quote is escaped when an odd number of backslashes precede it.
		bs := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			bs++
		}
		if bs%2 == 0 {
			return q + 1, true
		}
		j = q + 1
	}
}

// hasByte has the high bit set in the first byte of x equal to c (bytes
// after that one may be flagged falsely, which TrailingZeros never sees).
func hasByte(x uint64, c byte) uint64 {
	v := x ^ (lo * uint64(c))
	return (v - lo) &^ v & hi
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		// Only strings and brackets matter; '[' and ']' are '{' and '}'
		// without bit 0x20, so one test finds either kind.
		depth := 0
		for i < len(b) {
			c := b[i]
			if c == '"' {
				e, ok := skipString(b, i)
				if !ok {
					return 0, false
				}
				i = e
				continue
			}
			switch c | 0x20 {
			case '{':
				depth++
			case '}':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	}
	// A number or a literal: up to the next delimiter.
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\n', '\r', '\t':
			return j, j > i
		}
		j++
	}
	return 0, false
}
