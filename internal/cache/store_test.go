package cache

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/testkit"
)

func newClock() *testkit.Clock {
	return testkit.NewClockAt(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
}

// TestStoreContract runs the same checks on both stores.
func TestStoreContract(t *testing.T) {
	stores := map[string]func(t *testing.T) Store{
		"memory": func(*testing.T) Store { return NewMemory(1<<20, nil) },
		"redis": func(t *testing.T) Store {
			c, prefix := testkit.Redis(t)
			return NewRedis(c, prefix+"cache:")
		},
	}
	for name, mk := range stores {
		t.Run(name, func(t *testing.T) {
			s := mk(t)
			ctx := context.Background()
			if _, err := s.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("get of a missing key: %v", err)
			}
			if err := s.Set(ctx, "a", []byte("one"), time.Minute); err != nil {
				t.Fatal(err)
			}
			if v, err := s.Get(ctx, "a"); err != nil || string(v) != "one" {
				t.Fatalf("get = %q, %v", v, err)
			}
			if ok, err := s.SetNX(ctx, "a", []byte("two"), time.Minute); ok || err != nil {
				t.Fatalf("setnx over a live key = %v, %v", ok, err)
			}
			if ok, err := s.SetNX(ctx, "b", []byte("two"), time.Minute); !ok || err != nil {
				t.Fatalf("setnx of a new key = %v, %v", ok, err)
			}
			if v, _ := s.Get(ctx, "b"); string(v) != "two" {
				t.Fatalf("setnx stored %q", v)
			}
			if err := s.Set(ctx, "a", []byte("three"), time.Minute); err != nil {
				t.Fatal(err)
			}
			if v, _ := s.Get(ctx, "a"); string(v) != "three" {
				t.Fatalf("overwrite: %q", v)
			}
			if err := s.Del(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("get after del: %v", err)
			}
			if err := s.Del(ctx, "never"); err != nil {
				t.Fatalf("del of a missing key: %v", err)
			}
		})
	}
}

// TestRedisKeysAndTTL: keys carry the prefix and Redis's own expiry.
func TestRedisKeysAndTTL(t *testing.T) {
	c, prefix := testkit.Redis(t)
	s := NewRedis(c, prefix+"cache:")
	ctx := context.Background()
	if err := s.Set(ctx, "r:k", []byte("v"), 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ttl, err := c.PTTL(ctx, prefix+"cache:r:k").Result()
	if err != nil || ttl <= time.Second || ttl > 1500*time.Millisecond {
		t.Fatalf("pttl = %v, %v", ttl, err)
	}
	keys, _ := c.Keys(ctx, prefix+"*").Result()
	if fmt.Sprint(keys) != "["+prefix+"cache:r:k]" {
		t.Errorf("keys = %v", keys)
	}
}

func TestMemoryTTL(t *testing.T) {
	clk := newClock()
	m := NewMemory(1<<20, clk.Now)
	ctx := context.Background()
	m.Set(ctx, "a", []byte("x"), time.Minute)
	clk.Advance(time.Minute - time.Nanosecond)
	if _, err := m.Get(ctx, "a"); err != nil {
		t.Fatalf("expired early: %v", err)
	}
	clk.Advance(time.Nanosecond)
	if _, err := m.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("not expired at its ttl: %v", err)
	}
	if m.Len() != 0 || m.Bytes() != 0 {
		t.Errorf("expired entry still counted: %d entries, %d bytes", m.Len(), m.Bytes())
	}
	// SetNX over an expired entry stores.
	m.Set(ctx, "b", []byte("x"), time.Second)
	clk.Advance(time.Second)
	if ok, _ := m.SetNX(ctx, "b", []byte("y"), time.Second); !ok {
		t.Errorf("setnx over an expired entry refused")
	}
	// A ttl of zero stores nothing.
	m.Set(ctx, "c", []byte("x"), 0)
	if _, err := m.Get(ctx, "c"); !errors.Is(err, ErrNotFound) {
		t.Errorf("zero ttl stored")
	}
}

// TestMemoryEvictsByBytes: the least recently used entries go first, as
// many as the new entry's bytes need.
func TestMemoryEvictsByBytes(t *testing.T) {
	ctx := context.Background()
	val := func(n int) []byte { return make([]byte, n) }
	// Each entry: 1-byte key + 871 bytes + 128 overhead = 1000 bytes.
	m := NewMemory(3000, nil)
	for _, k := range []string{"a", "b", "c"} {
		m.Set(ctx, k, val(871), time.Hour)
	}
	if m.Bytes() != 3000 || m.Len() != 3 {
		t.Fatalf("bytes %d, len %d", m.Bytes(), m.Len())
	}
	m.Get(ctx, "a") // a is now the most recently used: b is the oldest
	m.Set(ctx, "d", val(871), time.Hour)
	if has(m, "b") || !has(m, "a") || !has(m, "c") || !has(m, "d") {
		t.Fatalf("after d: want b evicted; have a=%v b=%v c=%v d=%v", has(m, "a"), has(m, "b"), has(m, "c"), has(m, "d"))
	}
	// A 2000-byte entry evicts the two least recently used (c, then a).
	m.Get(ctx, "d")
	m.Set(ctx, "e", val(1871), time.Hour)
	if has(m, "c") || has(m, "a") || !has(m, "d") || !has(m, "e") || m.Bytes() != 3000 {
		t.Fatalf("after e: a=%v c=%v d=%v e=%v bytes=%d", has(m, "a"), has(m, "c"), has(m, "d"), has(m, "e"), m.Bytes())
	}
	// Larger than the whole budget: not stored, nothing evicted.
	m.Set(ctx, "f", val(3000), time.Hour)
	if has(m, "f") || !has(m, "d") || !has(m, "e") {
		t.Fatalf("oversized entry: f=%v d=%v e=%v", has(m, "f"), has(m, "d"), has(m, "e"))
	}
	// Replacing an entry counts its new size only.
	m.Set(ctx, "d", val(371), time.Hour)
	if m.Bytes() != 2500 {
		t.Errorf("bytes after replace = %d, want 2500", m.Bytes())
	}
}

func has(m *Memory, k string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.items[k]
	return ok
}
