package provider_test

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/ferrygw/ferry/internal/provider"
)

func TestReadBounded(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	tests := []struct {
		name    string
		size    int
		limit   int64
		bufCap  int
		wantErr error
	}{
		{"empty", 0, 10, 0, nil},
		{"small, no buffer", 100, 1000, 0, nil},
		{"fits the buffer", 100, 1000, 101, nil},
		{"fills the buffer exactly", 100, 1000, 100, nil},
		{"at the limit", 5000, 5000, 0, nil},
		{"one over the limit", 5001, 5000, 0, provider.ErrTooLarge},
		{"over the limit with a buffer", 5001, 5000, 8192, provider.ErrTooLarge},
		{"many blocks", len(body), int64(len(body)), 16, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := body[:tt.size]
			buf := make([]byte, 0, tt.bufCap)
			// One byte per read: the worst a slow peer can do.
			got, n, err := provider.ReadBounded(iotest.OneByteReader(bytes.NewReader(src)), buf, tt.limit)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if n != tt.limit+1 {
					t.Errorf("read %d bytes before refusing, want %d", n, tt.limit+1)
				}
				return
			}
			if !bytes.Equal(got, src) || n != int64(tt.size) {
				t.Fatalf("got %d bytes (n=%d), want %d", len(got), n, tt.size)
			}
			if tt.size <= tt.bufCap && tt.size > 0 && &got[0] != &buf[:1][0] {
				t.Errorf("a body that fits the buffer was copied out of it")
			}
		})
	}
}

func TestReadBoundedReadError(t *testing.T) {
	boom := errors.New("boom")
	_, n, err := provider.ReadBounded(io.MultiReader(bytes.NewReader(make([]byte, 10)), iotest.ErrReader(boom)), nil, 100)
	if !errors.Is(err, boom) || n != 10 {
		t.Fatalf("n = %d, err = %v", n, err)
	}
}

// endless is a body that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

// TestReadBoundedOverLimitCost: an endless body costs its limit plus one
// block at most (bytes.Buffer's doubling spent ~4x the limit in all and
// held 2x).
func TestReadBoundedOverLimitCost(t *testing.T) {
	const limit = 8 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, err := provider.ReadBounded(endless{}, nil, limit)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, provider.ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if spent := after.TotalAlloc - before.TotalAlloc; spent > limit+1<<20+64<<10 {
		t.Errorf("allocated %d bytes for a %d-byte limit, want at most the limit plus 1 MiB", spent, limit)
	}
}

func BenchmarkReadBounded(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 24<<10) // a typical Claude Code request
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, err := provider.ReadBounded(bytes.NewReader(body), make([]byte, 0, len(body)+1), 32<<20); err != nil {
			b.Fatal(err)
		}
	}
}
