package usage

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/store"
	"github.com/ferrygw/ferry/internal/store/storetest"
)

// oddRows are rows whose every column differs from row(i)'s somewhere:
// zero and far values, empty, non-ASCII, invalid UTF-8 and NUL-holding
// strings, every flag.
func oddRows() []Row {
	rows := []Row{row(0), row(1), {}}
	r := row(2)
	r.At = time.Date(2262, 4, 11, 0, 0, 0, 1000, time.UTC)
	r.RequestID, r.Key, r.Team, r.Tag = "req_ü", "ключ", "", "a\x00b"
	r.Route, r.Provider, r.Node, r.Model, r.ClientModel = "*", "openai", "\xff\xfe", "模型 ✓", "'quoted'"
	r.Tokens = Tokens{Input: math.MaxInt64, Output: -1, CacheRead: 0, CacheWrite: 1 << 40}
	r.Estimated, r.Cached, r.Coalesced, r.Shadow = true, true, true, true
	r.Cost, r.Currency, r.Latency, r.FirstToken = math.MinInt64, "EUR", -time.Microsecond, 0
	r.Status, r.ErrorType, r.Attempts, r.SessionID, r.Endpoint = 499, "overloaded_error", 3, strings.Repeat("s", 5000), "count_tokens"
	return append(rows, r, row(3))
}

// insertByBinds writes rows as the writer did before the batch table: one
// INSERT of 27 bound values a row, the values boxes.values gives.
func insertByBinds(t *testing.T, s *store.Store, rows []Row) {
	t.Helper()
	q := `INSERT INTO usage_ledger (` + strings.Join(ledgerColumnNames, ", ") + `) VALUES (?` + strings.Repeat(", ?", ledgerColumns-1) + `)`
	var b boxes
	v := make([]any, ledgerColumns)
	for i := range rows {
		b.values(v, &rows[i])
		if _, err := s.Exec(context.Background(), nil, q, v...); err != nil {
			t.Fatal(err)
		}
	}
}

// stored is every ledger row, each column quote()d: its storage class
// shows (1 and '1' and 1.0 differ).
func stored(t *testing.T, s *store.Store) []string {
	t.Helper()
	cols := make([]string, 0, ledgerColumns)
	for _, c := range ledgerColumnNames {
		cols = append(cols, "quote("+c+")")
	}
	rs, err := s.Query(context.Background(), nil, `SELECT `+strings.Join(cols, " || '|' || ")+` FROM usage_ledger ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var line string
		if err := rs.Scan(&line); err != nil {
			t.Fatal(err)
		}
		out = append(out, line)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLedgerSQLiteWritesAsBinds: the batch table stores every column
// exactly as bound values did, type included.
func TestLedgerSQLiteWritesAsBinds(t *testing.T) {
	rows := oddRows()
	viaBinds, viaTable := storetest.SQLite(t, Schema), storetest.SQLite(t, Schema)
	insertByBinds(t, viaBinds, rows)
	l, err := NewLedger(LedgerOptions{Store: viaTable})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.insert(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	want, got := stored(t, viaBinds), stored(t, viaTable)
	if len(want) != len(rows) {
		t.Fatalf("binds stored %d rows, want %d", len(want), len(rows))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("batch table stored differently (-binds +table):\n%s", d)
	}
}

// TestLedgerSQLiteBatchTableNeedsHandle: a read of the batch table without
// a live batch's handle fails; it never reads as empty (a silent loss).
func TestLedgerSQLiteBatchTableNeedsHandle(t *testing.T) {
	s := storetest.SQLite(t, Schema)
	ctx := context.Background()
	conn, err := s.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, createBatchTable); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SELECT COUNT(*) FROM temp.` + batchModule,
		`SELECT COUNT(*) FROM temp.` + batchModule + ` WHERE handle = -1`,
		`SELECT COUNT(*) FROM temp.` + batchModule + ` WHERE handle = 'x'`,
	} {
		var n int
		if err := conn.QueryRowContext(ctx, q).Scan(&n); err == nil {
			t.Errorf("%s: %d rows, want an error", q, n)
		}
	}
}

// TestLedgerSQLiteConcurrentLedgers: two ledgers on one store, each batch
// on a fresh connection (none kept idle), write at once; every row lands
// once, with its own ledger's values.
func TestLedgerSQLiteConcurrentLedgers(t *testing.T) {
	s := storetest.SQLite(t, Schema)
	s.DB().SetMaxIdleConns(0)
	var wg sync.WaitGroup
	for g, team := range []string{"red", "blue"} {
		l, err := NewLedger(LedgerOptions{Store: s})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for b := range 5 {
				batch := make([]Row, 50)
				for i := range batch {
					batch[i] = row(g*10000 + b*100 + i)
					batch[i].Team = team
				}
				if err := l.insert(context.Background(), batch); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var rows, ids, misplaced int64
	q := `SELECT COUNT(*), COUNT(DISTINCT request_id),
		SUM(CASE WHEN (team = 'red') = (CAST(substr(request_id, 5) AS INTEGER) < 10000) THEN 0 ELSE 1 END) FROM usage_ledger`
	if err := s.QueryRow(context.Background(), nil, q).Scan(&rows, &ids, &misplaced); err != nil {
		t.Fatal(err)
	}
	if rows != 500 || ids != 500 || misplaced != 0 {
		t.Errorf("rows %d, distinct ids %d, rows of the other ledger's team %d; want 500, 500, 0", rows, ids, misplaced)
	}
	if n := batchesLeft(); n != 0 {
		t.Errorf("%d batches still held after the inserts", n)
	}
}

func batchesLeft() int {
	n := 0
	batches.Range(func(any, any) bool { n++; return true })
	return n
}
