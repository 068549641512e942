package translate

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestPure holds the package to what its doc promises: no I/O, logging,
// context, clock or randomness inside (ids and the time come in as an
// Env), and no gateway error kinds (apierr is the caller's).
func TestPure(t *testing.T) {
	banned := map[string]bool{
		"crypto/rand": true, "math/rand": true, "math/rand/v2": true,
		"context": true, "log": true, "log/slog": true, "net/http": true, "os": true,
		"github.com/ferrygw/ferry/internal/apierr": true,
	}
	bannedCalls := map[string]bool{"time.Now": true, "time.Since": true, "time.Until": true}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); banned[p] {
				t.Errorf("%s imports %s", name, p)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && bannedCalls[x.Name+"."+sel.Sel.Name] {
					t.Errorf("%s uses %s.%s", fset.Position(sel.Pos()), x.Name, sel.Sel.Name)
				}
			}
			return true
		})
	}
}
