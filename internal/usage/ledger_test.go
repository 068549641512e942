package usage

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/store"
	"github.com/ferrygw/ferry/internal/store/storetest"
)

func row(i int) Row {
	return Row{At: time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond), RequestID: fmt.Sprintf("req_%d", i),
		Key: "alice", Team: "search", Tag: "chat", Route: "claude-*", Provider: "anthropic", Node: "n0", Model: "claude-sonnet-4-5",
		ClientModel: "claude-sonnet-4-5", Tokens: Tokens{Input: 100, Output: 50, CacheRead: 10}, Cost: 1050, Currency: USD,
		Latency: time.Second, FirstToken: 200 * time.Millisecond, Status: 200, Attempts: 1, SessionID: "sess-1"}
}

func countRows(t *testing.T, s *store.Store) int64 {
	t.Helper()
	var n int64
	if err := s.QueryRow(context.Background(), nil, `SELECT COUNT(*) FROM usage_ledger`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLedgerLosesNoRowOnClose records from many goroutines while the
// writer runs, then closes as shutdown does: every row recorded is stored.
func TestLedgerLosesNoRowOnClose(t *testing.T) {
	storetest.Both(t, func(t *testing.T, s *store.Store) {
		l, err := NewLedger(LedgerOptions{Store: s, Batch: 64, FlushEvery: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		l.Start()
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 250 {
					if !l.Record(row(g*1000 + i)) {
						t.Error("row refused")
					}
				}
			})
		}
		wg.Wait()
		if err := l.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := countRows(t, s); got != 2000 || l.Written() != 2000 || l.Dropped() != 0 {
			t.Errorf("stored %d, written %d, dropped %d; want 2000, 2000, 0", got, l.Written(), l.Dropped())
		}
		if l.Record(row(1)) || l.Dropped() != 1 {
			t.Errorf("a row after Close: dropped %d, want 1 counted", l.Dropped())
		}
		var cost, ttft int64
		var sess string
		var cached int
		if err := s.QueryRow(context.Background(), nil, `SELECT cost_micros, ttft_us, session_id, cached FROM usage_ledger WHERE request_id = ?`, "req_3007").Scan(&cost, &ttft, &sess, &cached); err != nil {
			t.Fatal(err)
		}
		if cost != 1050 || ttft != 200_000 || sess != "sess-1" || cached != 0 {
			t.Errorf("row = %d %d %q %d", cost, ttft, sess, cached)
		}
	}, Schema)
}

func TestLedgerBufferFullCounted(t *testing.T) {
	s := storetest.SQLite(t, Schema)
	l, err := NewLedger(LedgerOptions{Store: s, Buffer: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		l.Record(row(i)) // not started: the buffer fills
	}
	if l.Dropped() != 2 {
		t.Errorf("dropped %d, want 2", l.Dropped())
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := countRows(t, s); got != 3 {
		t.Errorf("stored %d, want the 3 buffered", got)
	}
}

func TestLedgerPrune(t *testing.T) {
	s := storetest.SQLite(t, Schema)
	l, err := NewLedger(LedgerOptions{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		l.Record(row(i * 1000)) // one a second
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, err := l.Prune(context.Background(), row(5000).At)
	if err != nil || n != 5 || countRows(t, s) != 5 {
		t.Errorf("pruned %d, %v; %d left", n, err, countRows(t, s))
	}
}

// BenchmarkLedger measures rows written per second into each store, from
// Record to committed.
func BenchmarkLedger(b *testing.B) {
	for _, tc := range []struct {
		name string
		open func(testing.TB, ...store.Set) *store.Store
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		b.Run(tc.name, func(b *testing.B) {
			s := tc.open(b, Schema)
			l, err := NewLedger(LedgerOptions{Store: s, Buffer: b.N + 1})
			if err != nil {
				b.Fatal(err)
			}
			l.Start()
			r := row(1)
			b.ReportAllocs()
			start := time.Now()
			for range b.N {
				l.Record(r)
			}
			if err := l.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
			if l.Dropped() != 0 {
				b.Fatalf("dropped %d", l.Dropped())
			}
		})
	}
}

// TestLedgerPartialBatches: batches of any size, full or not, are written
// in one INSERT … SELECT (SQLite) or one COPY (PostgreSQL); every row lands
// once, with its own values even when its strings differ from the row
// before.
func TestLedgerPartialBatches(t *testing.T) {
	storetest.Both(t, func(t *testing.T, s *store.Store) {
		l, err := NewLedger(LedgerOptions{Store: s, Batch: 100, FlushEvery: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		l.Start()
		for i := range 357 { // 3 full batches, then 57 = 32+16+8+1
			r := row(i)
			if i%2 == 1 {
				r.Team, r.Status = "ads", 500
			}
			l.Record(r)
		}
		if err := l.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		var rows, ids, ads int64
		if err := s.QueryRow(context.Background(), nil, `SELECT COUNT(*), COUNT(DISTINCT request_id), SUM(CASE WHEN team = 'ads' AND status = 500 THEN 1 ELSE 0 END) FROM usage_ledger`).Scan(&rows, &ids, &ads); err != nil {
			t.Fatal(err)
		}
		if rows != 357 || ids != 357 || ads != 178 || l.Written() != 357 {
			t.Errorf("rows %d, distinct ids %d, ads rows %d, written %d; want 357, 357, 178, 357", rows, ids, ads, l.Written())
		}
	}, Schema)
}

// TestLedgerWritesFullBatchBeforeTick: the writer sleeps between ticks
// (a row does not wake it), but a full batch waiting does, and fewer rows
// wait for the tick or Close.
func TestLedgerWritesFullBatchBeforeTick(t *testing.T) {
	s := storetest.SQLite(t, Schema)
	l, err := NewLedger(LedgerOptions{Store: s, Batch: 50, FlushEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	for i := range 49 {
		l.Record(row(i))
	}
	time.Sleep(50 * time.Millisecond)
	if n := l.Written(); n != 0 {
		t.Fatalf("%d rows written before a batch was full or the tick came", n)
	}
	l.Record(row(49))
	deadline := time.Now().Add(10 * time.Second)
	for l.Written() != 50 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := l.Written(); n != 50 {
		t.Fatalf("a full batch waiting: %d rows written, want 50 before the tick", n)
	}
	for i := range 7 {
		l.Record(row(50 + i))
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := l.Written(); n != 57 {
		t.Errorf("after Close: %d rows written, want 57", n)
	}
}
