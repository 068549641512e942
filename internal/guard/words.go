package guard

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/coregx/ahocorasick"
)

// WordList matches a list of words with Aho-Corasick, insensitive to case
// and to width: text and words are folded alike (full-width digits and
// letters to ASCII, the ideographic space to a space, then Unicode lower
// case; full-width punctuation is left alone, so Chinese text with its
// commas and stops is matched in place, without a folded copy) and matches are reported in the original text's offsets.
// It is immutable and safe for concurrent use.
type WordList struct {
	ac       *ahocorasick.Automaton
	words    []string            // folded
	prefixes map[string]struct{} // every proper prefix of a folded word
	maxLen   int                 // the longest folded word, in bytes
}

// NewWordList builds a list from words; blank words are ignored, and a list
// with none is an error.
func NewWordList(words []string) (*WordList, error) {
	wl := &WordList{prefixes: map[string]struct{}{}}
	seen := map[string]bool{}
	for _, w := range words {
		fb, _ := fold(nil, nil, strings.TrimSpace(w))
		f := string(fb)
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		wl.words = append(wl.words, f)
		wl.maxLen = max(wl.maxLen, len(f))
		for k := 1; k < len(f); k++ {
			wl.prefixes[f[:k]] = struct{}{}
		}
	}
	if len(wl.words) == 0 {
		return nil, errors.New("word list is empty")
	}
	ac, err := ahocorasick.NewBuilder().SetMatchKind(ahocorasick.LeftmostLongest).AddStrings(wl.words).Build()
	if err != nil {
		return nil, fmt.Errorf("building word matcher: %w", err)
	}
	wl.ac = ac
	return wl, nil
}

// Len returns the number of distinct words.
func (wl *WordList) Len() int { return len(wl.words) }

// foldRune maps r to its folded form.
func foldRune(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	case r >= 0xFF10 && r <= 0xFF19, r >= 0xFF21 && r <= 0xFF3A, r >= 0xFF41 && r <= 0xFF5A:
		return foldRune(r - 0xFEE0) // full-width digits and letters
	case r == 0x3000:
		return ' '
	}
	return unicode.ToLower(r)
}

// foldKind says what folding s takes: none (the common case of lower-case
// ASCII and CJK text), ASCII only (byte lengths kept, offsets unchanged), or
// full (lengths may change, offsets must be mapped).
type foldKind int

const (
	foldNone foldKind = iota
	foldASCII
	foldFull
)

func foldNeeded(s string) foldKind {
	k := foldNone
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c < utf8.RuneSelf:
			if c >= 'A' && c <= 'Z' {
				k = foldASCII
			}
			i++
		case c >= 0xE4 && c <= 0xE9: // U+4000..U+9FFF: CJK ideographs, no case
			i += 3
		default:
			r, w := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && w == 1 || foldRune(r) != r {
				return foldFull
			}
			i += w
		}
	}
	return k
}

// fold appends s folded to dst and, to offs, the offset in s of each byte
// written (plus a final len(s)).
func fold(dst []byte, offs []int32, s string) ([]byte, []int32) {
	for i, r := range s {
		n := len(dst)
		dst = utf8.AppendRune(dst, foldRune(r))
		for range len(dst) - n {
			offs = append(offs, int32(i))
		}
	}
	return dst, append(offs, int32(len(s)))
}

// spans returns the merged spans in s (original offsets) covered by any
// occurrence of a word, overlapping occurrences included.
func (wl *WordList) spans(s string, dst []Match, cat Category) []Match {
	if len(s) == 0 {
		return dst
	}
	var hay []byte
	var offs []int32
	switch foldNeeded(s) {
	case foldNone:
		// The automaton only reads the haystack: no copy of the text.
		hay = unsafe.Slice(unsafe.StringData(s), len(s))
	case foldASCII:
		hay = make([]byte, len(s))
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			hay[i] = c
		}
	default:
		hay, offs = fold(make([]byte, 0, len(s)), make([]int32, 0, len(s)+1), s)
	}
	if !wl.ac.IsMatch(hay) {
		return dst
	}
	for _, m := range wl.ac.FindAllOverlapping(hay) {
		a, e := m.Start, m.End
		if offs != nil {
			a, e = int(offs[a]), int(offs[e])
		}
		if n := len(dst); n > 0 && dst[n-1].Category == cat && a <= dst[n-1].End {
			dst[n-1].End = max(dst[n-1].End, e)
			continue
		}
		dst = append(dst, Match{Start: a, End: e, Category: cat})
	}
	return dst
}

// find is spans for a custom detector rule.
func (wl *WordList) find(s string, cat Category, dst []Match) []Match {
	return wl.spans(s, dst, cat)
}

// Find appends the spans of s that hold a listed word.
func (wl *WordList) Find(s string, dst []Match) []Match { return wl.spans(s, dst, Words) }

// holdBack returns how many bytes at the end of s must be held back because
// they could begin a word that the next chunk completes: the longest suffix
// of s that is a proper prefix of a listed word once folded. Nothing
// shorter guarantees that a word split across chunks is caught.
func (wl *WordList) holdBack(s string) int {
	if len(s) == 0 {
		return 0
	}
	// Fold only the tail that could matter: maxLen runes at most.
	start := len(s)
	for n := 0; n < wl.maxLen && start > 0; n++ {
		_, w := utf8.DecodeLastRuneInString(s[:start])
		start -= w
	}
	tail := s[start:]
	var fbuf [128]byte
	var obuf [129]int32
	f, offs := fold(fbuf[:0], obuf[:0], tail)
	for k := min(len(f), wl.maxLen-1); k > 0; k-- {
		if _, ok := wl.prefixes[string(f[len(f)-k:])]; ok {
			return len(tail) - int(offs[len(f)-k])
		}
	}
	return 0
}

// Mask returns s with every rune of every listed word replaced by '*', and
// whether anything was.
func (wl *WordList) Mask(s string) (string, bool) {
	ms := wl.Find(s, nil)
	if len(ms) == 0 {
		return s, false
	}
	return maskSpans(s, ms), true
}

func maskSpans(s string, ms []Match) string {
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, m := range ms {
		b.WriteString(s[last:m.Start])
		for range utf8.RuneCountInString(s[m.Start:m.End]) {
			b.WriteByte('*')
		}
		last = m.End
	}
	b.WriteString(s[last:])
	return b.String()
}
