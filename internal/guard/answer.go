package guard

import (
	"strconv"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

// Answer filters one Anthropic answer stream: it restores the request's
// placeholders in text and tool-input deltas and applies the word list's
// output action to text, thinking and tool-input deltas, holding back only
// what a split placeholder or word needs. It is a state machine over the
// upstream's events; the caller (server) writes what it returns and, once
// Refused reports true, stops reading the upstream.
//
// A word in a tool input is masked even with the refuse action: a tool
// call cut short would not parse. Thinking deltas are not restored: the upstream signs the thinking it
// produced (with placeholders), and the client must send it back unchanged
// on the next turn.
type Answer struct {
	ps      *Pseudonyms
	g       *Guard
	blocks  map[int]*blockFilter
	refused bool
	masked  int // listed words masked so far
}

type blockFilter struct {
	kind     string // text_delta, thinking_delta, input_json_delta
	field    string // text, thinking, partial_json
	restorer *Restorer
	words    *WordStream
}

// Answer returns the filter for the answer to a request that Request
// returned ps for, or nil when there is nothing to do (no placeholders
// issued, no word list): the caller then passes the stream through.
func (g *Guard) Answer(ps *Pseudonyms) *Answer {
	if g == nil || g.words == nil && ps.Len() == 0 {
		return nil
	}
	return &Answer{ps: ps, g: g, blocks: map[int]*blockFilter{}}
}

// Refused reports whether the answer was ended for a listed word.
func (a *Answer) Refused() bool { return a.refused }

// Masked returns how many listed words were masked so far, for the
// metric.
func (a *Answer) Masked() int { return a.masked }

// Event takes one upstream event and appends the frames to send in its
// place to dst: the event itself when nothing changed, a rewritten delta,
// nothing (all held back), or the end of the answer on refusal.
func (a *Answer) Event(dst []byte, ev sse.Event) []byte {
	for _, e := range a.Filter(ev, nil) {
		dst = append(dst, e.Raw...)
	}
	return dst
}

// Filter is Event for a caller that works with events: it appends to out
// the events to send in ev's place. ev itself is passed on when unchanged,
// so its slices alias the upstream's buffer as before; new events own
// theirs.
func (a *Answer) Filter(ev sse.Event, evs []sse.Event) []sse.Event {
	if a.refused {
		return evs
	}
	switch string(ev.Name) {
	case "content_block_delta":
		return a.delta(evs, ev)
	case "content_block_stop":
		idx, ok := blockIndex(ev.Data)
		if b := a.blocks[idx]; ok && b != nil {
			delete(a.blocks, idx)
			var text string
			var refused bool
			if b.restorer != nil {
				text = b.restorer.Flush()
			}
			if b.words != nil {
				w1, r1 := b.words.Write(text)
				w2, r2 := b.words.Flush()
				text, refused = w1+w2, r1 || r2
			}
			evs = a.appendDelta(evs, idx, b, text)
			if refused {
				return a.refuse(evs, idx)
			}
		}
	}
	return append(evs, ev)
}

func blockIndex(data []byte) (int, bool) {
	n, err := strconv.Atoi(string(jsonpeek.Member(data, "index")))
	return n, err == nil
}

func (a *Answer) delta(evs []sse.Event, ev sse.Event) []sse.Event {
	idx, ok := blockIndex(ev.Data)
	delta := jsonpeek.Member(ev.Data, "delta")
	kind, _ := jsonpeek.String(jsonpeek.Member(delta, "type"))
	var field string
	switch kind {
	case "text_delta":
		field = "text"
	case "thinking_delta":
		field = "thinking"
	case "input_json_delta":
		field = "partial_json"
	}
	raw := jsonpeek.Member(delta, field)
	if !ok || field == "" || raw == nil {
		return append(evs, ev)
	}
	text, err := jsonpeek.String(raw)
	if err != nil {
		return append(evs, ev)
	}
	b := a.blocks[idx]
	if b == nil {
		b = &blockFilter{kind: kind, field: field, words: a.g.OutputStream()}
		if b.words != nil {
			b.words.masked = &a.masked
		}
		if b.words != nil && kind == "input_json_delta" {
			b.words.refuse = false // a tool call cut short would not parse: masked instead
		}
		if kind != "thinking_delta" && a.ps.Len() > 0 {
			b.restorer = a.ps.Restorer(kind == "input_json_delta")
		}
		a.blocks[idx] = b
	}
	out := text
	if b.restorer != nil {
		out = b.restorer.Write(out)
	}
	refused := false
	if b.words != nil {
		out, refused = b.words.Write(out)
	}
	if out == text && !refused {
		return append(evs, ev)
	}
	evs = a.appendDelta(evs, idx, b, out)
	if refused {
		return a.refuse(evs, idx)
	}
	return evs
}

// newEvent builds an event that owns its bytes.
func newEvent(name string, data []byte) sse.Event {
	raw := sse.AppendEvent(nil, name, data)
	return sse.Event{Name: []byte(name), Data: data, Raw: raw}
}

// appendDelta adds a delta event carrying text, or nothing for "".
func (a *Answer) appendDelta(evs []sse.Event, idx int, b *blockFilter, text string) []sse.Event {
	if text == "" {
		return evs
	}
	data := make([]byte, 0, len(text)+96)
	data = append(data, `{"type":"content_block_delta","index":`...)
	data = strconv.AppendInt(data, int64(idx), 10)
	data = append(data, `,"delta":{"type":"`...)
	data = append(data, b.kind...)
	data = append(data, `","`...)
	data = append(data, b.field...)
	data = append(data, `":`...)
	data = jsonpeek.AppendString(data, text)
	data = append(data, "}}"...)
	return append(evs, newEvent("content_block_delta", data))
}

// refuse ends the answer: the open block stops, the message ends with
// stop_reason "refusal". Output tokens are reported as 0: the upstream's
// count is not known yet, and the caller's ledger should take the
// upstream's usage as far as it was read.
func (a *Answer) refuse(evs []sse.Event, idx int) []sse.Event {
	a.refused = true
	stop := strconv.AppendInt([]byte(`{"type":"content_block_stop","index":`), int64(idx), 10)
	return append(evs,
		newEvent("content_block_stop", append(stop, '}')),
		newEvent("message_delta", []byte(`{"type":"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null},"usage":{"output_tokens":0}}`)),
		newEvent("message_stop", []byte(`{"type":"message_stop"}`)))
}
