package cache

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"strings"

	"github.com/zeebo/xxh3"

	"github.com/ferrygw/ferry/internal/jsonpeek"
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
// and the value's offsets.
type span struct {
	key    []byte
	v0, v1 int
}

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
		for j := i; j > 0 && bytes.Compare(members[j].key, members[j-1].key) < 0; j-- {
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
		k := m.key
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

// topLevel appends the top-level members of the JSON object b to dst,
// with jsonpeek.Skim: b was validated by the server (jsonpeek.Object), so
// boundaries are all the key needs.
func topLevel(b []byte, dst []span) ([]span, error) {
	err := jsonpeek.Skim(b, func(key []byte, start, end int) bool {
		dst = append(dst, span{key, start, end})
		return true
	})
	if err != nil {
		return nil, errNotObject
	}
	return dst, nil
}
