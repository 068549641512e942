package guard

import (
	"testing"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{
		"身份证11010519491231002X，手机+86 138 1234 5678",
		"card 4111-1111-1111-1111 (010)62345678 a@b.cn E12345678",
		"sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123 eyJhbGciOiJI.eyJzdWIiOiIx.abcdefghijk",
		"１３８１２３４５６７８ ４４０３０６１９９００１０１１２３６",
		"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
		"(0(0(01 2-3 4X x 0086",
	} {
		f.Add(s)
	}
}

// FuzzScan checks each detector alone and all together: matches are in
// order, inside the text, not overlapping, and each is valid on its own.
func FuzzScan(f *testing.F) {
	fuzzSeeds(f)
	all, _ := NewDetector(Builtins(), nil)
	var single []*Detector
	for _, c := range Builtins() {
		d, _ := NewDetector([]Category{c}, nil)
		single = append(single, d)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range append(single, all) {
			ms := d.Scan(s, nil)
			last := 0
			for _, m := range ms {
				if m.Start < last || m.End <= m.Start || m.End > len(s) {
					t.Fatalf("bad match %+v after %d in %q", m, last, s)
				}
				last = m.End
				if !d.on(m.Category) {
					t.Fatalf("category %s is off", m.Category)
				}
				again := d.Scan(s[m.Start:m.End], nil)
				if len(again) != 1 || again[0].Category != m.Category || again[0].End-again[0].Start != m.End-m.Start {
					t.Fatalf("%s %q is not found again on its own: %v", m.Category, s[m.Start:m.End], again)
				}
			}
		}
	})
}

// FuzzPseudonymizeRestore: restoring a pseudonymized text, cut in two at
// any point, gives the text back.
func FuzzPseudonymizeRestore(f *testing.F) {
	fuzzSeeds(f)
	g := newGuard(f, ActionPseudonymize, nil)
	f.Fuzz(func(t *testing.T, s string) {
		ps := NewPseudonyms([]byte(s))
		p, _, err := g.text(s, ps, Tally{})
		if err != nil {
			t.Fatal(err)
		}
		step := max(1, len(p)/64) // every cut for short texts
		for cut := 0; cut <= len(p); cut += step {
			r := ps.Restorer(false)
			if got := r.Write(p[:cut]) + r.Write(p[cut:]) + r.Flush(); got != s {
				t.Fatalf("cut %d: %q -> %q -> %q", cut, s, p, got)
			}
		}
	})
}

// FuzzWordStream: the masked stream, cut in three, equals the whole text
// masked.
func FuzzWordStream(f *testing.F) {
	fuzzSeeds(f)
	f.Add("ＢＡＤ bad baD 坏词坏")
	g := newGuard(f, ActionOff, []string{"bad", "坏词", "ｘ y", "bad bad"})
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // answers are JSON-decoded text: valid UTF-8
		}
		want, _ := g.words.Mask(s)
		ws := g.OutputStream()
		a, b := len(s)/3, 2*len(s)/3
		o1, _ := ws.Write(s[:a])
		o2, _ := ws.Write(s[a:b])
		o3, _ := ws.Write(s[b:])
		o4, _ := ws.Flush()
		if got := o1 + o2 + o3 + o4; got != want {
			t.Fatalf("%q: stream %q, whole %q", s, got, want)
		}
	})
}

// FuzzRequest: any body either fails cleanly or comes back as valid JSON,
// the same bytes when nothing matched, and with nothing left to find.
func FuzzRequest(f *testing.F) {
	f.Add([]byte(reqBody))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"text","text":"a\u0031b 13812345678"}]}]}`))
	g := newGuard(f, ActionRedact, []string{"bad"})
	f.Fuzz(func(t *testing.T, body []byte) {
		out, res, err := g.Request(body)
		if err != nil {
			return
		}
		if !jsonpeek.Valid(out) {
			t.Fatalf("invalid JSON out: %s", out)
		}
		if len(res.Tally) == 0 && string(out) != string(body) {
			t.Fatalf("changed without a match: %s", out)
		}
		again, res2, err := g.Request(out)
		if err != nil || len(res2.Tally) != 0 || string(again) != string(out) {
			t.Fatalf("not idempotent: %s -> %s (%v)", out, again, err)
		}
	})
}
