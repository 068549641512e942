package testkit

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

// update is go test -update: golden files are rewritten with what the
// code produces instead of compared. A test package that imports testkit
// must not define its own -update flag.
var update = flag.Bool("update", false, "rewrite the want sections of golden files in testdata")

// Updating reports whether go test runs with -update.
func Updating() bool { return *update }

// Golden is one txtar golden file: input sections the test reads and want
// sections it checks its output against. Load it with [LoadGolden].
type Golden struct {
	path    string
	archive *txtar.Archive
	changed bool
}

// LoadGolden reads the txtar file at path (usually testdata/<case>.txtar).
// When the test ends under -update, the file is rewritten if Check
// changed a section.
func LoadGolden(t testing.TB, path string) *Golden {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	g := &Golden{path: path, archive: txtar.Parse(b)}
	t.Cleanup(func() {
		if !g.changed {
			return
		}
		if err := os.WriteFile(path, txtar.Format(g.archive), 0o644); err != nil {
			t.Errorf("rewrite %s: %v", path, err)
		}
	})
	return g
}

// GoldenFiles returns the txtar files matching pattern (e.g.
// "testdata/*.txtar"), failing the test when there are none.
func GoldenFiles(t testing.TB, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files match %s (%v)", pattern, err)
	}
	return files
}

// Comment returns the archive's leading comment, often the case's notes.
func (g *Golden) Comment() []byte { return g.archive.Comment }

// Has reports whether the archive has a section named name.
func (g *Golden) Has(name string) bool { return g.index(name) >= 0 }

// File returns the section named name, nil when there is none.
func (g *Golden) File(name string) []byte {
	if i := g.index(name); i >= 0 {
		return g.archive.Files[i].Data
	}
	return nil
}

// Path is the file's path, for messages.
func (g *Golden) Path() string { return g.path }

// Check compares got with the section named name and reports a diff. Under
// -update it sets the section (adding it when absent) instead, and the
// file is rewritten when the test ends.
func (g *Golden) Check(t testing.TB, name string, got []byte) {
	t.Helper()
	if len(got) > 0 && got[len(got)-1] != '\n' {
		got = append(got[:len(got):len(got)], '\n') // txtar sections end in a newline
	}
	i := g.index(name)
	if *update {
		if i < 0 {
			g.archive.Files = append(g.archive.Files, txtar.File{Name: name})
			i = len(g.archive.Files) - 1
		}
		if !bytes.Equal(g.archive.Files[i].Data, got) {
			g.archive.Files[i].Data = got
			g.changed = true
		}
		return
	}
	if i < 0 {
		t.Errorf("%s: no section %q (run go test -update to add it)", g.path, name)
		return
	}
	if diff := cmp.Diff(string(g.archive.Files[i].Data), string(got)); diff != "" {
		t.Errorf("%s: %s differs (-want +got):\n%s", g.path, name, diff)
	}
}

func (g *Golden) index(name string) int {
	for i, f := range g.archive.Files {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// CheckFile compares got with the whole file at path, for goldens that are
// one output rather than a txtar of sections; under -update it writes got
// to path (making its directory) instead.
func CheckFile(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}
