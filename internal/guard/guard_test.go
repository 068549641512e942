package guard

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
)

const (
	testID    = "11010519491231002X"
	testPhone = "13812345678"
	testKey   = "sk-ant-api03-Abc_def-0123456789abcdefghijklmnopqrstuvwxyz"
)

func newGuard(t testing.TB, a Action, words []string) *Guard {
	t.Helper()
	p := Policy{Actions: map[Category]Action{}}
	for _, c := range Builtins() {
		p.Actions[c] = a
	}
	if words != nil {
		wl, err := NewWordList(words)
		if err != nil {
			t.Fatal(err)
		}
		p.Words, p.WordsInput = wl, WordsMask
	}
	g, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

const reqBody = `{"model":"claude-x","system":"secret key ` + testKey + `","messages":[` +
	`{"role":"user","content":"my id ` + testID + `, phone ` + testPhone + `"},` +
	`{"role":"assistant","content":[{"type":"tool_use","id":"toolu_13812345678","name":"lookup","input":{"phone":"` + testPhone + `","type":"` + testPhone + `"}}]},` +
	`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"owner phone ` + testPhone + `"}]}]}]}`

func TestRequestRedact(t *testing.T) {
	g := newGuard(t, ActionRedact, nil)
	out, res, err := g.Request([]byte(reqBody))
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, v := range []string{testID, testKey, `"` + testPhone + `"`, "phone " + testPhone} {
		if strings.Contains(got, v) {
			t.Errorf("%q reached the upstream body: %s", v, got)
		}
	}
	for _, want := range []string{"[REDACTED:ID_CARD]", "[REDACTED:SECRET]", `"phone":"[REDACTED:PHONE]","type":"[REDACTED:PHONE]"`, `"id":"toolu_13812345678"`, `"model":"claude-x"`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in %s", want, got)
		}
	}
	if n := res.Tally[TallyKey{Phone, "redact"}]; n != 4 {
		t.Errorf("phone redactions = %d, want 4", n)
	}
}

func TestRequestUnchangedIsSameBytes(t *testing.T) {
	g := newGuard(t, ActionRedact, []string{"forbidden"})
	body := []byte(`{"model":"m", "messages":[{"role":"user","content":"hello \u4f60\u597d order 202412061234567890"}]}`)
	out, _, err := g.Request(body)
	if err != nil {
		t.Fatal(err)
	}
	if &out[0] != &body[0] || len(out) != len(body) {
		t.Fatalf("body not passed through as is: %s", out)
	}
}

func TestRequestBlockNamesCategoryNotValue(t *testing.T) {
	g := newGuard(t, ActionBlock, nil)
	_, _, err := g.Request([]byte(reqBody))
	var be *BlockedError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want *BlockedError", err)
	}
	if be.Category != Secret || strings.Contains(err.Error(), testKey) || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("err = %v", err)
	}
	ae := apierr.From(err)
	if ae.Kind != apierr.InvalidRequest || !ae.Kind.Deterministic() || strings.Contains(ae.Public, testKey) || !strings.Contains(ae.Public, "category secret") {
		t.Fatalf("client error %+v", ae)
	}
}

func TestRequestWordsInput(t *testing.T) {
	g := newGuard(t, ActionOff, []string{"ＢＡＤ词"})
	out, _, err := g.Request([]byte(`{"messages":[{"role":"user","content":"a bad词 b"}]}`))
	if err != nil || string(out) != `{"messages":[{"role":"user","content":"a **** b"}]}` {
		t.Fatalf("got %s, %v", out, err)
	}
}

func TestPseudonymizeRestore(t *testing.T) {
	g := newGuard(t, ActionPseudonymize, nil)
	out, res, err := g.Request([]byte(reqBody))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), `"phone":"`+testPhone) || !strings.Contains(string(out), `"phone":"<PHONE_1>"`) || !strings.Contains(string(out), "<ID_CARD_1>") {
		t.Fatalf("body: %s", out)
	}
	answer := "Your phone <PHONE_1> and ID <ID_CARD_1>; unknown <PHONE_9>."
	want := "Your phone " + testPhone + " and ID " + testID + "; unknown <PHONE_9>."
	for cut := 0; cut <= len(answer); cut++ {
		r := res.Pseudonyms.Restorer(false)
		got := r.Write(answer[:cut]) + r.Write(answer[cut:]) + r.Flush()
		if got != want {
			t.Fatalf("cut %d: got %q", cut, got)
		}
	}
	r := res.Pseudonyms.Restorer(false)
	if out := r.Write("call <PHO"); out != "call " || r.Pending() != 4 {
		t.Fatalf("hold-back: emitted %q, pending %d", out, r.Pending())
	}
	if out := r.Write("TO"); out != "<PHOTO" || r.Pending() != 0 {
		t.Fatalf("not a placeholder: emitted %q, pending %d", out, r.Pending())
	}
}

