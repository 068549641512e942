package openaicompat

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ferrygw/ferry/internal/apierr"
)

// A kind profiles.yaml names must be one apierr knows: a typo fails to
// load instead of mapping the code to Internal.
func TestKindName(t *testing.T) {
	var got []entry
	if err := yaml.NewDecoder(strings.NewReader("- name: x\n  error_codes: {a: rate_limit}\n")).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if k := got[0].profile().ErrorCodes["a"]; k != apierr.RateLimit {
		t.Errorf("rate_limit read as %v", k)
	}
	err := yaml.NewDecoder(strings.NewReader("- name: x\n  error_codes: {a: rate_limited}\n")).Decode(&got)
	if err == nil || !strings.Contains(err.Error(), `unknown error kind "rate_limited"`) {
		t.Errorf("unknown kind: err %v", err)
	}
}

func BenchmarkLookup(b *testing.B) {
	for b.Loop() {
		if _, ok := Lookup("generic"); !ok {
			b.Fatal("no generic")
		}
	}
}
