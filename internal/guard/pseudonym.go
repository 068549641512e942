package guard

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// Pseudonyms is one request's table of placeholders: the same value always
// gets the same placeholder (<PHONE_1>), numbered per category in order of
// appearance. A placeholder that already occurs in the request is skipped,
// so restoring never changes text the client wrote. It belongs to one
// request and is not safe for concurrent use.
type Pseudonyms struct {
	avoid   []byte              // the request, to keep placeholders unique
	byValue map[valueKey]string // category and value -> placeholder
	values  map[string]string   // placeholder -> value
	next    map[Category]int
	maxLen  int
}

// NewPseudonyms starts a table for a request whose text is avoid.
func NewPseudonyms(avoid []byte) *Pseudonyms {
	return &Pseudonyms{avoid: avoid}
}

type valueKey struct {
	c Category
	v string
}

func (p *Pseudonyms) placeholder(c Category, v string) string {
	key := valueKey{c, v}
	if ph, ok := p.byValue[key]; ok {
		return ph
	}
	if p.byValue == nil {
		p.byValue, p.values, p.next = map[valueKey]string{}, map[string]string{}, map[Category]int{}
	}
	var ph string
	for {
		p.next[c]++
		ph = "<" + c.Label() + "_" + strconv.Itoa(p.next[c]) + ">"
		if !bytes.Contains(p.avoid, []byte(ph)) {
			break
		}
	}
	p.byValue[key], p.values[ph] = ph, v
	p.maxLen = max(p.maxLen, len(ph))
	return ph
}

// Len returns how many placeholders were issued (0 for a nil table).
func (p *Pseudonyms) Len() int {
	if p == nil {
		return 0
	}
	return len(p.values)
}

// Restore returns s with every placeholder replaced by its value.
func (p *Pseudonyms) Restore(s string) string {
	r := p.Restorer(false)
	return r.Write(s) + r.Flush()
}

// Restorer returns a stream restorer. With inJSON the text is the raw JSON
// of an input_json_delta, and values are written JSON-escaped.
func (p *Pseudonyms) Restorer(inJSON bool) *Restorer { return &Restorer{p: p, inJSON: inJSON} }

// Restorer puts values back into an answer that arrives in chunks. A
// placeholder split across chunks is restored: Write holds back the
// shortest tail that could still become a placeholder (from its last "<"
// when what follows is a proper prefix of an issued placeholder) and
// nothing else.
type Restorer struct {
	p       *Pseudonyms
	inJSON  bool
	pending string
}

// Write takes the next chunk and returns the text that may be emitted now.
func (r *Restorer) Write(chunk string) string {
	if r.p == nil || len(r.p.values) == 0 {
		return chunk
	}
	s := r.pending + chunk
	hold := r.holdBack(s)
	r.pending = s[len(s)-hold:]
	return r.replace(s[:len(s)-hold])
}

// Flush returns what is held back, at the end of the text.
func (r *Restorer) Flush() string {
	s := r.pending
	r.pending = ""
	return r.replace(s)
}

// Pending returns how many bytes are held back.
func (r *Restorer) Pending() int { return len(r.pending) }

func (r *Restorer) holdBack(s string) int {
	lt := strings.LastIndexByte(s, '<')
	if lt < 0 || len(s)-lt >= r.p.maxLen {
		return 0
	}
	tail := s[lt:]
	for ph := range r.p.values {
		if len(tail) < len(ph) && strings.HasPrefix(ph, tail) {
			return len(tail)
		}
	}
	return 0
}

func (r *Restorer) replace(s string) string {
	if strings.IndexByte(s, '<') < 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '<' {
			continue
		}
		gt := strings.IndexByte(s[i:min(len(s), i+r.p.maxLen)], '>')
		if gt < 0 {
			continue
		}
		v, ok := r.p.values[s[i:i+gt+1]]
		if !ok {
			continue
		}
		b.WriteString(s[last:i])
		if r.inJSON {
			q := jsonpeek.AppendString(nil, v)
			b.Write(q[1 : len(q)-1])
		} else {
			b.WriteString(v)
		}
		i += gt
		last = i + 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}
