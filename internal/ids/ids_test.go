package ids

import (
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for _, prefix := range []string{"req_", "msg_", "toolu_", "", strings.Repeat("p", 50)} {
		for range 100 {
			id := New(prefix)
			if !strings.HasPrefix(id, prefix) || len(id) != len(prefix)+Len {
				t.Fatalf("New(%q) = %q", prefix, id)
			}
			if strings.Trim(id[len(prefix):], Alphabet) != "" {
				t.Fatalf("New(%q) = %q: not base62", prefix, id)
			}
			if seen[id] {
				t.Fatalf("New(%q) repeated %q", prefix, id)
			}
			seen[id] = true
		}
	}
}

func TestAppendDigits(t *testing.T) {
	draws := []uint64{0, 61, 62 * 62}
	next := func() uint64 { x := draws[0]; draws = draws[1:]; return x }
	got := string(AppendDigits([]byte("x_"), 12, next))
	// ten digits of 0, then 61 ('z') and 0 from the second draw.
	if want := "x_0000000000z0"; got != want {
		t.Errorf("AppendDigits = %q, want %q", got, want)
	}
}

func TestNewAllocatesOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	if n := testing.AllocsPerRun(100, func() { _ = New("req_") }); n != 1 {
		t.Errorf("New allocates %v times, want 1", n)
	}
}

// BenchmarkNew is the request-id cost on every request.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = New("req_")
	}
}