// TestPropertyPseudonymizeRestoreIdentity: for any text and any chunking,
// pseudonymizing then restoring gives the text back.
func TestPropertyPseudonymizeRestoreIdentity(t *testing.T) {
	g := newGuard(t, ActionPseudonymize, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{testID, testPhone, testKey, "<PHONE_1>", "<PHONE_", "<", ">", " ", "你好", "a@b.cn", "x", "4111111111111111", "\n", "<ID_CARD_1", "E12345678"}
	for n := 0; n < 2000; n++ {
		var b strings.Builder
		for k := rng.IntN(12); k >= 0; k-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := b.String()
		ps := NewPseudonyms([]byte(text))
		pseudo, _, err := g.text(text, ps, Tally{})
		if err != nil {
			t.Fatal(err)
		}
		r := ps.Restorer(false)
		var got strings.Builder
		for rest := pseudo; rest != ""; {
			k := 1 + rng.IntN(len(rest))
			got.WriteString(r.Write(rest[:k]))
			rest = rest[k:]
		}
		got.WriteString(r.Flush())
		if got.String() != text {
			t.Fatalf("text %q\npseudo %q\nrestored %q", text, pseudo, got.String())
		}
	}
}

func TestRestorerInJSON(t *testing.T) {
	ps := NewPseudonyms(nil)
	ph := ps.placeholder("custom", `a"b`)
	r := ps.Restorer(true)
	if got := r.Write(`{"q":"`+ph[:3]) + r.Write(ph[3:]+`"}`) + r.Flush(); got != `{"q":"a\"b"}` {
		t.Fatalf("got %s", got)
	}
}

// TestWordStreamMatchesWholeText: a masked stream equals the whole text
// masked, for any chunking, and the hold-back is the shortest that works.
func TestWordStreamMatchesWholeText(t *testing.T) {
	g := newGuard(t, ActionOff, []string{"bad", "badword", "敏感词", "ＸＹ"})
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"b", "a", "d", "word", "敏", "感", "词", "xy", "X", "Ｙ", " ", "bad", "ok"}
	for n := 0; n < 2000; n++ {
		var b strings.Builder
		for k := rng.IntN(15); k >= 0; k-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := b.String()
		want, _ := g.words.Mask(text)
		f := g.OutputStream()
		var got strings.Builder
		for rest := text; rest != ""; {
			k := 1 + rng.IntN(len(rest))
			out, _ := f.Write(rest[:k])
			got.WriteString(out)
			rest = rest[k:]
		}
		out, _ := f.Flush()
		got.WriteString(out)
		if got.String() != want {
			t.Fatalf("text %q: stream %q, whole %q", text, got.String(), want)
		}
	}
	f := g.OutputStream()
	if out, _ := f.Write("it is ba"); out != "it is " || f.Pending() != 2 {
		t.Fatalf("emitted %q, pending %d", out, f.Pending())
	}
	if out, _ := f.Write("n"); out != "ban" || f.Pending() != 0 {
		t.Fatalf("emitted %q, pending %d", out, f.Pending())
	}
}

func TestWordStreamRefuse(t *testing.T) {
	wl, _ := NewWordList([]string{"secretplan"})
	g, err := New(Policy{Words: wl, WordsOutput: WordsRefuse})
	if err != nil {
		t.Fatal(err)
	}
	f := g.OutputStream()
	out1, r1 := f.Write("the SECRET")
	out2, r2 := f.Write("PLAN is")
	if out1 != "the " || r1 || out2 != "" || !r2 {
		t.Fatalf("got %q %v, %q %v", out1, r1, out2, r2)
	}
	if out, r := f.Write("more"); out != "" || !r {
		t.Fatal("wrote after refusal")
	}
}

