package cache

import (
	"context"
	"testing"
	"time"
)

// A reload's cache keeps the entries, takes the new settings, and shrinks
// a memory store to a smaller budget.
func TestReconfiguredKeepsEntries(t *testing.T) {
	clk := newClock()
	c := newCache(t, clk)
	ctx := context.Background()
	k := key(t, req(baseBody))
	if err := c.Put(ctx, k, "team-a", []byte(`{"type":"message"}`), "application/json", c.Keep(time.Minute)); err != nil {
		t.Fatal(err)
	}
	n, err := c.Reconfigured(Options{MaxBytes: 1 << 20, MaxEntryBytes: 2 << 10, Coalesce: true, DedupWindow: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, o, err := n.Lookup(ctx, k, "team-a", time.Minute); o != Hit || err != nil {
		t.Errorf("after the reload: %v %v, want a hit", o, err)
	}
	if !n.Coalesce() || n.DedupWindow() != time.Second || n.MaxEntryBytes() != 2<<10 || n.idem != c.idem {
		t.Errorf("settings not taken or idempotency state not shared: %+v", n)
	}
	if _, err := c.Reconfigured(Options{MaxBytes: 1}); err != nil {
		t.Fatal(err)
	}
	if _, o, _ := n.Lookup(ctx, k, "team-a", time.Minute); o != Miss {
		t.Errorf("after a budget too small for the entry: %v, want a miss", o)
	}
	if _, err := c.Reconfigured(Options{MaxBytes: -1}); err == nil {
		t.Error("a negative budget was accepted")
	}
}
