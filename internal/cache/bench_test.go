package cache

import (
	"context"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

func BenchmarkKey4KB(b *testing.B) {
	r := req(string(body4KB()))
	b.SetBytes(int64(len(r.Body)))
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := r.Key(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeyJSONPeek4KB is the same split done by the validating
// scanner, for comparison (why the key has a splitter of its own).
func BenchmarkKeyJSONPeek4KB(b *testing.B) {
	body := body4KB()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		n := 0
		jsonpeek.Object(body, func(_ []byte, _, _ int) bool { n++; return true })
	}
}

// BenchmarkLookup4KB is a cache hit in memory: the key of a 4 KB request
// and the lookup of its 2 KB answer.
func BenchmarkLookup4KB(b *testing.B) {
	c, err := New(Options{MaxBytes: 64 << 20, MaxEntryBytes: 4 << 20, IdempotencyTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	r := req(string(body4KB()))
	k, _ := r.Key()
	ctx := context.Background()
	if err := c.Put(ctx, k, r.Scope, make([]byte, 2048), "application/json", time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		k, err := r.Key()
		if err != nil {
			b.Fatal(err)
		}
		if _, o, err := c.Lookup(ctx, k, r.Scope, time.Hour); o != Hit || err != nil {
			b.Fatal(o, err)
		}
	}
}

func BenchmarkReplayStream(b *testing.B) {
	msg := []byte(thinkingToolMessage)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	var dst []byte
	defer reportCPU(b)()
	for b.Loop() {
		var err error
		if dst, err = AppendStream(dst[:0], msg); err != nil {
			b.Fatal(err)
		}
	}
}
