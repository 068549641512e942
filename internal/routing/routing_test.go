package routing

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/config"
)

// rt builds a config route whose single target's provider is named after the
// match, so a lookup result can be identified by its provider too.
func rt(match string, models ...string) config.Route {
	return config.Route{Match: match, Models: models, Targets: []config.Target{{Provider: "p-" + match}}}
}

func mustNew(t *testing.T, routes ...config.Route) *Table {
	t.Helper()
	tb, err := New(routes)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tb
}

func TestLookupPrecedence(t *testing.T) {
	type query struct {
		model string
		want  string // matched pattern; "" means no match
	}
	tests := []struct {
		name    string
		routes  []config.Route
		queries []query
	}{
		{
			name:   "exact beats wildcard declared before it",
			routes: []config.Route{rt("*"), rt("claude-*"), rt("*-sonnet"), rt("claude-sonnet")},
			queries: []query{
				{"claude-sonnet", "claude-sonnet"},
				{"claude-opus", "claude-*"},
				{"gpt-sonnet", "*-sonnet"},
				{"other", "*"},
			},
		},
		{
			name:   "exact beats wildcard declared after it",
			routes: []config.Route{rt("claude-sonnet"), rt("claude-*"), rt("*")},
			queries: []query{
				{"claude-sonnet", "claude-sonnet"},
				{"claude-sonnet-4", "claude-*"},
				{"claude-sonnet-", "claude-*"},
			},
		},
		{
			name:   "longest prefix wins regardless of order",
			routes: []config.Route{rt("c*"), rt("claude-*"), rt("claude-opus-*"), rt("cl*")},
			queries: []query{
				{"claude-opus-4", "claude-opus-*"},
				{"claude-haiku", "claude-*"},
				{"clx", "cl*"},
				{"cx", "c*"},
				{"x", ""},
			},
		},
		{
			name:   "longest suffix wins regardless of order",
			routes: []config.Route{rt("*t"), rt("*-sonnet"), rt("*net")},
			queries: []query{
				{"claude-sonnet", "*-sonnet"},
				{"bonnet", "*net"},
				{"cat", "*t"},
				{"sonne", ""},
			},
		},
		{
			name:   "longer literal wins across prefix and suffix",
			routes: []config.Route{rt("claude-*"), rt("*-4-5-sonnet")},
			queries: []query{
				{"claude-4-5-sonnet", "*-4-5-sonnet"},
				{"claude-opus", "claude-*"},
			},
		},
		{
			name:   "prefix and suffix tie goes to file order (prefix first)",
			routes: []config.Route{rt("abc*"), rt("*xyz")},
			queries: []query{
				{"abcxyz", "abc*"},
			},
		},
		{
			name:   "prefix and suffix tie goes to file order (suffix first)",
			routes: []config.Route{rt("*xyz"), rt("abc*")},
			queries: []query{
				{"abcxyz", "*xyz"},
			},
		},
		{
			name:   "catch-all declared first still matches last",
			routes: []config.Route{rt("*"), rt("a*"), rt("*z"), rt("m")},
			queries: []query{
				{"abc", "a*"},
				{"xyz", "*z"},
				{"m", "m"},
				{"q", "*"},
				{"", "*"},
			},
		},
		{
			name:   "no catch-all means no match",
			routes: []config.Route{rt("claude-*"), rt("exact")},
			queries: []query{
				{"gpt-4", ""},
				{"", ""},
				{"exac", ""},
				{"exact2", ""},
				{"Claude-x", ""}, // matching is case-sensitive
			},
		},
		{
			name:   "a wildcard literal matches itself",
			routes: []config.Route{rt("claude-*"), rt("*-mini")},
			queries: []query{
				{"claude-", "claude-*"},
				{"-mini", "*-mini"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := mustNew(t, tc.routes...)
			for _, q := range tc.queries {
				r, ok := tb.Lookup(q.model)
				got := ""
				if ok {
					if r == nil {
						t.Fatalf("Lookup(%q) = nil, true", q.model)
					}
					got = r.Match
					if want := "p-" + r.Match; r.Targets[0].Provider != want {
						t.Errorf("Lookup(%q): route %q has target %q, want %q", q.model, r.Match, r.Targets[0].Provider, want)
					}
				} else if r != nil {
					t.Errorf("Lookup(%q) = %q, false; want nil route", q.model, r.Match)
				}
				if got != q.want {
					t.Errorf("Lookup(%q) = %q, want %q", q.model, got, q.want)
				}
			}
		})
	}
}

func TestModels(t *testing.T) {
	tests := []struct {
		name   string
		routes []config.Route
		want   []string
	}{
		{
			name:   "exact names and listed models in file order",
			routes: []config.Route{rt("b"), rt("claude-*", "claude-x", "claude-y"), rt("a", "a-alias"), rt("*", "z")},
			want:   []string{"b", "claude-x", "claude-y", "a", "a-alias", "z"},
		},
		{
			name: "deduplicated, first occurrence kept",
			routes: []config.Route{
				rt("*", "m2", "m1", "m2"),
				rt("m1"),
				rt("m3", "m3", "m2"),
				rt("x*", "m3", "m4"),
			},
			want: []string{"m2", "m1", "m3", "m4"},
		},
		{
			name:   "wildcards alone advertise nothing",
			routes: []config.Route{rt("*"), rt("a*"), rt("*b")},
			want:   nil,
		},
		{
			name:   "empty listed names are skipped",
			routes: []config.Route{rt("a", "", "b")},
			want:   []string{"a", "b"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustNew(t, tc.routes...).Models()
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Models() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpstreamModel(t *testing.T) {
	tests := []struct {
		name      string
		target    Target
		requested string
		want      string
	}{
		{"rewrite", Target{Provider: "p", Model: "glm-4.6"}, "claude-sonnet-4-5", "glm-4.6"},
		{"keep client name", Target{Provider: "p"}, "claude-sonnet-4-5", "claude-sonnet-4-5"},
		{"rewrite even empty request", Target{Provider: "p", Model: "m"}, "", "m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.target.UpstreamModel(tc.requested); got != tc.want {
				t.Errorf("UpstreamModel(%q) = %q, want %q", tc.requested, got, tc.want)
			}
		})
	}
}

func TestTargetsCompiled(t *testing.T) {
	tb := mustNew(t, config.Route{
		Match: "claude-*",
		Targets: []config.Target{
			{Provider: "primary", Model: "up-1"},
			{Provider: "fallback"},
		},
	})
	r, ok := tb.Lookup("claude-opus")
	if !ok {
		t.Fatal("no match")
	}
	want := []Target{{Provider: "primary", Model: "up-1"}, {Provider: "fallback"}}
	if diff := cmp.Diff(want, r.Targets); diff != "" {
		t.Errorf("Targets mismatch (-want +got):\n%s", diff)
	}
	got := []string{r.Targets[0].UpstreamModel("claude-opus"), r.Targets[1].UpstreamModel("claude-opus")}
	if diff := cmp.Diff([]string{"up-1", "claude-opus"}, got); diff != "" {
		t.Errorf("upstream models mismatch (-want +got):\n%s", diff)
	}
}

func TestNewErrors(t *testing.T) {
	target := []config.Target{{Provider: "p"}}
	tests := []struct {
		name    string
		routes  []config.Route
		wantSub string
	}{
		{"empty match", []config.Route{{Match: "", Targets: target}}, "empty match"},
		{"duplicate exact", []config.Route{{Match: "a", Targets: target}, {Match: "b", Targets: target}, {Match: "a", Targets: target}}, "duplicate"},
		{"duplicate catch-all", []config.Route{{Match: "*", Targets: target}, {Match: "*", Targets: target}}, "duplicate catch-all"},
		{"star in the middle", []config.Route{{Match: "a*b", Targets: target}}, "may only start or end"},
		{"double star", []config.Route{{Match: "**", Targets: target}}, "may only start or end"},
		{"star at both ends", []config.Route{{Match: "*a*", Targets: target}}, "may only start or end"},
		{"no targets", []config.Route{{Match: "a"}}, "no targets"},
		{"no targets on catch-all", []config.Route{{Match: "a", Targets: target}, {Match: "*", Targets: []config.Target{}}}, "no targets"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb, err := New(tc.routes)
			if err == nil {
				t.Fatalf("New succeeded, want error containing %q", tc.wantSub)
			}
			if tb != nil {
				t.Errorf("New returned a table with error %v", err)
			}
			if !strings.Contains(err.Error(), tc.wantSub) {
				t.Errorf("New error = %q, want it to contain %q", err, tc.wantSub)
			}
		})
	}
}

func TestNewAcceptsDistinctWildcards(t *testing.T) {
	// The same literal as a prefix and as a suffix, or the same pattern as
	// both an exact name and a wildcard, are distinct routes.
	_, err := New([]config.Route{rt("a*"), rt("*a"), rt("a")})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
}

func TestAll(t *testing.T) {
	tb := mustNew(t, rt("*"), rt("z-*"), rt("exact"), rt("*-s"), rt("a*"))
	var got []string
	for _, r := range tb.All() {
		got = append(got, r.Match)
	}
	want := []string{"*", "z-*", "exact", "*-s", "a*"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("All() order mismatch (-want +got):\n%s", diff)
	}
	// All returns the same routes Lookup answers with.
	r, _ := tb.Lookup("a-s")
	if r != tb.All()[3] {
		// "*-s" and "a*" have equal literal length 2; "*-s" is first in the file.
		t.Errorf("Lookup(\"a-s\") = %q, want the *-s route from All()", r.Match)
	}
	if got := len(mustNew(t).All()); got != 0 {
		t.Errorf("All() of an empty table has %d routes", got)
	}
}
