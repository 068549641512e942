package usage

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/store"
	"github.com/ferrygw/ferry/internal/store/storetest"
)

// BenchmarkLedgerInsert is the writer's cost per row: batches of 1024
// realistic rows inserted as the writer does (one statement each), on
// SQLite and on PostgreSQL. ns/op is wall time per row (SQLite's commit
// waits on the disk); cpu-ns/row is this process's CPU per row (getrusage),
// the figure the gateway pays.
//
// SQLite writes a batch with one INSERT … SELECT from the batch virtual
// table (ledger_sqlite.go). Measured against the multi-row INSERTs of 27
// binds a row it replaced (cpu-ns/row, 20000x, alternate runs; allocs 5/row
// both): 6765-6887 -> 2736-2906, B/op 2044 -> 49; at 200000x (a bigger
// table) 12372-12929 -> 7270-7577; 16-row batches 17274-19454 -> 10493-10515.
// Of that, autocommit (one statement, no statement journal) is ~10% at
// 20000x and ~25% at 200000x; the rest is no per-value bind (mutex, C copy)
// and no database/sql argument conversion.
//
// Tried on SQLite and dropped (cpu-ns/row): one JSON text per batch
// inserted with json_each (1 bind instead of 27 a row) costs ~3x more
// (SQLite parses the JSON again for each extracted column); empty strings
// bound as NULL and stored as empty through ifnull (no C string for
// the driver to allocate) gains nothing measurable; the multi-row INSERT
// executed on the raw driver connection (no database/sql conversion)
// gains ~12% (5669-5975 -> 4926-5115).
//
//	go test -run '^$' -bench LedgerInsert -benchmem ./internal/usage/
func BenchmarkLedgerInsert(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			var st *store.Store
			if name == "sqlite" {
				st = storetest.SQLite(b, Schema)
			} else {
				st = storetest.Postgres(b, Schema)
			}
			l, err := NewLedger(LedgerOptions{Store: st})
			if err != nil {
				b.Fatal(err)
			}
			batch := make([]Row, 1024)
			for i := range batch {
				batch[i] = row(i)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuNow()
			for done := 0; done < b.N; done += len(batch) {
				n := min(len(batch), b.N-done)
				if err := l.insert(ctx, batch[:n]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuNow()-cpu0)/float64(b.N), "cpu-ns/row")
		})
	}
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
