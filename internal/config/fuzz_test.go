package config

import (
	"errors"
	"os"
	"testing"
)

// FuzzParse feeds Parse arbitrary bytes: it must not panic or hang, and its
// answer must be consistent: a Config that validates, or Problems each
// naming the file.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("../../ferry.example.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(simTail))
	f.Add([]byte("x: &a {<<: *a}\n"))
	f.Add([]byte("providers: [{name: p, type: anthropic, api_key: '${K:-x}', headers: {A: $${B}}}]\n"))
	env := envOf(map[string]string{"K": "sk", "FERRY_KEY_ALICE": "a", "ANTHROPIC_API_KEY": "b", "RELAY_TOKEN": "c"})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yaml", env)
		if err == nil {
			if cfg == nil {
				t.Fatal("nil Config and nil error")
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Parse accepted a Config that Validate rejects:\n%v", err)
			}
			return
		}
		if cfg != nil {
			t.Fatal("a Config and an error")
		}
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("error %T is not non-empty Problems: %v", err, err)
		}
		for _, p := range ps {
			if p.File != "fuzz.yaml" || p.Msg == "" {
				t.Fatalf("problem %#v lacks its file or message", p)
			}
		}
	})
}
