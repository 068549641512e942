package jsonpeek

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestMembers(t *testing.T) {
	names := []string{"a", "b", "c"}
	vals := make([][]byte, 3)
	if Members([]byte(`{"b":[1, 2],"a":"x","a":"y"}`), names, vals) != nil {
		t.Fatal("valid object refused")
	}
	if string(vals[0]) != `"y"` || string(vals[1]) != `[1, 2]` || vals[2] != nil {
		t.Errorf("vals = %q", vals)
	}
	if Members([]byte(`{"a":1`), names, vals) == nil || Members([]byte(`[1]`), names, vals) == nil {
		t.Error("invalid object accepted")
	}
}

func TestStringIs(t *testing.T) {
	for _, tt := range []struct {
		v, s string
		want bool
	}{
		{`"text"`, "text", true},
		{`"te\u0078t"`, "text", true},
		{`"text"`, "tex", false},
		{`text`, "text", false},
		{`""`, "", true},
		{`"`, "", false},
		{`"a\"b"`, `a"b`, true},
	} {
		if got := StringIs([]byte(tt.v), tt.s); got != tt.want {
			t.Errorf("StringIs(%s, %q) = %v", tt.v, tt.s, got)
		}
	}
}

func TestAppendUnquotedRaw(t *testing.T) {
	for _, tt := range []struct{ lit, want string }{
		{`plain`, "plain"},
		{`a\nb\t\"\\\/`, "a\nb\t\"\\/"},
		{`\ud83d\ude00`, "\U0001F600"},
		{`\ud83d\ud83d\ude00`, "\uFFFD\U0001F600"},
		{`\ude00x`, "\uFFFDx"},
		{`\ud83dx`, "\uFFFDx"},
		{"caf\xc3", "caf\xc3"}, // a cut-off character is kept for the caller
		{`\u00e9`, "é"},
	} {
		if got := string(AppendUnquotedRaw(nil, []byte(tt.lit))); got != tt.want {
			t.Errorf("AppendUnquotedRaw(%s) = %q, want %q", tt.lit, got, tt.want)
		}
	}
}

// FuzzAppendUnquotedRaw: on a valid string literal, AppendUnquotedRaw
// agrees with encoding/json once invalid UTF-8 is replaced, and StringIs
// with String on valid UTF-8.
func FuzzAppendUnquotedRaw(f *testing.F) {
	for _, s := range []string{`"a"`, `"\ud83d\ude00"`, `"\ud83d\ud83d\ude00"`, `"x\u0000\n"`, "\"\xff\xc3\"", `"\ude00\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, lit []byte) {
		var want string
		if json.Unmarshal(lit, &want) != nil || len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
			return
		}
		raw := AppendUnquotedRaw(nil, lit[1:len(lit)-1])
		// []rune conversion replaces each invalid byte with U+FFFD, as
		// encoding/json does.
		if got := string([]rune(string(raw))); got != want {
			t.Errorf("AppendUnquotedRaw(%q) = %q, want %q", lit, got, want)
		}
		if s, err := String(lit); err != nil || s != want || utf8.Valid(lit) && !StringIs(lit, s) {
			t.Errorf("String/StringIs on %q: %q %v", lit, s, err)
		}
	})
}
