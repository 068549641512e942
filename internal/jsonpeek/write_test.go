package jsonpeek

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`q"b\`, `"q\"b\\"`},
		{"\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{"<&>", `"<&>"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"é🙂", `"é🙂"`},
		{"a\xffb\xc3", `"a\ufffdb\ufffd"`},
	}
	for _, tc := range tests {
		if got := string(AppendString(nil, tc.in)); got != tc.want {
			t.Errorf("AppendString(%q) = %s, want %s", tc.in, got, tc.want)
		}
		if n := StringLen(tc.in); n != len(tc.want) {
			t.Errorf("StringLen(%q) = %d, want %d", tc.in, n, len(tc.want))
		}
		if got := string(AppendStringBytes(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("AppendStringBytes(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// FuzzAppendString checks AppendString against encoding/json (without HTML
// escaping), and StringLen and AppendStringBytes against AppendString.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00\u2028\xff", "日本語", "\b\f\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		got := AppendString([]byte("x"), s)
		if diff := cmp.Diff(string(bytes.TrimSuffix(want.Bytes(), []byte("\n"))), string(got[1:])); diff != "" {
			t.Errorf("AppendString(%q) (-encoding/json +got):\n%s", s, diff)
		}
		if n := StringLen(s); n != len(got)-1 {
			t.Errorf("StringLen(%q) = %d, AppendString wrote %d bytes", s, n, len(got)-1)
		}
		if b := AppendStringBytes([]byte("x"), []byte(s)); string(b) != string(got) {
			t.Errorf("AppendStringBytes(%q) = %s, AppendString wrote %s", s, b[1:], got[1:])
		}
	})
}

// TestAppendStringWords puts each kind of byte that needs a look at each
// position of a string long enough for the eight-byte scan, before and
// after plain runs, and checks the result against encoding/json.
func TestAppendStringWords(t *testing.T) {
	for _, special := range []string{"\"", "\\", "\x00", "\x1f", "\n", "\x7f", " ", "\u00e9", "\xff", "\u2028", "\U0001F642"} {
		for pos := 0; pos < 20; pos++ {
			s := strings.Repeat("a", pos) + special + strings.Repeat("b", 20-pos)
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			enc.Encode(s)
			if got := AppendString(nil, s); string(got) != strings.TrimSuffix(want.String(), "\n") {
				t.Errorf("AppendString(%q) = %s, want %s", s, got, want.Bytes())
			}
			if got := AppendStringBytes(nil, []byte(s)); string(got) != strings.TrimSuffix(want.String(), "\n") {
				t.Errorf("AppendStringBytes(%q) = %s, want %s", s, got, want.Bytes())
			}
			if n := StringLen(s); n != want.Len()-1 {
				t.Errorf("StringLen(%q) = %d, want %d", s, n, want.Len()-1)
			}
		}
	}
}

// BenchmarkAppendString: short names, a plain 880-byte text, and a text
// with escapes and non-ASCII every few bytes.
func BenchmarkAppendString(b *testing.B) {
	for _, c := range []struct{ name, s string }{
		{"key", "team-a"},
		{"model", "claude-sonnet-4-20250514"},
		{"plain880", strings.Repeat("The weather in San Francisco is mild today. ", 20)},
		{"escapes", strings.Repeat("line one of text\n  * \"item\": Olá\n", 20)},
	} {
		dst := make([]byte, 0, 4096)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				dst = AppendString(dst[:0], c.s)
			}
		})
	}
}

func TestAppendStringBytesAllocs(t *testing.T) {
	b := []byte("text \"quoted\"\n中文 \xff \u2028 end")
	dst := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { dst = AppendStringBytes(dst[:0], b) }); n != 0 {
		t.Errorf("AppendStringBytes: %v allocations, want 0", n)
	}
}

func TestMarshal(t *testing.T) {
	got, err := Marshal(map[string]any{"a": "x < y && z > 1", "b": []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"x < y && z > 1","b":[1]}`; string(got) != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	if _, err := Marshal(func() {}); err == nil {
		t.Error("Marshal of a func: no error")
	}
}
