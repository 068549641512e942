package usage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferrygw/ferry/internal/lifecycle"
	"github.com/ferrygw/ferry/internal/store"
)

// Row is one request in the ledger.
type Row struct {
	At          time.Time
	RequestID   string
	Key         string // the gateway key's name, never the key
	Team        string
	Tag         string
	Route       string
	Provider    string
	Node        string
	Model       string // the upstream model
	ClientModel string
	Tokens
	Estimated  bool // counted with the tokenizer: the upstream gave no usage
	Cost       Micros
	Currency   string
	Latency    time.Duration
	FirstToken time.Duration // time to first token; 0 when none
	Status     int           // HTTP status; 499 when the client hung up
	ErrorType  string
	Attempts   int
	Cached     bool
	Coalesced  bool
	Shadow     bool
	SessionID  string // X-Claude-Code-Session-Id
	Endpoint   string // the API called: messages, count_tokens, chat_completions, complete
}

// LedgerOptions configure a Ledger. Zero values take the defaults.
type LedgerOptions struct {
	Store      *store.Store
	Buffer     int           // rows waiting to be written, default 20000; beyond it rows are dropped and counted
	Batch      int           // rows per batch (one transaction), default 1024
	FlushEvery time.Duration // longest a row waits, default 250ms
	Retention  time.Duration // rows older are pruned; 0: kept forever
	PruneEvery time.Duration // default 1h
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Ledger writes rows asynchronously, in batches, off the request path.
// Record never blocks; Close writes every row recorded before it.
type Ledger struct {
	o       LedgerOptions
	rows    chan Row
	nudge   chan struct{} // wakes the writer before its tick: a batch waits, or Close
	done    chan struct{}
	life    lifecycle.Gate
	dropped atomic.Int64
	written atomic.Int64

	mWritten prometheus.Counter
	mDropped *prometheus.CounterVec // reason: buffer_full, closed, store_error
	mBatch   prometheus.Histogram
	// The drop counters, resolved once: Record never hashes a label.
	mDropFull, mDropClosed, mDropStore prometheus.Counter

	// The writer's own state, touched only by write and its callees: the
	// COPY argument slice reused from batch to batch.
	args []any
	box  boxes
}

// NewLedger builds a Ledger on o.Store.
func NewLedger(o LedgerOptions) (*Ledger, error) {
	if o.Store == nil {
		return nil, errors.New("usage: ledger needs a store")
	}
	o.Buffer = max(o.Buffer, 0)
	if o.Buffer == 0 {
		o.Buffer = 20000
	}
	if o.Batch <= 0 {
		o.Batch = 1024
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = 250 * time.Millisecond
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	l := &Ledger{o: o, rows: make(chan Row, o.Buffer), nudge: make(chan struct{}, 1), done: make(chan struct{})}
	l.mWritten = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ferry_ledger_rows_written_total", Help: "Usage ledger rows written to the store.",
	})
	l.mDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_ledger_rows_dropped_total", Help: "Usage ledger rows lost, by reason (buffer_full, closed, store_error).",
	}, []string{"reason"})
	l.mDropFull = l.mDropped.WithLabelValues("buffer_full")
	l.mDropClosed = l.mDropped.WithLabelValues("closed")
	l.mDropStore = l.mDropped.WithLabelValues("store_error")
	l.mBatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "ferry_ledger_batch_seconds", Help: "Time to write one batch of ledger rows.",
		Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5},
	})
	if r := o.Registerer; r != nil {
		queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ferry_ledger_rows_queued", Help: "Usage ledger rows waiting to be written.",
		}, func() float64 { return float64(len(l.rows)) })
		if err := errors.Join(r.Register(l.mWritten), r.Register(l.mDropped), r.Register(l.mBatch), r.Register(queued)); err != nil {
			return nil, fmt.Errorf("usage: ledger metrics: %w", err)
		}
	}
	return l, nil
}

// Record queues r. It returns false, and counts the drop, when the buffer
// is full or the ledger closed.
func (l *Ledger) Record(r Row) bool {
	switch lifecycle.Offer(&l.life, l.rows, r) {
	case lifecycle.Sent:
		if len(l.rows) >= l.o.Batch {
			l.wake()
		}
		return true
	case lifecycle.Closed:
		l.drop(l.mDropClosed, 1)
	case lifecycle.Full:
		l.drop(l.mDropFull, 1)
	}
	return false
}

