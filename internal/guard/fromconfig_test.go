package guard

import (
	"errors"
	"slices"
	"testing"

	"github.com/ferrygw/ferry/internal/config"
)

func TestConfigNamesMatch(t *testing.T) {
	var want []string
	for _, c := range Builtins() {
		want = append(want, string(c))
	}
	if got := config.GuardBuiltins(); !slices.Equal(got, want) {
		t.Fatalf("config lists %v, guard %v", got, want)
	}
}

func TestFromConfigCustomRules(t *testing.T) {
	g, err := FromConfig(config.Guard{
		PII: map[string]string{"employee_id": "redact", "project": "block", "phone": "log_only"},
		Custom: []config.GuardCustom{
			{Name: "employee_id", Pattern: `EMP-\d{6}`},
			{Name: "project", Words: []string{"Project Ｘ"}},
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, res, err := g.Request([]byte(`{"messages":[{"role":"user","content":"EMP-123456 called 13812345678"}]}`))
	if err != nil || string(out) != `{"messages":[{"role":"user","content":"[REDACTED:EMPLOYEE_ID] called 13812345678"}]}` {
		t.Fatalf("got %s %v", out, err)
	}
	if res.Tally[TallyKey{Phone, "log_only"}] != 1 || res.Tally[TallyKey{"employee_id", "redact"}] != 1 {
		t.Fatalf("tally %v", res.Tally)
	}
	_, _, err = g.Request([]byte(`{"system":"about PROJECT x","messages":[]}`))
	var be *BlockedError
	if !errors.As(err, &be) || be.Category != "project" {
		t.Fatalf("err = %v", err)
	}
	if _, err := FromConfig(config.Guard{PII: map[string]string{"nope": "redact"}}, nil); err == nil {
		t.Fatal("an undefined category was accepted")
	}
}
