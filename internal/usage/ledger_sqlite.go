package usage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite/vtab"
)

// On SQLite the writer inserts a batch with one statement that reads it
// from a Go virtual table, ferry_ledger_batch: INSERT … SELECT … WHERE
// handle = ?, one bound value a batch instead of 27 a row (each bind takes
// the connection's mutex and copies its text), and no statement journal
// (one statement in autocommit is atomic by itself). It costs about half
// the CPU of multi-row INSERTs (see BenchmarkLedgerInsert).
const batchModule = "ferry_ledger_batch"

// The driver installs a module on the connections it opens after the
// registration, so it is registered before any opens: at init, on the
// driver every store's SQLite pool uses. A connection makes the table in
// its own temp schema on its first batch.
func init() {
	if err := vtab.RegisterModule(nil, batchModule, batchMod{}); err != nil {
		panic(fmt.Sprintf("usage: register %s: %v", batchModule, err))
	}
}

// batches holds the batches being inserted, by handle. A handle is read by
// one INSERT, on the goroutine that runs it, before insertSQLite returns;
// ledgers and connections never share one.
var (
	batches    sync.Map // int64 → []Row
	lastHandle atomic.Int64
)

var (
	createBatchTable = `CREATE VIRTUAL TABLE IF NOT EXISTS temp.` + batchModule + ` USING ` + batchModule
	insertFromBatch  = `INSERT INTO usage_ledger (` + strings.Join(ledgerColumnNames, ", ") + `) SELECT ` +
		strings.Join(ledgerColumnNames, ", ") + ` FROM temp.` + batchModule + ` WHERE handle = ?`
)

// insertSQLite writes rows in one INSERT … SELECT from the batch table.
func (l *Ledger) insertSQLite(ctx context.Context, rows []Row) error {
	conn, err := l.o.Store.DB().Conn(ctx)
	if err != nil {
		return fmt.Errorf("insert %d ledger rows: %w", len(rows), err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, createBatchTable); err != nil {
		return fmt.Errorf("insert %d ledger rows: batch table: %w", len(rows), err)
	}
	h := lastHandle.Add(1)
	batches.Store(h, rows)
	defer batches.Delete(h)
	if _, err := conn.ExecContext(ctx, insertFromBatch, h); err != nil {
		return fmt.Errorf("insert %d ledger rows: %w", len(rows), err)
	}
	return nil
}

type batchMod struct{}

// batchSchema declares ledgerColumnNames in order, as the ledger's types,
// then the hidden handle that selects a batch.
const batchSchema = `CREATE TABLE x(at_us INTEGER, request_id TEXT, key_name TEXT, team TEXT, tag TEXT, route TEXT, provider TEXT,
node TEXT, model TEXT, client_model TEXT, input_tokens INTEGER, output_tokens INTEGER, cache_read_tokens INTEGER,
cache_write_tokens INTEGER, estimated INTEGER, cost_micros INTEGER, currency TEXT, latency_us INTEGER, ttft_us INTEGER,
status INTEGER, error_type TEXT, attempts INTEGER, cached INTEGER, coalesced INTEGER, shadow INTEGER, session_id TEXT,
endpoint TEXT, handle HIDDEN)`

func (batchMod) Create(ctx vtab.Context, _ []string) (vtab.Table, error) {
	if err := ctx.Declare(batchSchema); err != nil {
		return nil, err
	}
	return batchTable{}, nil
}

func (m batchMod) Connect(ctx vtab.Context, args []string) (vtab.Table, error) {
	return m.Create(ctx, args)
}

type batchTable struct{}

// handlePlan is the one plan: handle = ?. A scan without it fails in
// Filter rather than reading an empty batch.
const handlePlan = 1

func (batchTable) BestIndex(info *vtab.IndexInfo) error {
	info.EstimatedCost, info.EstimatedRows = 1e12, 1e9
	for i, c := range info.Constraints {
		if c.Column == ledgerColumns && c.Op == vtab.OpEQ && c.Usable {
			info.Constraints[i].ArgIndex, info.Constraints[i].Omit = 0, true
			info.IdxNum, info.EstimatedCost, info.EstimatedRows = handlePlan, 1, 1024
			return nil
		}
	}
	return nil
}

func (batchTable) Open() (vtab.Cursor, error) { return &batchCursor{}, nil }
func (batchTable) Disconnect() error          { return nil }
func (batchTable) Destroy() error             { return nil }

// batchCursor walks one batch; a row's values are made once (boxes.values,
// whose strings that repeat from row to row are boxed once).
type batchCursor struct {
	rows []Row
	i    int
	cur  int // the row vals holds, -1 for none
	vals [ledgerColumns]any
	box  boxes
}

func (c *batchCursor) Filter(idxNum int, _ string, vals []vtab.Value) error {
	c.rows, c.i, c.cur = nil, 0, -1
	if idxNum != handlePlan || len(vals) != 1 {
		return errors.New(batchModule + " is read only with handle = ?")
	}
	h, ok := vals[0].(int64)
	if !ok {
		return fmt.Errorf("%s: handle %v is not an integer", batchModule, vals[0])
	}
	v, ok := batches.Load(h)
	if !ok {
		return fmt.Errorf("%s: no batch %d", batchModule, h)
	}
	c.rows = v.([]Row)
	return nil
}

func (c *batchCursor) Next() error           { c.i++; return nil }
func (c *batchCursor) Eof() bool             { return c.i >= len(c.rows) }
func (c *batchCursor) Rowid() (int64, error) { return int64(c.i), nil }
func (c *batchCursor) Close() error          { c.rows = nil; return nil }

// Column is the col'th of ledgerColumnNames.
func (c *batchCursor) Column(col int) (vtab.Value, error) {
	if col < 0 || col >= ledgerColumns {
		return nil, fmt.Errorf("%s: no column %d", batchModule, col)
	}
	if c.cur != c.i {
		c.box.values(c.vals[:], &c.rows[c.i])
		c.cur = c.i
	}
	return c.vals[col], nil
}