func (l *Ledger) drop(c prometheus.Counter, n int) {
	l.dropped.Add(int64(n))
	c.Add(float64(n))
}

// Dropped is how many rows were lost since start; Written how many stored.
func (l *Ledger) Dropped() int64 { return l.dropped.Load() }

// Written is how many rows were stored since start.
func (l *Ledger) Written() int64 { return l.written.Load() }

// Start runs the writer (and the pruner when Retention is set).
func (l *Ledger) Start() {
	l.life.Start(func() { go l.write() })
}

// Close stops taking rows and writes every queued one, until ctx ends.
func (l *Ledger) Close(ctx context.Context) error {
	l.life.Close(func(started bool) {
		close(l.rows)
		l.wake()
		if !started {
			go l.write() // it writes what was recorded, then ends
		}
	})
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("usage: ledger flush: %w", ctx.Err())
	}
}

// wake nudges the writer, unless a nudge waits already.
func (l *Ledger) wake() {
	select {
	case l.nudge <- struct{}{}:
	default:
	}
}

// write is the one writer. It sleeps until FlushEvery's tick or a nudge
// (Record's once a batch waits, Close's), then writes what waits; it
// prunes every PruneEvery. Record does not wake it for each row: a writer
// waiting on the queue itself was woken by every request, at a moderate
// load two thread switches a request.
func (l *Ledger) write() {
	defer close(l.done)
	flush := time.NewTicker(l.o.FlushEvery)
	defer flush.Stop()
	prune := time.NewTicker(l.o.PruneEvery)
	defer prune.Stop()
	batch := make([]Row, 0, l.o.Batch)
	for {
		select {
		case <-l.nudge:
		case <-flush.C:
		case <-prune.C:
			if l.o.Retention > 0 {
				l.prune()
			}
			continue
		}
		if !l.drain(batch) {
			return // closed, and all of it written
		}
	}
}

// drain writes the rows waiting, Batch at a time, into batch's array. It
// returns false once the queue is closed and emptied.
func (l *Ledger) drain(batch []Row) bool {
	for {
		b, open := batch[:0], true
	fill:
		for len(b) < l.o.Batch {
			select {
			case r, ok := <-l.rows:
				if !ok {
					open = false
					break fill
				}
				b = append(b, r)
			default:
				break fill
			}
		}
		l.flush(b)
		if !open {
			return false
		}
		if len(b) < l.o.Batch {
			return true
		}
	}
}

// flush writes batch, retrying a failed write three times before counting
// the rows as lost.
func (l *Ledger) flush(batch []Row) {
	if len(batch) == 0 {
		return
	}
	var err error
	for attempt := range 4 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		err = l.insert(ctx, batch)
		cancel()
		if err == nil {
			l.mBatch.Observe(time.Since(start).Seconds())
			l.written.Add(int64(len(batch)))
			l.mWritten.Add(float64(len(batch)))
			return
		}
		l.o.Logger.Warn("ledger write failed", slog.Int("rows", len(batch)), slog.Int("attempt", attempt+1), slog.Any("error", err))
	}
	l.o.Logger.Error("ledger rows lost", slog.Int("rows", len(batch)), slog.Any("error", err))
	l.drop(l.mDropStore, len(batch))
}

const ledgerColumns = 27

// ledgerColumnNames are the ledger's columns in the order values and the
// batch table give them.
var ledgerColumnNames = []string{"at_us", "request_id", "key_name", "team", "tag", "route", "provider", "node", "model", "client_model",
	"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "estimated", "cost_micros", "currency",
	"latency_us", "ttft_us", "status", "error_type", "attempts", "cached", "coalesced", "shadow", "session_id", "endpoint"}

// insert writes rows atomically: on PostgreSQL in one COPY, on SQLite in
// one INSERT … SELECT from the batch table (ledger_sqlite.go).
func (l *Ledger) insert(ctx context.Context, rows []Row) error {
	if l.o.Store.Dialect() == store.Postgres {
		return l.copyRows(ctx, rows)
	}
	return l.insertSQLite(ctx, rows)
}

