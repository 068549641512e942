package guard

import (
	"fmt"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// Message applies the answer filter to a whole (non-streamed) Anthropic
// message: placeholders restored in text blocks and in every string of a
// tool_use input, the word list's output action on text, thinking and tool
// inputs. On refusal the content ends with the text before the word and
// stop_reason becomes "refusal". The body is returned as is when nothing
// changed.
func (g *Guard) Message(body []byte, ps *Pseudonyms) ([]byte, bool, error) {
	out, refused, _, err := g.MessageCount(body, ps)
	return out, refused, err
}

// MessageCount is Message that also returns how many listed words it
// masked, for the metric.
func (g *Guard) MessageCount(body []byte, ps *Pseudonyms) (out []byte, refused bool, masked int, err error) {
	if g.Answer(ps) == nil {
		return body, false, 0, nil
	}
	m := messageWalk{g: g, ps: ps, body: body}
	err = jsonpeek.Object(body, func(key []byte, start, end int) bool {
		switch string(key) {
		case "content":
			m.content(start, end)
		case "stop_reason":
			m.stopReason = [2]int{start, end}
		}
		return m.err == nil
	})
	if err == nil {
		err = m.err
	}
	if err != nil {
		return nil, false, 0, fmt.Errorf("guard: reading answer: %w", err)
	}
	if m.refusedAt >= 0 && m.refused {
		content := append([]byte(nil), body[m.contentStart:m.refusedAt]...)
		content = append(content, m.refusedBlock...)
		content = append(content, ']')
		m.edits = []edit{{start: m.contentStart, end: m.contentEnd, repl: content}}
		if m.stopReason[1] > 0 {
			m.edits = append(m.edits, edit{start: m.stopReason[0], end: m.stopReason[1], repl: []byte(`"refusal"`)})
		}
	}
	if len(m.edits) == 0 {
		return body, false, m.masked, nil
	}
	return applyEdits(body, m.edits), m.refused, m.masked, nil
}

type messageWalk struct {
	g                        *Guard
	ps                       *Pseudonyms
	body                     []byte
	edits                    []edit
	err                      error
	contentStart, contentEnd int
	stopReason               [2]int
	refused                  bool
	refusedAt                int    // where the refused block began
	refusedBlock             []byte // the block that replaces it
	masked                   int    // listed words masked
}

func (m *messageWalk) content(start, end int) {
	m.contentStart, m.contentEnd, m.refusedAt = start, end, -1
	m.err = jsonpeek.Array(m.body[start:end], func(s, e int) bool {
		if m.refused {
			return false
		}
		m.block(start+s, start+e)
		return m.err == nil
	})
}

func (m *messageWalk) block(start, end int) {
	b := m.body[start:end]
	typ, _ := jsonpeek.String(jsonpeek.Member(b, "type"))
	m.err = jsonpeek.Object(b, func(key []byte, s, e int) bool {
		k := string(key)
		switch {
		case typ == "text" && k == "text", typ == "thinking" && k == "thinking":
			m.text(start, start+s, start+e, typ == "text", true)
		case typ == "tool_use" && k == "input":
			m.input(start+s, start+e)
		}
		return m.err == nil && !m.refused
	})
}

// text filters one text (or thinking) string at body[s:e] of the block
// that begins at blockStart. A word where refusal is not possible (a tool
// input) is masked.
func (m *messageWalk) text(blockStart, s, e int, restore, mayRefuse bool) {
	v, err := jsonpeek.String(m.body[s:e])
	if err != nil {
		m.err = err
		return
	}
	out := v
	if restore && m.ps.Len() > 0 {
		out = m.ps.Restore(out)
	}
	if m.g.words != nil {
		ms := m.g.words.Find(out, nil)
		if len(ms) > 0 && m.g.wordsOutput == WordsRefuse && mayRefuse {
			m.refused, m.refusedAt = true, blockStart
			m.refusedBlock = jsonpeek.AppendString([]byte(`{"type":"text","text":`), out[:ms[0].Start])
			m.refusedBlock = append(m.refusedBlock, '}')
			return
		}
		if len(ms) > 0 {
			out = maskSpans(out, ms)
			m.masked += len(ms)
		}
	}
	if out != v {
		m.edits = append(m.edits, edit{start: s, end: e, repl: jsonpeek.AppendString(nil, out)})
	}
}

// input restores placeholders in every string of a tool input.
func (m *messageWalk) input(start, end int) {
	if m.err != nil {
		return
	}
	v := m.body[start:end]
	switch {
	case len(v) > 0 && v[0] == '"':
		m.text(start, start, end, true, false)
	case len(v) > 0 && v[0] == '[':
		m.err = jsonpeek.Array(v, func(s, e int) bool { m.input(start+s, start+e); return m.err == nil })
	case len(v) > 0 && v[0] == '{':
		m.err = jsonpeek.Object(v, func(_ []byte, s, e int) bool { m.input(start+s, start+e); return m.err == nil })
	}
}
