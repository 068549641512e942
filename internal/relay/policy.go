package relay

// Parameter and header policy: what a provider's and a route target's
// config change in a call before the upstream sees it.

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/routing"
)

// policyHeaders returns the headers the call sets upstream: the client's
// values of the provider's and the target's forward_headers, then the
// target's headers (the provider's own static headers are the provider's
// to send). nil when there are none.
func policyHeaders(b *backend, t *routing.Target, client http.Header) [][2]string {
	if len(b.forward) == 0 && len(t.Forward) == 0 && len(t.Headers) == 0 {
		return nil
	}
	var out [][2]string
	for _, names := range [2][]string{b.forward, t.Forward} {
		for _, name := range names {
			if v := client[name]; len(v) > 0 {
				out = append(out, [2]string{name, v[0]})
			}
		}
	}
	return append(out, t.Headers...)
}

// applyParams returns body with the parameter policy p applied, patched in
// place of the members it changes; body itself when p changes nothing, so
// that a body without policy stays byte for byte what the client sent.
// body is a validated JSON object in format f: Anthropic's, or an OpenAI
// Chat Completions body (max_completion_tokens too; no top_k).
func applyParams(body []byte, f provider.Format, p config.Params) []byte {
	if p.IsZero() {
		return body
	}
	type span struct{ start, end int }
	var (
		found          [nParams]span
		maxTok, maxCmp span
	)
	jsonpeek.Object(body, func(key []byte, start, end int) bool {
		switch string(key) {
		case "max_tokens":
			maxTok = span{start, end}
		case "max_completion_tokens":
			maxCmp = span{start, end}
		default:
			if i := paramIndex(string(key)); i >= 0 {
				found[i] = span{start, end}
			}
		}
		return true
	})
	var edits []edit
	if c := p.MaxTokensCap; c > 0 {
		for _, s := range [2]span{maxTok, maxCmp} {
			if s.end > s.start && plainIntOver(body[s.start:s.end], c) {
				edits = append(edits, edit{start: s.start, end: s.end, value: strconv.AppendInt(nil, c, 10)})
			}
		}
	}
	for i, name := range paramNames {
		if name == "top_k" && f != provider.FormatAnthropic {
			continue // OpenAI's format has no top_k
		}
		s := found[i]
		present := s.end > s.start && string(body[s.start:s.end]) != "null"
		v, ok := value(p.Overrides, i)
		if !ok && !present {
			v, ok = value(p.Defaults, i)
		}
		switch {
		case !ok:
		case s.end > s.start:
			edits = append(edits, edit{start: s.start, end: s.end, value: v})
		default:
			edits = append(edits, edit{start: -1, key: name, value: v})
		}
	}
	if len(edits) == 0 {
		return body
	}
	return patch(body, edits)
}

// The sampling parameters a policy sets, by index.
const nParams = 3

var paramNames = [nParams]string{"temperature", "top_p", "top_k"}

func paramIndex(key string) int {
	for i, n := range paramNames {
		if n == key {
			return i
		}
	}
	return -1
}

// value is the JSON of parameter i in s, if s sets it.
func value(s config.Sampling, i int) ([]byte, bool) {
	switch {
	case i == 0 && s.Temperature != nil:
		return strconv.AppendFloat(nil, *s.Temperature, 'g', -1, 64), true
	case i == 1 && s.TopP != nil:
		return strconv.AppendFloat(nil, *s.TopP, 'g', -1, 64), true
	case i == 2 && s.TopK != nil:
		return strconv.AppendInt(nil, *s.TopK, 10), true
	}
	return nil, false
}

// plainIntOver reports whether v is a JSON number above limit. A value
// that is not a number is left to the upstream to refuse.
func plainIntOver(v []byte, limit int64) bool {
	f, err := strconv.ParseFloat(string(v), 64)
	return err == nil && f > float64(limit)
}

// edit replaces body[start:end] with value, or, with start -1, adds the
// member key:value at the end of the object.
type edit struct {
	start, end int
	key        string
	value      []byte
}

// patch applies edits to a validated JSON object, in one allocation of
// about the right size.
func patch(body []byte, edits []edit) []byte {
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
	n := len(body)
	for _, e := range edits {
		n += len(e.value) + len(e.key) + 4 - (e.end - e.start)
	}
	out := make([]byte, 0, n)
	// The object's closing brace: the last '}' (only whitespace follows).
	closing := len(body) - 1
	for closing > 0 && body[closing] != '}' {
		closing--
	}
	at := 0
	var adds []edit
	for _, e := range edits {
		if e.start < 0 {
			adds = append(adds, e)
			continue
		}
		out = append(out, body[at:e.start]...)
		out = append(out, e.value...)
		at = e.end
	}
	out = append(out, body[at:closing]...)
	for _, e := range adds {
		out = append(out, ',')
		out = jsonpeek.AppendString(out, e.key)
		out = append(out, ':')
		out = append(out, e.value...)
	}
	return append(out, body[closing:]...)
}
