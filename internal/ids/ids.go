// Package ids makes the identifiers Ferry gives out: request ids
// ("req_…"), message ids ("msg_…"), tool-use ids ("toolu_…"), in the
// shape Anthropic's API uses, a prefix and 24 base62 characters. It is the
// one random-id generator; code that must be deterministic (translators,
// the simulator) takes a [Func] or draws its own digits and encodes them
// with [AppendDigits].
package ids

import "crypto/rand"

// Alphabet is the base62 digits ids are made of.
const Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Len is the number of random characters after an id's prefix: 24 base62
// characters, about 142 bits.
const Len = 24

// Func makes an id with a prefix; [New] is the random one, and tests pass
// a deterministic one.
type Func func(prefix string) string

// New returns prefix followed by [Len] random base62 characters from
// crypto/rand (the slight modulo bias does not matter for an id). It
// allocates once, the string.
func New(prefix string) string {
	var buf [64]byte
	if len(prefix) > len(buf)-Len {
		return string(Append(nil, prefix))
	}
	return string(Append(buf[:0], prefix))
}

// Append appends prefix and [Len] random base62 characters to dst.
func Append(dst []byte, prefix string) []byte {
	var raw [Len]byte
	rand.Read(raw[:])
	dst = append(dst, prefix...)
	for _, b := range raw {
		dst = append(dst, Alphabet[int(b)%len(Alphabet)])
	}
	return dst
}

// AppendDigits appends n base62 characters drawn from next, ten from each
// 64-bit draw (62^10 < 2^64): the encoding for generators that must be
// reproducible, such as the simulator's seeded one.
func AppendDigits(dst []byte, n int, next func() uint64) []byte {
	for n > 0 {
		x := next()
		for k := 0; k < 10 && n > 0; k++ {
			dst = append(dst, Alphabet[x%62])
			x /= 62
			n--
		}
	}
	return dst
}
