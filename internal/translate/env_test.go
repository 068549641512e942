package translate

import (
	"strconv"
	"testing"
	"time"
)

// goldenEnv is the Env of the golden tests: ids "<prefix>RANDOM" (what the
// golden files show for a made-up id) and a fixed clock.
func goldenEnv() Env {
	return Env{
		ID:  func(prefix string) string { return prefix + "RANDOM" },
		Now: func() time.Time { return time.Unix(1700000000, 0) },
	}
}

// countingEnv numbers its ids: "<prefix>1", "<prefix>2", ...
func countingEnv() Env {
	n := 0
	return Env{ID: func(prefix string) string { n++; return prefix + strconv.Itoa(n) }}
}

// TestEnvZero: a zero Env gives fixed values, never a random or the time.
func TestEnvZero(t *testing.T) {
	var e Env
	if got := e.id("msg_"); got != "msg_0" {
		t.Errorf("id = %q", got)
	}
	if got := e.unix(); got != 0 {
		t.Errorf("unix = %d", got)
	}
}
