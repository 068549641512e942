package cache

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/bits"
	"slices"
	"strings"

	"github.com/zeebo/xxh3"
)

// Key identifies a request: an xxh3-128 hash of its canonical form.
type Key [16]byte

// String is the key in hex, as stored.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// Request is what a Key is made of.
type Request struct {
	Op    string // the operation, e.g. "messages"
	Scope string // who may share the answer: the gateway key's name
	Body  []byte // the request body, a JSON object (validated by the caller)
	// Headers that change the answer and are forwarded upstream.
	Version string   // anthropic-version
	Beta    []string // anthropic-beta values, each possibly a comma list
}

// errNotObject is returned for a body that is not a JSON object; the
// server validates bodies before it asks for a key, so this is a bug guard.
var errNotObject = errors.New("cache: request body is not a JSON object")

// maxMembers bounds the members hashed without allocating; a body with more
// top-level members (real ones have about ten) costs one allocation.
const maxMembers = 32

// span is one top-level member: the key's raw bytes (between the quotes)
// and the value's raw bytes.
type span struct{ k0, k1, v0, v1 int }

// Key returns the request's key. The body's top-level members are hashed
// in member-name order, values as raw bytes, without "stream" (a streamed
// and a non-streamed answer are the same message) and "metadata" (user ids
// for abuse tracking, which do not change the answer). So the order of the
// top-level members does not matter, but everything inside a value does,
// nested key order and whitespace included: the SDKs write the same request
// the same way, and canonicalising nested JSON would cost a full decode.
//
// The hash takes every part with its length, so no two different requests
// run into the same input. Names are compared as written: a member name
// spelled with escapes (rare) is a different member, which can only cost a
// cache miss, never a wrong hit.
func (r Request) Key() (Key, error) {
	var buf [maxMembers]span
	members, err := topLevel(r.Body, buf[:0])
	if err != nil {
		return Key{}, err
	}
	b := r.Body
	// Insertion sort: few members, often nearly sorted, and stable, so
	// duplicate names keep their order (and differently ordered
	// duplicates make different keys).
	for i := 1; i < len(members); i++ {
		for j := i; j > 0 && bytes.Compare(b[members[j].k0:members[j].k1], b[members[j-1].k0:members[j-1].k1]) < 0; j-- {
			members[j], members[j-1] = members[j-1], members[j]
		}
	}
	// The canonical form: each part with its length, each member's value
	// by its own hash (hashed in place, which is several times faster
	// than streaming the value through a hasher), then one hash of it all.
	var cbuf [512]byte
	c := cbuf[:0]
	c = appendPart(c, "ferry-cache-v1")
	c = appendPart(c, r.Op)
	c = appendPart(c, r.Scope)
	c = appendPart(c, r.Version)
	c = appendPart(c, betas(r.Beta))
	for _, m := range members {
		k := b[m.k0:m.k1]
		if string(k) == "stream" || string(k) == "metadata" {
			continue
		}
		c = appendPart(c, k)
		v := xxh3.Hash128(b[m.v0:m.v1]).Bytes()
		c = append(c, v[:]...)
	}
	return Key(xxh3.Hash128(c).Bytes()), nil
}

// appendPart appends p with its length before it.
func appendPart[T string | []byte](dst []byte, p T) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(len(p)))
	return append(dst, p...)
}

// betas canonicalises anthropic-beta values: the list, split on commas,
// trimmed, sorted and without duplicates. The usual case (none or one
// value without commas) allocates nothing.
func betas(vs []string) string {
	switch {
	case len(vs) == 0:
		return ""
	case len(vs) == 1 && !strings.Contains(vs[0], ","):
		return strings.TrimSpace(vs[0])
	}
	var all []string
	for _, v := range vs {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				all = append(all, p)
			}
		}
	}
	slices.Sort(all)
	return strings.Join(slices.Compact(all), ",")
}

// topLevel appends the top-level members of the JSON object b to dst.
//
// It trusts b to be valid JSON (the server validated it with
// jsonpeek.Object) and only finds boundaries, which is several times faster
// than a validating scan: strings are skipped a word or a vector at a
// time, and only the few bytes between strings are looked at one by one. It never
// panics on invalid input; it returns an error where it notices, and may
// return arbitrary spans where it does not.
func topLevel(b []byte, dst []span) ([]span, error) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, errNotObject
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return dst, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, errNotObject
		}
		ke, ok := skipString(b, i)
		if !ok {
			return nil, errNotObject
		}
		k0, k1 := i+1, ke-1
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return nil, errNotObject
		}
		i = skipWS(b, i+1)
		v0 := i
		if i, ok = skipValue(b, i); !ok {
			return nil, errNotObject
		}
		dst = append(dst, span{k0, k1, v0, i})
		i = skipWS(b, i)
		if i >= len(b) {
			return nil, errNotObject
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return dst, nil
		default:
			return nil, errNotObject
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
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

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasByte has the high bit set in the first byte of x equal to c (bytes
// after that one may be flagged falsely, which TrailingZeros never sees).
func hasByte(x uint64, c byte) uint64 {
	v := x ^ (lsb * uint64(c))
	return (v - lsb) &^ v & msb
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
