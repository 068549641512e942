package guard

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusLine is one labelled example of testdata/guard.
type corpusLine struct {
	file string
	line int
	cat  Category // "" for a text where nothing must be found
	val  string
	text string
}

func readCorpus(t *testing.T, name string) []corpusLine {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "guard", name)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		parts := strings.SplitN(l, "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("%s:%d: want 3 tab-separated fields", name, n)
		}
		unesc := func(s string) string { return strings.ReplaceAll(s, `\n`, "\n") }
		c := corpusLine{file: name, line: n, val: unesc(parts[1]), text: unesc(parts[2])}
		if parts[0] != "-" {
			c.cat = Category(parts[0])
			if strings.Count(c.text, c.val) != 1 {
				t.Fatalf("%s:%d: the value must occur once in the text", name, n)
			}
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type score struct{ tp, fp, fn int }

func (s score) precision() float64 {
	if s.tp+s.fp == 0 {
		return 1
	}
	return float64(s.tp) / float64(s.tp+s.fp)
}

func (s score) recall() float64 {
	if s.tp+s.fn == 0 {
		return 1
	}
	return float64(s.tp) / float64(s.tp+s.fn)
}

// TestCorpusPrecisionRecall scores every built-in detector on the labelled
// corpus and holds each category to precision and recall of at least 0.99.
// Run with -v for the table the README quotes.
func TestCorpusPrecisionRecall(t *testing.T) {
	d, err := NewDetector(Builtins(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := append(readCorpus(t, "corpus.tsv"), readCorpus(t, "hard.tsv")...)
	scores := map[Category]*score{}
	for _, c := range Builtins() {
		scores[c] = &score{}
	}
	var failures []string
	for _, l := range lines {
		found := false
		for _, m := range d.Scan(l.text, nil) {
			if l.cat == m.Category && l.text[m.Start:m.End] == l.val {
				scores[m.Category].tp++
				found = true
				continue
			}
			scores[m.Category].fp++
			failures = append(failures, fmt.Sprintf("%s:%d: false %s %q in %q", l.file, l.line, m.Category, l.text[m.Start:m.End], l.text))
		}
		if l.cat != "" && !found {
			scores[l.cat].fn++
			failures = append(failures, fmt.Sprintf("%s:%d: missed %s %q", l.file, l.line, l.cat, l.val))
		}
	}
	t.Logf("%d examples", len(lines))
	t.Logf("| category | TP | FP | FN | precision | recall |")
	for _, c := range Builtins() {
		s := scores[c]
		t.Logf("| %s | %d | %d | %d | %.4f | %.4f |", c, s.tp, s.fp, s.fn, s.precision(), s.recall())
		if s.precision() < 0.99 || s.recall() < 0.99 || s.tp == 0 {
			t.Errorf("%s: precision %.4f, recall %.4f, want both >= 0.99", c, s.precision(), s.recall())
		}
	}
	for i, f := range failures {
		if i == 30 {
			t.Logf("... %d more", len(failures)-30)
			break
		}
		t.Log(f)
	}
}

// TestNoMatchesInRecordedTraffic scans the requests captured from Claude
// Code and the recorded upstream answers in testdata: real prompts, code,
// tool results and answers in which nothing sensitive appears, so every
// match would be a false positive.
func TestNoMatchesInRecordedTraffic(t *testing.T) {
	d, err := NewDetector(Builtins(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, dir := range []string{"claudecode", "anthropic", "openai"} {
		m, err := filepath.Glob(filepath.Join("..", "..", "testdata", dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("only %d recorded files found", len(files))
	}
	size := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		size += len(b)
		for _, m := range d.Scan(string(b), nil) {
			t.Errorf("%s: %s %q", f, m.Category, b[m.Start:m.End])
		}
	}
	t.Logf("%d files, %d bytes, no matches", len(files), size)
}
