package guard

import (
	"errors"
	"fmt"
	"slices"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// RequestResult is what Request found in one request.
type RequestResult struct {
	Tally      Tally       // matches per category and action, for the metric
	Pseudonyms *Pseudonyms // the request's placeholders, for the answer's Restorer
}

// edit replaces body[start:end] with repl.
type edit struct {
	start, end int
	repl       []byte
}

// skipKey reports whether a member of a content block carries no user
// text: identifiers, base64 payloads, signatures, cache hints, and signed
// thinking (changing it breaks the signature).
func skipKey(k string) bool {
	switch k {
	case "type", "id", "tool_use_id", "signature", "data", "media_type", "cache_control", "name", "model", "thinking":
		return true
	}
	return false
}

// Request applies the guard to an Anthropic Messages request body: the
// system prompt, the messages' text, tool inputs (every string inside) and
// tool results. It returns the body to forward, which is body itself, byte
// for byte, when nothing was changed. Its errors are *apierr.Error of kind
// InvalidRequest (a 400 the client is told not to retry), ready for the
// server's one error renderer: wrapping a *BlockedError when a block
// action matched (the public message names the category, never the
// value), or saying the body is not JSON.
func (g *Guard) Request(body []byte) ([]byte, *RequestResult, error) {
	res := &RequestResult{Tally: Tally{}, Pseudonyms: NewPseudonyms(body)}
	if !g.Active() {
		return body, res, nil
	}
	w := walker{g: g, body: body, res: res}
	err := jsonpeek.Object(body, func(key []byte, start, end int) bool {
		switch string(key) {
		case "system", "messages":
			w.value(start, end, false, 1)
		}
		return w.err == nil
	})
	if err != nil {
		return nil, nil, apierr.Wrap(apierr.InvalidRequest, fmt.Errorf("guard: reading request: %w", err), "the request body is not valid JSON")
	}
	var be *BlockedError
	if errors.As(w.err, &be) {
		return nil, nil, apierr.Wrap(apierr.InvalidRequest, be, be.Error())
	}
	if w.err != nil {
		return nil, nil, apierr.Wrap(apierr.InvalidRequest, fmt.Errorf("guard: reading request: %w", w.err), "the request body is not valid JSON")
	}
	if len(w.edits) == 0 {
		return body, res, nil
	}
	return applyEdits(body, w.edits), res, nil
}

type walker struct {
	g       *Guard
	body    []byte
	res     *RequestResult
	edits   []edit
	err     error
	scanned int // bytes handed to jsonpeek, which bounds the walk's cost
}

// maxWalkDepth is how deep value descends with jsonpeek, which rescans
// each container it enters; below it every string value is visited in one
// linear pass, so a hostile body nested hundreds of levels deep costs no
// more than a few passes over it. Anthropic bodies keep their text within
// about six levels, tool inputs a few more.
const maxWalkDepth = 16

// value walks body[start:end]; inInput says it is inside a tool's input,
// where every string is user data whatever its key.
func (w *walker) value(start, end int, inInput bool, depth int) {
	if w.err != nil || start >= end {
		return
	}
	v := w.body[start:end]
	if depth > maxWalkDepth && v[0] != '"' {
		w.flat(start, end)
		return
	}
	if v[0] == '[' || v[0] == '{' {
		w.scanned += len(v)
	}
	switch v[0] {
	case '"':
		w.str(start, end)
	case '[':
		w.keep(jsonpeek.Array(v, func(s, e int) bool {
			w.value(start+s, start+e, inInput, depth+1)
			return w.err == nil
		}))
	case '{':
		w.keep(jsonpeek.Object(v, func(key []byte, s, e int) bool {
			k := string(key)
			switch {
			case inInput:
				w.value(start+s, start+e, true, depth+1)
			case k == "input":
				w.value(start+s, start+e, true, depth+1)
			case k == "data" && isTextSource(v):
				w.value(start+s, start+e, false, depth+1) // a plain-text document's content
			case !skipKey(k):
				w.value(start+s, start+e, false, depth+1)
			}
			return w.err == nil
		}))
	}
}

// keep records a container's parse error without overwriting the error a
// callback stopped the walk with (a block: jsonpeek returns nil when the
// callback ends the walk, and a block inside messages was lost that way).
func (w *walker) keep(err error) {
	if w.err == nil {
		w.err = err
	}
}

// flat visits every string value (not member names) in the validated JSON
// body[start:end] in one pass.
func (w *walker) flat(start, end int) {
	for i := start; i < end && w.err == nil; i++ {
		if w.body[i] != '"' {
			continue
		}
		e := i + 1
		for e < end && w.body[e] != '"' {
			if w.body[e] == '\\' {
				e++
			}
			e++
		}
		e++ // past the closing quote
		k := e
		for k < end && (w.body[k] == ' ' || w.body[k] == '\t' || w.body[k] == '\n' || w.body[k] == '\r') {
			k++
		}
		if k >= end || w.body[k] != ':' {
			w.str(i, e)
		}
		i = e - 1
	}
}

func (w *walker) str(start, end int) {
	s, err := jsonpeek.String(w.body[start:end])
	if err != nil {
		w.err = err
		return
	}
	out, changed, err := w.g.text(s, w.res.Pseudonyms, w.res.Tally)
	if err != nil {
		w.err = err
		return
	}
	if changed {
		w.edits = append(w.edits, edit{start: start, end: end, repl: jsonpeek.AppendString(nil, out)})
	}
}

func applyEdits(body []byte, edits []edit) []byte {
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
	n := len(body)
	for _, e := range edits {
		n += len(e.repl) - (e.end - e.start)
	}
	out := make([]byte, 0, n)
	last := 0
	for _, e := range edits {
		out = append(out, body[last:e.start]...)
		out = append(out, e.repl...)
		last = e.end
	}
	return append(out, body[last:]...)
}

// isTextSource reports whether the object v is a document source of type
// "text", whose data is the document's text rather than base64.
func isTextSource(v []byte) bool {
	t, err := jsonpeek.String(jsonpeek.Member(v, "type"))
	return err == nil && t == "text"
}
