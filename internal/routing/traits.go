package routing

import (
	"net/http"
	"strings"

	"github.com/ferrygw/ferry/internal/config"
)

// Rule is a compiled routes[].when entry: requests whose facts match If go
// to Targets first.
type Rule struct {
	If      Traits
	Targets []Target
}

// Traits are a rule's conditions, all of which must hold.
type Traits struct {
	Thinking, Tools *bool
	TokensOver      int64
	Model           string      // a pattern: exact, prefix*, *suffix, *infix* or *
	Headers         [][2]string // canonical name, value
}

// Facts are what a rule can look at in a request, gathered cheaply by the
// caller (anthropic.Inspect reads thinking and tools in its one pass).
type Facts struct {
	Model    string
	Thinking bool
	Tools    bool
	Tokens   int64 // the input estimate
	Header   http.Header
}

// Select returns the index of the first rule whose traits the facts match,
// or -1 when none does (the route's own targets apply).
func (r *Route) Select(f *Facts) int {
	for i := range r.Rules {
		if r.Rules[i].If.match(f) {
			return i
		}
	}
	return -1
}

func (t *Traits) match(f *Facts) bool {
	switch {
	case t.Thinking != nil && *t.Thinking != f.Thinking,
		t.Tools != nil && *t.Tools != f.Tools,
		t.TokensOver > 0 && f.Tokens <= t.TokensOver,
		t.Model != "" && !matchPattern(t.Model, f.Model):
		return false
	}
	for _, h := range t.Headers {
		if !hasValue(f.Header[h[0]], h[1]) {
			return false
		}
	}
	return true
}

func hasValue(vs []string, want string) bool {
	for _, v := range vs {
		if strings.TrimSpace(v) == want {
			return true
		}
	}
	return false
}

// matchPattern matches a model name against exact, "prefix*", "*suffix",
// "*infix*" or "*".
func matchPattern(p, model string) bool {
	pre, suf := strings.HasSuffix(p, "*"), strings.HasPrefix(p, "*")
	switch {
	case p == "*":
		return true
	case pre && suf:
		return strings.Contains(model, p[1:len(p)-1])
	case pre:
		return strings.HasPrefix(model, p[:len(p)-1])
	case suf:
		return strings.HasSuffix(model, p[1:])
	}
	return model == p
}

func compileRules(rules []config.RouteRule) []Rule {
	out := make([]Rule, 0, len(rules))
	for _, cr := range rules {
		r := Rule{If: Traits{Thinking: cr.If.Thinking, Tools: cr.If.Tools, TokensOver: cr.If.TokensOver, Model: cr.If.Model}}
		for name, v := range cr.If.Headers {
			r.If.Headers = append(r.If.Headers, [2]string{http.CanonicalHeaderKey(name), v})
		}
		for _, ct := range cr.Targets {
			r.Targets = append(r.Targets, newTarget(ct))
		}
		out = append(out, r)
	}
	return out
}

// newTarget compiles a config target.
func newTarget(ct config.Target) Target {
	t := Target{Provider: ct.Provider, Model: ct.Model, Params: ct.Params}
	for name, v := range ct.Headers {
		t.Headers = append(t.Headers, [2]string{http.CanonicalHeaderKey(name), v})
	}
	for _, name := range ct.ForwardHeaders {
		t.Forward = append(t.Forward, http.CanonicalHeaderKey(name))
	}
	return t
}
