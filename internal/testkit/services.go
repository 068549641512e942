package testkit

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// RedisAddr and PostgresURL are the shared services tests use.
const (
	RedisAddr   = "127.0.0.1:6379"
	PostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// unavailable skips t because a service is missing, or fails it under
// CI=true, where a missing service is a broken runner, not a reason to
// pass.
func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s: %v", what, err)
		return
	}
	t.Skipf("no %s: %v", what, err)
}

// uniqueName returns the test's name made safe for a key prefix or a SQL
// identifier (lowercase letters, digits and '_'), cut short, plus 12
// random hex digits so that parallel and repeated runs never share one.
func uniqueName(t testing.TB, max int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(t.Name()) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := b.String()
	if len(name) > max {
		name = name[:max]
	}
	var r [6]byte
	rand.Read(r[:])
	return name + "_" + hex.EncodeToString(r[:])
}
