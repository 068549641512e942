package simulator

import "github.com/ferrygw/ferry/internal/ids"

// Deterministic randomness: splitmix64 (Steele, Lea, Flood, "Fast splittable
// pseudorandom number generators", OOPSLA 2014), as in java.util.SplittableRandom.

const gamma = 0x9e3779b97f4a7c15 // the splitmix64 increment

// mix64 is splitmix64's finaliser: a bijective 64-bit hash.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Independent streams of one request, so that adding a draw to one field
// never shifts another.
const (
	streamOutcome   = iota + 1 // error band, tool-use share
	streamMessageID            // msg_ id
	streamToolID               // toolu_ id
	streamSignature            // thinking signature
)

// rand is a splitmix64 generator.
type rand struct{ s uint64 }

// newRand seeds the generator of one stream of request n.
func newRand(seed, n uint64, stream uint64) rand {
	return rand{s: mix64(mix64(seed+n*gamma) ^ stream*0xd1b54a32d192ed03)}
}

func (r *rand) next() uint64 {
	r.s += gamma
	return mix64(r.s)
}

// float returns a uniform number in [0,1).
func (r *rand) float() float64 {
	return float64(r.next()>>11) / (1 << 53)
}

// id returns prefix followed by 24 base62 characters.
func (r *rand) id(prefix string) string {
	b := make([]byte, 0, len(prefix)+ids.Len)
	b = append(b, prefix...)
	return string(ids.AppendDigits(b, ids.Len, r.next))
}
