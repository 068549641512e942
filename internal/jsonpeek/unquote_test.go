package jsonpeek

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestAppendUnquotedLimit(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
		cut   bool
	}{
		{`"plain"`, 100, "plain", false},
		{`"a\nb\t\"q\" \\ \/"`, 100, "a\nb\t\"q\" \\ /", false},
		{`"\u00e9\u4f60"`, 100, "é你", false},
		{`"\ud83d\udc4b"`, 100, "👋", false},
		{`"\ud83d x"`, 100, "\uFFFD x", false},    // lone high surrogate
		{`"\udc4b"`, 100, "\uFFFD", false},        // lone low surrogate
		{`"\ud83d\u0041"`, 100, "\uFFFDA", false}, // high surrogate then no low one
		{"\"bad \xff byte\"", 100, "bad \uFFFD byte", false},
		{`"abcdef"`, 3, "abc", true},
		{`"ab你"`, 4, "ab", true}, // never half a character
		{`"ab\u4f60"`, 4, "ab", true},
		{`""`, 10, "", false},
		{`not a string`, 10, "", false},
		{`"`, 10, "", false},
		{`"\u12"`, 10, "\uFFFD12", false}, // short escape: U+FFFD, then the rest as text
	}
	for _, tt := range tests {
		got, cut := AppendUnquoted(nil, []byte(tt.in), tt.limit)
		if string(got) != tt.want || cut != tt.cut {
			t.Errorf("AppendUnquoted(%q, %d) = %q, %v; want %q, %v", tt.in, tt.limit, got, cut, tt.want, tt.cut)
		}
	}
}

// FuzzAppendUnquoted checks the decoder against encoding/json on every
// string literal encoding/json accepts, and the limit on all input.
// TestUnquoteWords puts an escape, a non-ASCII character and invalid UTF-8
// at each position around the eight-byte runs of an escaped literal, and
// checks String against encoding/json.
func TestUnquoteWords(t *testing.T) {
	for _, special := range []string{`\n`, `\\`, `\"`, `\u00e9`, `\ud83d\udc4b`, "é", "\xff", "\x7f"} {
		for pos := 0; pos < 20; pos++ {
			lit := []byte(`"\t` + strings.Repeat("a", pos) + special + strings.Repeat("b", 20-pos) + `"`)
			var want string
			if err := json.Unmarshal(lit, &want); err != nil {
				t.Fatal(err)
			}
			if got, err := String(lit); err != nil || got != want {
				t.Errorf("String(%s) = %q, %v; want %q", lit, got, err, want)
			}
		}
	}
}

func FuzzAppendUnquoted(f *testing.F) {
	for _, s := range []string{`"a\nb"`, `"\ud83d\udc4b"`, `"\ud83d"`, "\"\xff\"", `"\u00e9x"`, `"你好"`} {
		f.Add([]byte(s), 5)
	}
	f.Fuzz(func(t *testing.T, in []byte, limit int) {
		limit = max(limit, 0) % 64
		got, cut := AppendUnquoted(nil, in, limit)
		if len(got) > limit {
			t.Fatalf("%d bytes over the limit %d", len(got), limit)
		}
		var want string
		// Spans from jsonpeek have no surrounding space.
		if json.Unmarshal(in, &want) != nil || len(in) < 2 || in[0] != '"' || in[len(in)-1] != '"' {
			return
		}
		if !cut && string(got) != want {
			t.Fatalf("AppendUnquoted(%q) = %q; encoding/json says %q", in, got, want)
		}
		if cut && (!strings.HasPrefix(want, string(got)) || !utf8.Valid(got)) {
			t.Fatalf("cut AppendUnquoted(%q) = %q: not a whole-character prefix of %q", in, got, want)
		}
	})
}

func TestSkimArray(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{`[]`, nil, false},
		{` [ 1 , "a,]" , {"b":[1,2]}, [3,"]"] ] `, []string{`1`, `"a,]"`, `{"b":[1,2]}`, `[3,"]"]`}, false},
		{`["\"]", true]`, []string{`"\"]"`, `true`}, false},
		{`{"not":"array"}`, nil, true},
		{`[1, 2`, []string{`1`}, true}, // invalid input: partial walk, no panic
		{``, nil, true},
	}
	for _, tt := range tests {
		var got []string
		b := []byte(tt.in)
		err := SkimArray(b, func(start, end int) bool { got = append(got, string(b[start:end])); return true })
		if d := cmp.Diff(tt.want, got); d != "" || (err != nil) != tt.err {
			t.Errorf("SkimArray(%q) error %v (-want +got):\n%s", tt.in, err, d)
		}
	}
}

func TestSkim(t *testing.T) {
	b := []byte(` { "a" : 1 , "b\"c":{"d":["}"]}, "e":"x\\"} `)
	type m struct{ K, V string }
	var got []m
	if err := Skim(b, func(k []byte, start, end int) bool {
		got = append(got, m{string(k), string(b[start:end])})
		return true
	}); err != nil {
		t.Fatal(err)
	}
	want := []m{{"a", "1"}, {`b\"c`, `{"d":["}"]}`}, {"e", `"x\\"`}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Skim (-want +got):\n%s", d)
	}
	for _, bad := range []string{``, `[]`, `{"a" 1}`, `{"a":1`, `{"a":"1}`, `{"a":1]`} {
		if err := Skim([]byte(bad), func([]byte, int, int) bool { return true }); err == nil {
			t.Errorf("Skim(%q): no error", bad)
		}
	}
}

func TestIndex(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "12": 12, "": -1, "-1": -1, "1.5": -1, "9999999": -1, `"1"`: -1} {
		if got := Index([]byte(in)); got != want {
			t.Errorf("Index(%q) = %d, want %d", in, got, want)
		}
	}
}
