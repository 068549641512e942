package jsonpeek

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/testbody"
)

type member struct{ Key, Value string }

// members runs Object and collects every member it reports.
func members(b []byte) ([]member, error) {
	var got []member
	err := Object(b, func(key []byte, start, end int) bool {
		got = append(got, member{string(key), string(b[start:end])})
		return true
	})
	return got, err
}

func TestObjectMembers(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []member
	}{
		{"empty", `{}`, nil},
		{"empty with space", " \t\r\n{ \t\r\n} \t\r\n", nil},
		{"one", `{"a":1}`, []member{{"a", "1"}}},
		{"whitespace everywhere", " {\n\t\"a\" :\r\n \"x\" ,\n \"b\"\t:\t[ 1 , { } , [ ] ]\n}\n",
			[]member{{"a", `"x"`}, {"b", "[ 1 , { } , [ ] ]"}}},
		{"all value kinds", `{"s":"v","n":-1.5e+3,"t":true,"f":false,"z":null,"o":{"k":[]},"a":[{},"",0]}`,
			[]member{{"s", `"v"`}, {"n", "-1.5e+3"}, {"t", "true"}, {"f", "false"}, {"z", "null"}, {"o", `{"k":[]}`}, {"a", `[{},"",0]`}}},
		{"escaped key", `{"mod\u0065l":"claude"}`, []member{{"model", `"claude"`}}},
		{"escapes in key", `{"\"\\\/\b\f\n\r\t":0}`, []member{{"\"\\/\b\f\n\r\t", "0"}}},
		{"surrogate pair key", `{"\ud83d\ude00":0}`, []member{{"😀", "0"}}},
		{"lone surrogate key", `{"\ud83dx":0}`, []member{{"\uFFFDx", "0"}}},
		{"invalid UTF-8 key", "{\"a\xffb\":0}", []member{{"a\uFFFDb", "0"}}},
		{"invalid UTF-8 value kept raw", "{\"a\":\"\xff\"}", []member{{"a", "\"\xff\""}}},
		{"non-ASCII key", `{"ключ":"значение"}`, []member{{"ключ", `"значение"`}}},
		{"duplicates reported", `{"a":1,"a":2}`, []member{{"a", "1"}, {"a", "2"}}},
		{"escapes in value kept raw", `{"a":"x\"y\u0041"}`, []member{{"a", `"x\"y\u0041"`}}},
		{"long string", `{"a":"` + strings.Repeat(`abcdefgh\"`, 10) + `"}`, []member{{"a", `"` + strings.Repeat(`abcdefgh\"`, 10) + `"`}}},
		{"numbers", `{"a":0,"b":-0,"c":0.0,"d":1E5,"e":1e-5,"f":123456789012345678901234567890}`,
			[]member{{"a", "0"}, {"b", "-0"}, {"c", "0.0"}, {"d", "1E5"}, {"e", "1e-5"}, {"f", "123456789012345678901234567890"}}},
		{"padded like the Anthropic API", `{"type":"message_stop"            }`, []member{{"type", `"message_stop"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := members([]byte(tt.in))
			if err != nil {
				t.Fatalf("Object(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Object(%q) members (-want +got):\n%s", tt.in, diff)
			}
			if !Valid([]byte(tt.in)) {
				t.Errorf("Valid(%q) = false", tt.in)
			}
			if !json.Valid([]byte(tt.in)) {
				t.Errorf("test case %q is not valid per encoding/json", tt.in)
			}
		})
	}
}

func TestObjectErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{``, "jsonpeek: unexpected end of input at offset 0"},
		{`   `, "jsonpeek: unexpected end of input at offset 3"},
		{`[]`, "jsonpeek: invalid character '[' looking for beginning of object at offset 0"},
		{`"a"`, `jsonpeek: invalid character '"' looking for beginning of object at offset 0`},
		{`null`, "jsonpeek: invalid character 'n' looking for beginning of object at offset 0"},
		{`{`, "jsonpeek: unexpected end of input at offset 1"},
		{`{"a"`, "jsonpeek: unexpected end of input at offset 4"},
		{`{"a":`, "jsonpeek: unexpected end of input at offset 5"},
		{`{"a":1`, "jsonpeek: unexpected end of input at offset 6"},
		{`{"a":1,`, "jsonpeek: unexpected end of input at offset 7"},
		{`{"a":1,}`, "jsonpeek: invalid character '}' looking for beginning of object key string at offset 7"},
		{`{"a":1}x`, "jsonpeek: invalid character 'x' after top-level value at offset 7"},
		{`{"a":1}{}`, "jsonpeek: invalid character '{' after top-level value at offset 7"},
		{`{a:1}`, "jsonpeek: invalid character 'a' looking for beginning of object key string at offset 1"},
		{`{'a':1}`, `jsonpeek: invalid character '\'' looking for beginning of object key string at offset 1`},
		{`{"a" 1}`, "jsonpeek: invalid character '1' after object key at offset 5"},
		{`{"a":1 "b":2}`, `jsonpeek: invalid character '"' after object key:value pair at offset 7`},
		{`{"a":x}`, "jsonpeek: invalid character 'x' looking for beginning of value at offset 5"},
		{`{"a":tru}`, "jsonpeek: invalid character '}' in literal true at offset 8"},
		{`{"a":nul`, "jsonpeek: unexpected end of input at offset 8"},
		{`{"a":falsy}`, "jsonpeek: invalid character 'y' in literal false at offset 9"},
		{`{"a":01}`, "jsonpeek: invalid character '1' after object key:value pair at offset 6"},
		{`{"a":-}`, "jsonpeek: invalid character '}' in numeric literal at offset 6"},
		{`{"a":+1}`, "jsonpeek: invalid character '+' looking for beginning of value at offset 5"},
		{`{"a":.5}`, "jsonpeek: invalid character '.' looking for beginning of value at offset 5"},
		{`{"a":1.}`, "jsonpeek: invalid character '}' after decimal point in numeric literal at offset 7"},
		{`{"a":1e}`, "jsonpeek: invalid character '}' in exponent of numeric literal at offset 7"},
		{`{"a":1e+}`, "jsonpeek: invalid character '}' in exponent of numeric literal at offset 8"},
		{`{"a":[1,]}`, "jsonpeek: invalid character ']' looking for beginning of value at offset 8"},
		{`{"a":[1}`, "jsonpeek: invalid character '}' after array element at offset 7"},
		{`{"a":{"b"}}`, "jsonpeek: invalid character '}' after object key at offset 9"},
		{`{"a":{"b":1]}`, "jsonpeek: invalid character ']' after object key:value pair at offset 11"},
		{`{"a":"x\qy"}`, "jsonpeek: invalid character 'q' in string escape code at offset 8"},
		{`{"a":"\u12g4"}`, "jsonpeek: invalid character 'g' in \\u hexadecimal character escape at offset 10"},
		{"{\"a\":\"x\ny\"}", `jsonpeek: invalid character '\n' in string literal at offset 7`},
		{"{\"a\":\"x\x00y\"}", `jsonpeek: invalid character '\x00' in string literal at offset 7`},
		{"{\"a\x1f\":1}", `jsonpeek: invalid character '\x1f' in string literal at offset 3`},
		{`{"a":"abc`, "jsonpeek: unexpected end of input at offset 9"},
		{`{"a":"abc\`, "jsonpeek: unexpected end of input at offset 10"},
		{`{"a":"\u00`, "jsonpeek: unexpected end of input at offset 10"},
		{"\xef\xbb\xbf{}", `jsonpeek: invalid character '\xef' looking for beginning of object at offset 0`},
		{"{\"a\":1}\x00", `jsonpeek: invalid character '\x00' after top-level value at offset 7`},
		{"{\f}", `jsonpeek: invalid character '\f' looking for beginning of object key string at offset 1`},
	}
	for _, tt := range tests {
		err := Object([]byte(tt.in), func([]byte, int, int) bool { return true })
		if err == nil {
			t.Errorf("Object(%q) = nil, want %s", tt.in, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Object(%q) = %s\n                          want %s", tt.in, err, tt.want)
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Object(%q) error %T is not a *SyntaxError", tt.in, err)
		}
		if Valid([]byte(tt.in)) {
			t.Errorf("Valid(%q) = true", tt.in)
		}
		if json.Valid([]byte(tt.in)) && (len(tt.in) > 0 && tt.in[0] == '{') {
			t.Errorf("test case %q is valid per encoding/json", tt.in)
		}
	}
}

func TestObjectDepth(t *testing.T) {
	nest := func(depth int) []byte {
		// depth counts the top-level object.
		inner := strings.Repeat(`[`, depth-1) + strings.Repeat(`]`, depth-1)
		return []byte(`{"a":` + inner + `}`)
	}
	if err := Object(nest(MaxDepth), nil); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	err := Object(nest(MaxDepth+1), nil)
	if !errors.Is(err, ErrTooDeep) {
		t.Fatalf("depth %d: got %v, want ErrTooDeep", MaxDepth+1, err)
	}
	if want := "jsonpeek: nesting deeper than 512 levels at offset 516"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	// Objects count too, and the bit stack must track kinds beyond 64 levels.
	deep := []byte(`{"a":` + strings.Repeat(`{"b":[`, 200) + strings.Repeat(`]}`, 200) + `}`)
	if err := Object(deep, nil); err != nil {
		t.Errorf("mixed depth 401: %v", err)
	}
	bad := []byte(`{"a":` + strings.Repeat(`{"b":[`, 100) + `]]` + strings.Repeat(`]}`, 99) + `}`)
	if err := Object(bad, nil); err == nil {
		t.Errorf("mismatched close deep inside accepted")
	}
}

func TestObjectStopsEarly(t *testing.T) {
	// The rest of the body is not validated after fn returns false.
	b := []byte(`{"model":"m", "rest": this is not JSON`)
	var keys []string
	err := Object(b, func(key []byte, start, end int) bool {
		keys = append(keys, string(key))
		return false
	})
	if err != nil || len(keys) != 1 || keys[0] != "model" {
		t.Errorf("got keys %q, err %v; want [model], nil", keys, err)
	}
}

func TestObjectScratchReuse(t *testing.T) {
	// Two escaped keys share the scratch buffer; each must be right while
	// fn runs.
	b := []byte(`{"\u0061bc":1,"\u0078y":2,"plain":3,"\u00e9t\u00e9":4}`)
	got, err := members(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []member{{"abc", "1"}, {"xy", "2"}, {"plain", "3"}, {"été", "4"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`""`, ""},
		{`"claude-3"`, "claude-3"},
		{`"claude\u002d3"`, "claude-3"},
		{`"a\"b\\c\/d\b\f\n\r\t"`, "a\"b\\c/d\b\f\n\r\t"},
		{`"\u00e9\u20AC"`, "é€"},
		{`"\ud83d\ude00"`, "😀"},
		{`"\ud83d"`, "\uFFFD"},
		{`"\ude00\ud83d"`, "\uFFFD\uFFFD"},
		{`"\ud83d\u0041"`, "\uFFFDA"},
		{"\"a\xffb\"", "a\uFFFDb"},
		{"\"\xe2\x82\"", "\uFFFD\uFFFD"},
		{`"é"`, "é"},
	}
	for _, tt := range tests {
		got, err := String([]byte(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("String(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		var std string
		if err := json.Unmarshal([]byte(tt.in), &std); err != nil || std != got {
			t.Errorf("encoding/json decodes %q as %q (%v), String as %q", tt.in, std, err, got)
		}
	}
	for _, in := range []string{``, `x`, `"abc`, `"a" `, ` "a"`, `"a""b"`, `1`, `null`, `"\x"`, "\"\n\""} {
		if got, err := String([]byte(in)); err == nil {
			t.Errorf("String(%q) = %q, want error", in, got)
		}
	}
}

func TestClaudeCodeBody(t *testing.T) {
	b := testbody.ClaudeCode("claude-sonnet-4-5-20250929")
	got, err := members(b)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstStdlib(t, b, got)
	if got[0].Key != "model" {
		t.Errorf("first key %q, want model", got[0].Key)
	}
}

// checkAgainstStdlib compares members reported by Object with what
// encoding/json decodes b into: duplicate keys keep the last value.
func checkAgainstStdlib(t *testing.T, b []byte, got []member) {
	t.Helper()
	var std map[string]json.RawMessage
	if err := json.Unmarshal(b, &std); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	compact := func(v []byte) string {
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			t.Fatalf("compact %q: %v", v, err)
		}
		return buf.String()
	}
	want := make(map[string]string, len(std))
	for k, v := range std {
		want[k] = compact(v)
	}
	have := make(map[string]string, len(got))
	for _, m := range got {
		have[m.Key] = compact([]byte(m.Value))
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("members differ from encoding/json (-json +jsonpeek):\n%s", diff)
	}
}

func FuzzObject(f *testing.F) {
	f.Add([]byte(`{"model":"claude","stream":true}`))
	f.Add([]byte(`{"mod\u0065l":"x","a":[1,{"b":null}],"a":-0.5e3}`))
	f.Add([]byte(` {"\ud83d\ude00" : "\ud83d" , "k\u00e9" : [ [ ] , { } ] } `))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := members(b)
		first := skipSpace(b, 0)
		stdOK := json.Valid(b) && first < len(b) && b[first] == '{'
		if errors.Is(err, ErrTooDeep) {
			return // encoding/json nests up to 10000 levels; we stop at MaxDepth
		}
		if (err == nil) != stdOK {
			t.Fatalf("Object(%q) error = %v, but json.Valid && object = %v", b, err, stdOK)
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(b) {
				t.Fatalf("Object(%q): bad error %#v", b, err)
			}
			return
		}
		checkAgainstStdlib(t, b, got)
		for _, m := range got {
			if len(m.Value) > 0 && m.Value[0] == '"' {
				s, err := String([]byte(m.Value))
				var std string
				if err2 := json.Unmarshal([]byte(m.Value), &std); err != nil || err2 != nil || s != std {
					t.Fatalf("String(%q) = %q, %v; encoding/json: %q, %v", m.Value, s, err, std, err2)
				}
			}
		}
	})
}

func BenchmarkObject(b *testing.B) {
	body := testbody.ClaudeCode("claude-sonnet-4-5-20250929")
	b.Run("jsonpeek.Object", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if err := Object(body, func(key []byte, start, end int) bool {
				n++
				return true
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
}

func BenchmarkString(b *testing.B) {
	long := `"` + strings.Repeat(`1.  **Analyze the Request:** The user wants \"hi\" in Portuguese.\n\n`, 14) + `"`
	for _, in := range []string{`"claude-sonnet-4-5-20250929"`, `"claude\u002dsonnet\u002d4"`, long} {
		b.Run(in[:min(len(in), 32)], func(b *testing.B) {
			v := []byte(in)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := String(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestMember(t *testing.T) {
	b := []byte(`{"a":1,"usage":{"input_tokens":3},"b":"x"}`)
	for _, c := range []struct {
		body []byte
		name string
		want string
	}{
		{b, "usage", `{"input_tokens":3}`},
		{b, "b", `"x"`},
		{b, "missing", ""},
		{[]byte(`[1]`), "a", ""},
		{[]byte(`{"mod\u0065l":"m"}`), "model", `"m"`},
		{[]byte(`{"x":{"usage":1},"us\"age":2,"usage":3,"usage":4}`), "usage", `3`},
		{[]byte(` { "a" : "}" , "usage" : [ 1 ] } `), "usage", `[ 1 ]`},
		{[]byte(`{"us\u0061ge":5}`), "usage", `5`},
	} {
		if got := string(Member(c.body, c.name)); got != c.want {
			t.Errorf("Member(%s, %q) = %q, want %q", c.body, c.name, got, c.want)
		}
		if got := string(SkimMember(c.body, c.name)); got != c.want {
			t.Errorf("SkimMember(%s, %q) = %q, want %q", c.body, c.name, got, c.want)
		}
	}
}

// BenchmarkMemberUsage finds the usage of a Message answer (it comes
// last), validating everything before it or skimming: a recorded answer
// of short strings, and one with 3.5 KB of text.
func BenchmarkMemberUsage(b *testing.B) {
	rec, err := os.ReadFile("../../testdata/anthropic/message_tool_use.txtar")
	if err != nil {
		b.Fatal(err)
	}
	rec = rec[bytes.Index(rec, []byte("-- body --\n"))+len("-- body --\n"):]
	long := []byte(`{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"` +
		strings.Repeat("The weather in San Francisco is mild today. ", 80) +
		`"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":402,"output_tokens":89}}`)
	for _, body := range []struct {
		name string
		b    []byte
	}{{"recorded", rec}, {"text3.5KB", long}} {
		for _, f := range []struct {
			name string
			fn   func([]byte, string) []byte
		}{{"Member", Member}, {"SkimMember", SkimMember}} {
			b.Run(body.name+"/"+f.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if f.fn(body.b, "usage") == nil {
						b.Fatal("no usage")
					}
				}
			})
		}
	}
}