func TestWordFilesReload(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "words.txt")
	if err := os.WriteFile(p, []byte("# list\nalpha\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wf, err := LoadWordFiles([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	if _, hit := wf.List().Mask("beta"); hit {
		t.Fatal("beta matched before reload")
	}
	if changed, err := wf.Reload(); changed || err != nil {
		t.Fatalf("reload without change: %v %v", changed, err)
	}
	if err := os.WriteFile(p, []byte("alpha\nbeta\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ticks := make(chan time.Time)
	errs := make(chan error, 1)
	done := make(chan struct{})
	go func() { wf.WatchTicks(ctx, ticks, func(err error) { errs <- err }); close(done) }()
	ticks <- time.Time{} // the reload runs before the next tick is taken
	ticks <- time.Time{}
	if _, hit := wf.List().Mask("BETA"); !hit {
		t.Fatal("Watch did not pick up the change")
	}
	if err := os.WriteFile(p, []byte("# nothing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ticks <- time.Time{}
	if err := <-errs; err == nil {
		t.Fatal("an empty list was reported as nil error")
	}
	cancel()
	<-done
	if _, hit := wf.List().Mask("alpha"); !hit {
		t.Fatal("a failed reload dropped the list in force")
	}
}

func TestRequestTextDocumentScannedBase64Not(t *testing.T) {
	g := newGuard(t, ActionRedact, nil)
	body := `{"messages":[{"role":"user","content":[` +
		`{"type":"document","source":{"type":"text","media_type":"text/plain","data":"tel ` + testPhone + `"}},` +
		`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + testPhone + `"}}]}]}`
	out, _, err := g.Request([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"messages":[{"role":"user","content":[` +
		`{"type":"document","source":{"type":"text","media_type":"text/plain","data":"tel [REDACTED:PHONE]"}},` +
		`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + testPhone + `"}}]}]}`
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
}

// TestRequestDeepNesting: values below the walker's depth limit are still
// rewritten, and a body nested hundreds of levels deep is not rescanned
// at every level.
func TestRequestDeepNesting(t *testing.T) {
	g := newGuard(t, ActionRedact, nil)
	deep := func(n int, leaf string) string {
		return `{"messages":[{"role":"user","content":[{"type":"tool_use","id":"x","name":"n","input":{"a":` +
			strings.Repeat(`[{"k":"v",`+"\n"+`"p":`, n) + leaf + strings.Repeat(`}]`, n) + `}}]}]}`
	}
	out, _, err := g.Request([]byte(deep(40, `"tel `+testPhone+`"`)))
	if err != nil || strings.Contains(string(out), testPhone) || !strings.Contains(string(out), `"tel [REDACTED:PHONE]"`) || !strings.Contains(string(out), `"k":"v"`) {
		t.Fatalf("got %s, %v", out, err)
	}
	body := []byte(deep(250, `"`+strings.Repeat("x", 1<<20)+`"`))
	res := &RequestResult{Tally: Tally{}, Pseudonyms: NewPseudonyms(body)}
	w := walker{g: g, body: body, res: res}
	w.value(0, len(body), false, 0)
	if w.err != nil || w.scanned > 20*len(body) {
		t.Fatalf("a body nested 500 levels deep was scanned %d times over (%v)", w.scanned/len(body), w.err)
	}
}

// TestRequestBlockInsideMessages: a block found inside the messages array
// (nested containers) refuses the request; it was once lost on the way
// out of the walk and the request went through unchanged.
func TestRequestBlockInsideMessages(t *testing.T) {
	g := newGuard(t, ActionBlock, nil)
	for _, body := range []string{
		`{"messages":[{"role":"user","content":"key ` + testKey + `"}]}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"key ` + testKey + `"}]}]}`,
		`{"system":[{"type":"text","text":"key ` + testKey + `"}],"messages":[]}`,
	} {
		var be *BlockedError
		if _, _, err := g.Request([]byte(body)); !errors.As(err, &be) || be.Category != Secret {
			t.Errorf("%s: err = %v, want a block", body, err)
		}
	}
}

func TestMayRefuse(t *testing.T) {
	wl, err := NewWordList([]string{"x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		words  *WordList
		output WordAction
		want   bool
	}{{nil, "", false}, {wl, WordsMask, false}, {wl, WordsRefuse, true}} {
		g, err := New(Policy{Words: c.words, WordsOutput: c.output})
		if err != nil {
			t.Fatal(err)
		}
		if got := g.MayRefuse(); got != c.want {
			t.Errorf("words %v output %q: MayRefuse %v, want %v", c.words != nil, c.output, got, c.want)
		}
	}
}
