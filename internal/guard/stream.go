package guard

import "unicode/utf8"

// WordStream filters an answer's text for listed words as it streams. It
// holds back the shortest tail that could begin a word the next chunk
// completes (WordList.holdBack) plus an incomplete UTF-8 sequence, so a
// word split across chunks is caught and the masked stream equals the
// whole text masked. One per content block; not safe for concurrent use.
type WordStream struct {
	wl      *WordList
	refuse  bool
	pending string
	done    bool
	masked  *int // where masked words are counted; nil: not counted
}

// OutputStream returns a word filter for one answer block, or nil when the
// guard has no word list.
func (g *Guard) OutputStream() *WordStream {
	if g == nil || g.words == nil {
		return nil
	}
	return &WordStream{wl: g.words, refuse: g.wordsOutput == WordsRefuse}
}

// Write takes the next chunk. It returns the text that may be emitted now
// and, with the refuse action, refused=true when a listed word was found:
// out then holds the text before the word, and the caller ends the answer
// (content_block_stop, message_delta with stop_reason "refusal",
// message_stop) and ignores the rest of the upstream's stream.
func (f *WordStream) Write(chunk string) (out string, refused bool) {
	if f.done {
		return "", true
	}
	s := f.pending + chunk
	cut := utf8Cut(s, len(s))
	cut -= f.wl.holdBack(s[:cut])
	ms := f.wl.Find(s, nil)
	// A word that crosses the cut is held back whole, so it is masked
	// (or refused) at once when complete.
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Start < cut && ms[i].End > cut {
			cut = ms[i].Start
		}
	}
	var emit []Match
	for _, m := range ms {
		if m.End <= cut {
			emit = append(emit, m)
		}
	}
	if len(emit) > 0 && f.refuse {
		f.done, f.pending = true, ""
		return s[:emit[0].Start], true
	}
	f.pending = s[cut:]
	if len(emit) == 0 {
		return s[:cut], false
	}
	f.count(len(emit))
	return maskSpans(s[:cut], emit), false
}

// Flush returns the held-back text at the end of the block.
func (f *WordStream) Flush() (out string, refused bool) {
	if f.done {
		return "", true
	}
	s := f.pending
	f.pending = ""
	ms := f.wl.Find(s, nil)
	if len(ms) > 0 && f.refuse {
		f.done = true
		return s[:ms[0].Start], true
	}
	f.count(len(ms))
	return maskSpans(s, ms), false
}

func (f *WordStream) count(n int) {
	if f.masked != nil {
		*f.masked += n
	}
}

// Pending returns how many bytes are held back.
func (f *WordStream) Pending() int { return len(f.pending) }

// utf8Cut moves cut back to the start of the rune it would split, and off
// an incomplete sequence at the end of s.
func utf8Cut(s string, cut int) int {
	for cut > 0 && cut < len(s) && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if cut == len(s) {
		i := cut
		for i > 0 && cut-i < utf8.UTFMax-1 && !utf8.RuneStart(s[i-1]) {
			i--
		}
		if i > 0 && !utf8.FullRuneInString(s[i-1:]) {
			return i - 1
		}
	}
	return cut
}
