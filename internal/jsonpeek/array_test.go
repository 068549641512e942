package jsonpeek

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func TestArray(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		ok   bool
	}{
		{`[]`, nil, true},
		{` [1, "a" ,{"b":[2]}, null] `, []string{`1`, `"a"`, `{"b":[2]}`, `null`}, true},
		{`[1,]`, []string{`1`}, false},
		{`[1 2]`, []string{`1`}, false},
		{`{"a":1}`, nil, false},
		{`[1] x`, []string{`1`}, false},
		{`[`, nil, false},
	} {
		var got []string
		b := []byte(tc.in)
		err := Array(b, func(s, e int) bool { got = append(got, string(b[s:e])); return true })
		if (err == nil) != tc.ok || len(got) != len(tc.want) {
			t.Errorf("Array(%q): %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("Array(%q)[%d] = %q, want %q", tc.in, i, got[i], tc.want[i])
			}
		}
	}
}

// FuzzArray: Array accepts exactly the arrays encoding/json accepts, and
// its element spans are each valid JSON.
func FuzzArray(f *testing.F) {
	for _, s := range []string{`[]`, `[1,"a",{"b":[2]},null]`, `[1,]`, `["\u00e9\ud800"]`, `[[[[]]]]`, ` [ true , false ] `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var elems [][]byte
		err := Array(b, func(s, e int) bool { elems = append(elems, b[s:e]); return true })
		var v []json.RawMessage
		jerr := json.Unmarshal(b, &v)
		if jerr == nil && string(bytes.TrimSpace(b)) == "null" {
			jerr = errors.New("null decodes into a slice but is not an array")
		}
		if (err == nil) != (jerr == nil) && !deep(b) {
			t.Fatalf("Array: %v, encoding/json: %v", err, jerr)
		}
		if err == nil {
			for _, e := range elems {
				if !json.Valid(e) {
					t.Fatalf("element %q is not valid JSON", e)
				}
			}
		}
	})
}

// deep reports whether b nests deeper than MaxDepth, which Array refuses
// and encoding/json does not.
func deep(b []byte) bool {
	d, m := 0, 0
	for _, c := range b {
		switch c {
		case '[', '{':
			d++
			m = max(m, d)
		case ']', '}':
			d--
		}
	}
	return m > MaxDepth
}
