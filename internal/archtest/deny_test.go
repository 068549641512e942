package archtest

import (
	"slices"
	"strings"
	"testing"
)

// denied are imports the layer numbers allow but the design does not
// (ARCHITECTURE.md): conversion happens in the relay, pure translators
// know nothing of the gateway's errors, and the two wire packages stand
// alone, and providers keep transport and vendor error handling only. A
// rule names a package and an imported package, either of them a prefix
// ending in "/" for every package below it.
var denied = []struct {
	pkg, imp, why string
}{
	{"internal/translate", "internal/apierr", "translators are pure: they return their own errors, the relay classifies them"},
	{"internal/server", "internal/translate", "the relay converts between formats, once; the server writes what it gets"},
	{"internal/server", "internal/provider/", "the server sees providers only through the relay"},
	{"internal/anthropic", "internal/openai", "the wire packages do not import each other"},
	{"internal/openai", "internal/anthropic", "the wire packages do not import each other"},
	{"internal/provider/", "internal/translate", "providers keep transport and vendor errors; the relay translates"},
}

// known are violations present when the rule was written, keyed by the
// importing package and the rule's import, each with its owner's issue:
// reported, not failed, until they are gone. Remove an entry when its
// import is: the test says when one is no longer needed.
var known = map[[2]string]string{}

func TestDenied(t *testing.T) {
	pkgs := packages(t)
	names := sortedNames(pkgs)
	seen := map[[2]string]bool{}
	for _, n := range names {
		for _, imp := range pkgs[n].imports {
			for _, d := range denied {
				if !deniedImport(d.pkg, d.imp, n, imp) {
					continue
				}
				k := [2]string{n, d.imp}
				if why, ok := known[k]; ok {
					seen[k] = true
					t.Logf("known: %s imports %s (%s)", n, imp, why)
					continue
				}
				t.Errorf("%s imports %s: %s", n, imp, d.why)
			}
		}
	}
	for k := range known {
		if !seen[k] {
			t.Logf("%s no longer imports %s: remove its entry from known", k[0], k[1])
		}
	}
}

// owned are packages that only the named packages may import (either
// side a prefix ending in "/" for every package below it): the item-1 rules
// of issue 10 stated once, where a deny-list would have to name every
// other package.
var owned = []struct {
	imp string
	by  []string
	why string
}{
	{"internal/translate", []string{"internal/relay", "internal/convert"}, "conversion happens in one place: the relay, through convert"},
	{"internal/provider/", []string{"internal/app"}, "the app wires the providers; the relay and the server see them through interfaces"},
}

func TestOwned(t *testing.T) {
	pkgs := packages(t)
	for _, n := range sortedNames(pkgs) {
		for _, imp := range pkgs[n].imports {
			for _, o := range owned {
				if matches(o.imp, imp) && !slices.ContainsFunc(o.by, func(by string) bool { return matches(by, n) }) {
					t.Errorf("%s imports %s: %s", n, imp, o.why)
				}
			}
		}
	}
}

// deniedImport reports whether rule (pkg, imp) forbids package n importing
// p.
func deniedImport(pkg, imp, n, p string) bool {
	return matches(pkg, n) && matches(imp, p)
}

// matches reports whether package p is name, or below it when name ends
// in "/".
func matches(name, p string) bool {
	if strings.HasSuffix(name, "/") {
		return strings.HasPrefix(p, name)
	}
	return p == name
}

func TestDeniedImport(t *testing.T) {
	for _, tc := range []struct {
		pkg, imp, n, p string
		want           bool
	}{
		{"internal/server", "internal/provider/", "internal/server", "internal/provider/openaicompat", true},
		{"internal/server", "internal/provider/", "internal/server", "internal/provider", false},
		{"internal/server", "internal/translate", "internal/server", "internal/translate", true},
		{"internal/server", "internal/translate", "internal/relay", "internal/translate", false},
		{"internal/provider/", "internal/translate", "internal/provider/anthropic", "internal/translate", true},
		{"internal/provider/", "internal/translate", "internal/provider", "internal/translate", false},
		{"internal/provider/", "internal/translate", "internal/relay", "internal/translate", false},
	} {
		if got := deniedImport(tc.pkg, tc.imp, tc.n, tc.p); got != tc.want {
			t.Errorf("deniedImport(%q, %q, %q, %q) = %v, want %v", tc.pkg, tc.imp, tc.n, tc.p, got, tc.want)
		}
	}
}
