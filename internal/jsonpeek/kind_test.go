package jsonpeek

import "testing"

func TestKind(t *testing.T) {
	for in, want := range map[string]string{
		``: "nothing", `{}`: "object", `[1]`: "array", `"s"`: "string", `true`: "bool",
		`false`: "bool", `null`: "null", `-1`: "number", `2.5e3`: "number",
	} {
		if got := Kind([]byte(in)); got != want {
			t.Errorf("Kind(%q) = %q, want %q", in, got, want)
		}
	}
}