// copyRows writes rows with PostgreSQL's COPY (pgx CopyFrom on the pool
// connection's raw pgx.Conn): one round trip to stream the batch, no SQL
// text to parse, binary values.
func (l *Ledger) copyRows(ctx context.Context, rows []Row) error {
	conn, err := l.o.Store.DB().Conn(ctx)
	if err != nil {
		return fmt.Errorf("insert %d ledger rows: %w", len(rows), err)
	}
	defer conn.Close()
	if cap(l.args) < ledgerColumns {
		l.args = make([]any, 0, ledgerColumns)
	}
	src := &rowSource{rows: rows, i: -1, vals: l.args[:ledgerColumns], box: &l.box}
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("not a pgx connection: %T", dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{"usage_ledger"}, ledgerColumnNames, src)
		return err
	})
	clear(src.vals)
	if err != nil {
		return fmt.Errorf("copy %d ledger rows: %w", len(rows), err)
	}
	return nil
}

// rowSource is a pgx.CopyFromSource over rows; Values reuses one slice
// (pgx encodes a row before it asks for the next).
type rowSource struct {
	rows []Row
	i    int
	vals []any
	box  *boxes
}

func (s *rowSource) Next() bool { s.i++; return s.i < len(s.rows) }

func (s *rowSource) Err() error { return nil }

func (s *rowSource) Values() ([]any, error) {
	s.box.values(s.vals, &s.rows[s.i])
	return s.vals, nil
}

// boxes keeps, per column, the last string value and its interface value:
// the columns that repeat from row to row (key, team, route, provider,
// model, currency, endpoint…) are boxed once, not once a row.
type boxes struct {
	s [ledgerColumns]string
	v [ledgerColumns]any
}

func (b *boxes) str(i int, s string) any {
	if b.v[i] == nil || b.s[i] != s {
		b.s[i], b.v[i] = s, s
	}
	return b.v[i]
}

// values fills v (ledgerColumns long) with r's columns in ledgerColumnNames's
// order; every integer is an int64, which both SQLite's virtual table and
// pgx take.
func (b *boxes) values(v []any, r *Row) {
	v[0], v[1], v[2], v[3], v[4] = store.Micros(r.At), b.str(1, r.RequestID), b.str(2, r.Key), b.str(3, r.Team), b.str(4, r.Tag)
	v[5], v[6], v[7], v[8], v[9] = b.str(5, r.Route), b.str(6, r.Provider), b.str(7, r.Node), b.str(8, r.Model), b.str(9, r.ClientModel)
	v[10], v[11], v[12], v[13], v[14], v[15], v[16] = r.Input, r.Output, r.CacheRead, r.CacheWrite, flag(r.Estimated), int64(r.Cost), b.str(16, r.Currency)
	v[17], v[18], v[19], v[20], v[21] = r.Latency.Microseconds(), r.FirstToken.Microseconds(), int64(r.Status), b.str(20, r.ErrorType), int64(r.Attempts)
	v[22], v[23], v[24], v[25], v[26] = flag(r.Cached), flag(r.Coalesced), flag(r.Shadow), b.str(25, r.SessionID), b.str(26, r.Endpoint)
}

func flag(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (l *Ledger) prune() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := l.Prune(ctx, l.o.Now().Add(-l.o.Retention))
	if err != nil {
		l.o.Logger.Warn("ledger prune failed", slog.Any("error", err))
		return
	}
	if n > 0 {
		l.o.Logger.Info("ledger pruned", slog.Int64("rows", n))
	}
}

// Prune deletes the rows recorded before before, and budget windows that
// ended before it, and reports how many ledger rows went.
func (l *Ledger) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := l.o.Store.Exec(ctx, nil, `DELETE FROM usage_ledger WHERE at_us < ?`, store.Micros(before))
	if err != nil {
		return 0, fmt.Errorf("usage: prune ledger: %w", err)
	}
	if _, err := l.o.Store.Exec(ctx, nil, `DELETE FROM usage_budget_spend WHERE window_end_us < ?`, store.Micros(before)); err != nil {
		return 0, fmt.Errorf("usage: prune budget windows: %w", err)
	}
	return res.RowsAffected()
}
