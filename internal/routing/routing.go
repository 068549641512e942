// Package routing maps a requested model name to a route and its targets.
//
// Precedence: an exact name beats any wildcard; among wildcards ("prefix*",
// "*suffix") the longest literal part wins, ties going to the earlier route
// in the file; "*" matches last. Predictable precedence matters more than
// file order here: adding a catch-all at the top must not swallow the
// exact routes below it.
package routing

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ferrygw/ferry/internal/config"
)

// Target is one provider a route may use.
type Target struct {
	Provider string
	Model    string // upstream model name; empty keeps the client's
	// The target's own policy, over its provider's (config.Target).
	Params  config.Params
	Headers [][2]string // canonical name, value: set upstream
	Forward []string    // canonical names of client headers passed upstream
}

// UpstreamModel is the model name the upstream should see.
func (t Target) UpstreamModel(requested string) string {
	if t.Model != "" {
		return t.Model
	}
	return requested
}

// Route is a compiled config route.
type Route struct {
	Match   string
	Targets []Target
	Rules   []Rule // routes[].when, in order

	kind    kind
	literal string
	order   int
}

type kind uint8

const (
	exact kind = iota
	prefix
	suffix
	catchAll
)

// Table answers model lookups.
type Table struct {
	all       []*Route
	exact     map[string]*Route
	wildcards []*Route // longest literal first, then file order
	catchAll  *Route
	models    []string
}

// New compiles routes. The config is expected to be validated; New still
// rejects what it cannot compile.
func New(routes []config.Route) (*Table, error) {
	t := &Table{exact: make(map[string]*Route)}
	seen := make(map[string]bool)
	addModel := func(m string) {
		if m != "" && !seen[m] {
			seen[m] = true
			t.models = append(t.models, m)
		}
	}
	for i, cr := range routes {
		r := &Route{Match: cr.Match, order: i, Rules: compileRules(cr.When)}
		t.all = append(t.all, r)
		for _, ct := range cr.Targets {
			r.Targets = append(r.Targets, newTarget(ct))
		}
		if len(r.Targets) == 0 {
			return nil, fmt.Errorf("route %q has no targets", cr.Match)
		}
		m := cr.Match
		switch n := strings.Count(m, "*"); {
		case m == "":
			return nil, fmt.Errorf("route %d: empty match", i)
		case m == "*":
			if t.catchAll != nil {
				return nil, fmt.Errorf("route %q: duplicate catch-all", m)
			}
			r.kind = catchAll
			t.catchAll = r
		case n == 0:
			if t.exact[m] != nil {
				return nil, fmt.Errorf("route %q: duplicate", m)
			}
			r.kind, r.literal = exact, m
			t.exact[m] = r
			addModel(m)
		case n == 1 && strings.HasSuffix(m, "*"):
			r.kind, r.literal = prefix, strings.TrimSuffix(m, "*")
			t.wildcards = append(t.wildcards, r)
		case n == 1 && strings.HasPrefix(m, "*"):
			r.kind, r.literal = suffix, strings.TrimPrefix(m, "*")
			t.wildcards = append(t.wildcards, r)
		default:
			return nil, fmt.Errorf("route %q: a * may only start or end the pattern", m)
		}
		for _, name := range cr.Models {
			addModel(name)
		}
	}
	sort.SliceStable(t.wildcards, func(i, j int) bool {
		return len(t.wildcards[i].literal) > len(t.wildcards[j].literal)
	})
	return t, nil
}

// Lookup returns the route for a model name.
func (t *Table) Lookup(model string) (*Route, bool) {
	if r, ok := t.exact[model]; ok {
		return r, true
	}
	for _, r := range t.wildcards {
		if r.kind == prefix && strings.HasPrefix(model, r.literal) ||
			r.kind == suffix && strings.HasSuffix(model, r.literal) {
			return r, true
		}
	}
	if t.catchAll != nil {
		return t.catchAll, true
	}
	return nil, false
}

// Models lists the model names to advertise in /v1/models: exact route
// names and every route's listed models, in file order, without duplicates.
func (t *Table) Models() []string { return t.models }

// All returns every route in file order.
func (t *Table) All() []*Route { return t.all }
