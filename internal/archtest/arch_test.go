// Package archtest holds the layering rules of ARCHITECTURE.md as tests: a
// package imports only packages of lower layers, and every package has one
// package doc comment.
package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/ferrygw/ferry/"

// layers numbers every package; a package may import only lower numbers.
// A new package must be added here, which is the point: its place in the
// layering is a decision.
var layers = map[string]int{
	"internal/apierr":                1,
	"internal/sse":                   0,
	"internal/jsonpeek":              0,
	"internal/ids":                   0,
	"internal/lifecycle":             0, // start-once, close-once guard of a queue's owner (ledger, notifier, shadow)
	"internal/tokens":                0,
	"internal/config":                0,
	"internal/testbody":              0,
	"internal/testkit":               1,
	"internal/anthropic":             1,
	"internal/guard":                 2,
	"internal/openai":                2,
	"internal/translate":             3,
	"internal/routing":               3,
	"internal/auth":                  3,
	"internal/store":                 3,
	"internal/store/storetest":       4,
	"internal/keys":                  4,
	"internal/metrics":               2, // a leaf (prometheus only): the collector constructors serve layer 3 (shadow)
	"internal/tracing":               3,
	"internal/upstream":              3,
	"internal/canary":                3,
	"internal/ratelimit":             3,
	"internal/cache":                 3,
	"internal/shadow":                3,
	"internal/console":               3,
	"internal/check":                 3,
	"internal/provider":              3,
	"internal/provider/anthropic":    4,
	"internal/provider/openaicompat": 4,
	"internal/provider/simulator":    4,
	"internal/convert":               4,
	"internal/fakeupstream":          4,
	"internal/usage":                 4,
	"internal/alert":                 5,
	"internal/relay":                 5,
	"internal/bench":                 5, // ferry bench and replay: load generator, loopback upstream, replay report
	"internal/server":                6,
	"internal/app":                   7,
	"internal/archtest":              8,
	"cmd/ferry":                      8,
	"cmd/benchmock":                  8, // the measurement mock and floor proxy of scripts/bench.sh
	"internal/guard/corpusgen":       8,
}

// packages maps each package directory (relative to the repo root) to its
// non-test files' imports and doc comment count.
func packages(t *testing.T) map[string]struct {
	imports []string
	docs    int
} {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]struct {
		imports []string
		docs    int
	}{}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		p := out[rel]
		if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package ") || f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Command ") {
			p.docs++
		}
		for _, imp := range f.Imports {
			v, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(v, module) {
				p.imports = append(p.imports, strings.TrimPrefix(v, module))
			}
		}
		out[rel] = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLayering(t *testing.T) {
	pkgs := packages(t)
	names := sortedNames(pkgs)
	for _, n := range names {
		l, ok := layers[n]
		if !ok {
			t.Errorf("package %s has no layer: add it to layers", n)
			continue
		}
		for _, imp := range pkgs[n].imports {
			il, ok := layers[imp]
			if ok && il >= l {
				t.Errorf("%s (layer %d) imports %s (layer %d): only lower layers may be imported", n, l, imp, il)
			}
		}
	}
}

func TestPackageDocs(t *testing.T) {
	for n, p := range packages(t) {
		if p.docs != 1 {
			t.Errorf("package %s has %d package doc comments, want 1", n, p.docs)
		}
	}
}

// sortedNames is the packages' names in order, for stable messages.
func sortedNames[V any](pkgs map[string]V) []string {
	names := make([]string, 0, len(pkgs))
	for n := range pkgs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
