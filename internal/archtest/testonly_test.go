package archtest

import (
	"slices"
	"testing"
)

// testOnly are packages built for tests: no production package may
// import them (a production import of testkit would link a -update flag
// and test services into the binary).
var testOnly = []string{"internal/testbody", "internal/testkit", "internal/store/storetest"}

func TestTestOnlyPackages(t *testing.T) {
	for n, p := range packages(t) {
		for _, imp := range p.imports {
			if slices.Contains(testOnly, imp) && !slices.Contains(testOnly, n) {
				t.Errorf("%s imports %s, which only tests may import", n, imp)
			}
		}
	}
}
