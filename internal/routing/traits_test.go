package routing

import (
	"net/http"
	"testing"

	"github.com/ferrygw/ferry/internal/config"
)

func TestSelect(t *testing.T) {
	yes, no := true, false
	tbl, err := New([]config.Route{{
		Match:   "claude-*",
		Targets: []config.Target{{Provider: "main"}},
		When: []config.RouteRule{
			{If: config.Traits{Headers: map[string]string{"x-biz-type": "batch"}}, Targets: []config.Target{{Provider: "batch"}}},
			{If: config.Traits{Thinking: &yes}, Targets: []config.Target{{Provider: "reason", Model: "deepseek-v4-pro"}}},
			{If: config.Traits{TokensOver: 60000}, Targets: []config.Target{{Provider: "long"}}},
			{If: config.Traits{Model: "*haiku*", Tools: &no}, Targets: []config.Target{{Provider: "fast"}}},
			{If: config.Traits{Tools: &yes, Model: "claude-opus*"}, Targets: []config.Target{{Provider: "tools"}}},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := tbl.Lookup("claude-x")
	tests := []struct {
		name string
		f    Facts
		want string
	}{
		{"nothing", Facts{Model: "claude-sonnet-4-5", Tokens: 100}, ""},
		{"header", Facts{Model: "claude-sonnet-4-5", Header: http.Header{"X-Biz-Type": {"batch"}}, Thinking: true}, "batch"},
		{"other header value", Facts{Model: "claude-sonnet-4-5", Header: http.Header{"X-Biz-Type": {"online"}}}, ""},
		{"thinking", Facts{Model: "claude-sonnet-4-5", Thinking: true, Tokens: 100000}, "reason"},
		{"long", Facts{Model: "claude-sonnet-4-5", Tokens: 60001}, "long"},
		{"not over", Facts{Model: "claude-sonnet-4-5", Tokens: 60000}, ""},
		{"haiku", Facts{Model: "claude-3-5-haiku-20241022"}, "fast"},
		{"haiku new", Facts{Model: "claude-haiku-4-5"}, "fast"},
		{"haiku with tools", Facts{Model: "claude-haiku-4-5", Tools: true}, ""},
		{"opus tools", Facts{Model: "claude-opus-4-8", Tools: true}, "tools"},
	}
	for _, tt := range tests {
		got := ""
		if i := r.Select(&tt.f); i >= 0 {
			got = r.Rules[i].Targets[0].Provider
		}
		if got != tt.want {
			t.Errorf("%s: rule target %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	for _, tt := range []struct {
		p, m string
		want bool
	}{
		{"*", "x", true}, {"a", "a", true}, {"a", "ab", false}, {"a*", "ab", true}, {"*b", "ab", true},
		{"*haiku*", "claude-3-5-haiku-1", true}, {"*haiku*", "claude-sonnet", false}, {"*b", "ba", false},
	} {
		if got := matchPattern(tt.p, tt.m); got != tt.want {
			t.Errorf("matchPattern(%q, %q) = %v", tt.p, tt.m, got)
		}
	}
}
