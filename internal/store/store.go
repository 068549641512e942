// Package store is Ferry's durable state: one SQL database, SQLite embedded
// by default (a file in the data directory, pure Go, no cgo) or PostgreSQL
// when several instances share state.
//
// The store is never on a request's critical path except through caches:
// callers load what the hot path needs into memory and refresh it in the
// background.
//
// # Adding tables
//
// A package that keeps state declares its own migration Set in its own
// file, as a function (no package-level mutable state), and the app passes
// every Set to Migrate at start-up (internal/keys.Schema is an example):
//
//	func Schema() store.Set {
//		return store.Set{Name: "usage", Steps: []store.Migration{
//			{Version: 1, Name: "ledger", SQL: `CREATE TABLE usage_rows (...)`},
//		}}
//	}
//
// Each Set is versioned on its own (schema_migrations holds one row per
// applied step, keyed by set name and version), so packages never renumber
// one another. Migrations are forward-only: a step once released is never
// edited (its name is checked) and a database newer than the binary is
// refused. Write SQL both engines accept (TEXT, BIGINT, INTEGER 0/1 for
// booleans, ? placeholders); where they differ, fill Postgres as well and
// SQL is SQLite's. Queries use ? placeholders; Rebind turns them into $n
// for PostgreSQL, and the Exec/Query/QueryRow helpers do that for you.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// Dialect names the SQL engine behind a Store.
type Dialect string

// The two engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// SQLiteFile is the database's file name inside the data directory.
const SQLiteFile = "ferry.db"

// Options says which database to open.
type Options struct {
	// URL is a postgres:// (or postgresql://) URL; empty means SQLite.
	URL string
	// DataDir holds the SQLite file; created if missing. Ignored for PostgreSQL.
	DataDir string
}

// Store is an open database.
type Store struct {
	db      *sql.DB
	dialect Dialect
}

// Open opens (creating if need be) the database and checks it answers.
// It does not migrate: call Migrate.
func Open(ctx context.Context, o Options) (*Store, error) {
	var (
		s   = &Store{}
		err error
	)
	switch {
	case strings.HasPrefix(o.URL, "postgres://"), strings.HasPrefix(o.URL, "postgresql://"):
		s.dialect = Postgres
		s.db, err = sql.Open("pgx", o.URL)
	case o.URL != "":
		return nil, errors.New("store: url must start with postgres:// (empty means SQLite in data_dir)")
	default:
		s.dialect = SQLite
		s.db, err = openSQLite(o.DataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", s.dialect, err)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store: connect %s: %w", s.dialect, err)
	}
	return s, nil
}

func openSQLite(dir string) (*sql.DB, error) {
	if dir == "" {
		return nil, errors.New("data directory is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	// WAL lets readers run beside the one writer; busy_timeout makes a
	// second writer wait instead of failing at once.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + filepath.Join(dir, SQLiteFile) + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	return db, nil
}

// Dialect reports the engine.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB is the underlying pool, for callers that need transactions.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// Rebind rewrites ? placeholders as $1, $2, … for PostgreSQL. Question
// marks inside single-quoted literals are left alone.
func (s *Store) Rebind(query string) string {
	if s.dialect != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n, quoted := 0, false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Querier is what both *sql.DB and *sql.Tx offer.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Exec runs a statement with ? placeholders on q (the pool when q is nil).
func (s *Store) Exec(ctx context.Context, q Querier, query string, args ...any) (sql.Result, error) {
	return s.on(q).ExecContext(ctx, s.Rebind(query), args...)
}

// Query runs a query with ? placeholders on q (the pool when q is nil).
func (s *Store) Query(ctx context.Context, q Querier, query string, args ...any) (*sql.Rows, error) {
	return s.on(q).QueryContext(ctx, s.Rebind(query), args...)
}

// QueryRow runs a one-row query with ? placeholders on q (the pool when q is nil).
func (s *Store) QueryRow(ctx context.Context, q Querier, query string, args ...any) *sql.Row {
	return s.on(q).QueryRowContext(ctx, s.Rebind(query), args...)
}

func (s *Store) on(q Querier) Querier {
	if q == nil {
		return s.db
	}
	return q
}

// Tx runs f in a transaction, committing when it returns nil.
func (s *Store) Tx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Micros is t as Unix microseconds, the store's time column format (BIGINT
// on both engines, so ordering and arithmetic agree).
func Micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// Time is the inverse of Micros; 0 is the zero time.
func Time(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
