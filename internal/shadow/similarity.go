package shadow

import (
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text similarity is the cosine of the two texts' word-bounded character
// trigram count vectors, in [0, 1].
//
// Why this measure: answers from two models are compared for meaning
// drift, not byte equality, and must be compared cheaply on bounded text
// (MaxText each) in any script.
//   - Trigrams inside words (each lowercased word padded as "  word ",
//     the scheme of PostgreSQL's pg_trgm) make word order irrelevant and
//     give partial credit to inflections ("call"/"calls"), so a reworded
//     answer scores high; unrelated texts share little but a few common
//     short words, so they score low.
//   - A run of CJK characters has no spaces: splitting on spaces alone
//     would make each sentence one token. Its characters and sliding
//     character bigrams are the features instead (most Chinese and
//     Japanese words are one or two characters), the usual choice of CJK
//     search engines.
//   - Cost is O(n log n) in the text's length (counting by sorting packed
//     trigrams, reusing buffers), no quadratic edit distance: a normalised
//     token-level Levenshtein would punish reordered sentences and costs
//     O(n·m), which on two 32 KiB answers is tens of millions of steps.
//
// Texts without letters or digits have no trigrams: two of them are equal
// (1) when they are the same after trimming spaces, so Similarity("", "")
// is 1, else 0; such a text and one with words score 0.

// similarity holds reusable buffers; one per worker.
type similarity struct {
	a, b []uint64
	word []rune
}

// Similarity returns the text similarity of a and b (see above).
func Similarity(a, b string) float64 {
	var s similarity
	return s.of(a, b)
}

func (s *similarity) of(a, b string) float64 {
	s.a = s.trigrams(s.a[:0], a)
	s.b = s.trigrams(s.b[:0], b)
	if len(s.a) == 0 || len(s.b) == 0 {
		if len(s.a) == 0 && len(s.b) == 0 && strings.TrimSpace(a) == strings.TrimSpace(b) {
			return 1
		}
		return 0
	}
	slices.Sort(s.a)
	slices.Sort(s.b)
	var dot, na, nb float64
	i, j := 0, 0
	for i < len(s.a) || j < len(s.b) {
		var ca, cb float64
		switch {
		case j >= len(s.b) || i < len(s.a) && s.a[i] < s.b[j]:
			ca, i = run(s.a, i)
		case i >= len(s.a) || s.b[j] < s.a[i]:
			cb, j = run(s.b, j)
		default:
			ca, i = run(s.a, i)
			cb, j = run(s.b, j)
		}
		dot += ca * cb
		na += ca * ca
		nb += cb * cb
	}
	sim := dot / math.Sqrt(na*nb)
	return min(max(sim, 0), 1) // rounding may leave 1+ε
}

// run returns how many times x[i] repeats from i, and the next index.
func run(x []uint64, i int) (float64, int) {
	j := i + 1
	for j < len(x) && x[j] == x[i] {
		j++
	}
	return float64(j - i), j
}

// trigrams appends the packed features of every word of text to dst:
// trigrams of each word padded "  word ", and for a run of CJK characters
// (which has no spaces) its characters and the bigrams of the run padded
// " run ", since most Chinese and Japanese words are one or two characters
// long. A feature packs
// three runes of 21 bits each into one uint64, so there are no hash
// collisions; the pad is rune 0 and bigrams carry a first rune no
// character has.
func (s *similarity) trigrams(dst []uint64, text string) []uint64 {
	cjkRun := false
	flush := func() {
		if len(s.word) == 0 {
			return
		}
		if cjkRun {
			var p rune
			for _, r := range s.word {
				dst = append(dst, pack(bigram, p, r), pack(bigram, r, bigram))
				p = r
			}
			dst = append(dst, pack(bigram, p, 0))
		} else {
			var p1, p2 rune
			for _, r := range s.word {
				dst = append(dst, pack(p1, p2, r))
				p1, p2 = p2, r
			}
			dst = append(dst, pack(p1, p2, 0))
		}
		s.word = s.word[:0]
	}
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		i += n
		if r < utf8.RuneSelf {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
				if cjkRun {
					flush()
					cjkRun = false
				}
				s.word = append(s.word, r)
				continue
			}
			flush()
			continue
		}
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
			if !cjkRun {
				flush()
				cjkRun = true
			}
			s.word = append(s.word, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			if cjkRun {
				flush()
				cjkRun = false
			}
			s.word = append(s.word, unicode.ToLower(r))
		default:
			flush()
		}
	}
	flush()
	return dst
}

// bigram marks a CJK bigram feature: above every rune.
const bigram = 1<<21 - 1

func pack(a, b, c rune) uint64 {
	return uint64(a)<<42 | uint64(b)<<21 | uint64(c)
}
