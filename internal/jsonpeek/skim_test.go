package jsonpeek

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzSkim: Skim and SkimArray never panic, and on valid JSON they report
// the same value spans as the validating Object and Array, and SkimMember
// finds what Member finds.
func FuzzSkim(f *testing.F) {
	for _, s := range []string{`{"a":"\\\"","b\"":{"c":["]","}",{"d":"\\\\"}]},"e":-1.5e3,"f":true,"g":null}`, `[1,"]",{"a":[]}]`, `{}`, `[ ]`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want, got [][2]int
		collect := func(dst *[][2]int) func(int, int) bool {
			return func(start, end int) bool { *dst = append(*dst, [2]int{start, end}); return true }
		}
		okObj := Object(b, func(_ []byte, start, end int) bool { return collect(&want)(start, end) }) == nil
		skimObj := Skim(b, func(_ []byte, start, end int) bool { return collect(&got)(start, end) })
		if okObj {
			if skimObj != nil {
				t.Fatalf("Skim refused a valid object: %v", skimObj)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("Skim spans differ from Object's (-Object +Skim):\n%s", d)
			}
			for _, name := range []string{"a", "b\"", "usage"} {
				if m, sm := Member(b, name), SkimMember(b, name); string(m) != string(sm) || (m == nil) != (sm == nil) {
					t.Fatalf("SkimMember(%q) = %q, Member %q", name, sm, m)
				}
			}
		}
		want, got = nil, nil
		okArr := Array(b, collect(&want)) == nil
		skimArr := SkimArray(b, collect(&got))
		if okArr {
			if skimArr != nil {
				t.Fatalf("SkimArray refused a valid array: %v", skimArr)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("SkimArray spans differ from Array's (-Array +SkimArray):\n%s", d)
			}
		}
	})
}

// BenchmarkSkim4KB is the cache key's member split of a 4 KB body;
// compare BenchmarkObject4KB-style validating scans.
func BenchmarkSkim4KB(b *testing.B) {
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"` + string(make4K()) + `","messages":[{"role":"user","content":"hi"}],"stream":true}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		Skim(body, func([]byte, int, int) bool { n++; return true })
	}
}

func make4K() []byte {
	s := make([]byte, 4096)
	for i := range s {
		s[i] = 'a' + byte(i%26)
	}
	return s
}
