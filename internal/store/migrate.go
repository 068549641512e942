package store

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"
)

// Migration is one forward-only schema step.
type Migration struct {
	Version  int    // 1, 2, 3, … within its Set, without gaps
	Name     string // short, fixed forever once released
	SQL      string // statements separated by ";" (SQLite; PostgreSQL too unless Postgres is set)
	Postgres string // PostgreSQL's statements where they differ
}

// Set is one package's migrations, versioned on their own.
type Set struct {
	Name  string
	Steps []Migration
}

// Latest is the Set's highest version.
func (s Set) Latest() int { return len(s.Steps) }

// Migrate brings every Set to its latest version.
func (s *Store) Migrate(ctx context.Context, sets ...Set) error {
	for _, set := range sets {
		if err := s.MigrateTo(ctx, set, set.Latest()); err != nil {
			return err
		}
	}
	return nil
}

// MigrateTo applies set's steps up to and including version upto, in one
// transaction that holds the database's migration lock, so instances
// starting together apply each step once. It refuses a database that has a
// step this binary does not know, or a step whose name changed.
func (s *Store) MigrateTo(ctx context.Context, set Set, upto int) error {
	if err := set.check(); err != nil {
		return err
	}
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.lock(ctx, tx); err != nil {
			return err
		}
		applied, err := s.applied(ctx, tx, set.Name)
		if err != nil {
			return err
		}
		for v, name := range applied {
			if v > set.Latest() {
				return fmt.Errorf("store: %s schema is at version %d, newer than this binary's %d: upgrade Ferry", set.Name, v, set.Latest())
			}
			if want := set.Steps[v-1].Name; name != want {
				return fmt.Errorf("store: %s migration %d is %q in the database but %q here", set.Name, v, name, want)
			}
		}
		for _, m := range set.Steps[:upto] {
			if _, done := applied[m.Version]; done {
				continue
			}
			if err := s.apply(ctx, tx, set.Name, m); err != nil {
				return err
			}
		}
		return nil
	})
}

func (set Set) check() error {
	if set.Name == "" {
		return fmt.Errorf("store: migration set without a name")
	}
	for i, m := range set.Steps {
		if m.Version != i+1 || m.Name == "" {
			return fmt.Errorf("store: %s migration %d: versions must run 1, 2, 3… and each needs a name", set.Name, i+1)
		}
	}
	return nil
}

const createMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
	set_name   TEXT   NOT NULL,
	version    INTEGER NOT NULL,
	name       TEXT   NOT NULL,
	applied_at BIGINT NOT NULL,
	PRIMARY KEY (set_name, version)
)`

// lock serializes migrations across instances. SQLite's transactions
// already take the write lock at BEGIN (_txlock=immediate); PostgreSQL takes
// an advisory lock scoped to the transaction (and to the schema, so tests in
// separate schemas do not wait on each other).
func (s *Store) lock(ctx context.Context, tx *sql.Tx) error {
	if s.dialect == Postgres {
		var schema string
		if err := tx.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return fmt.Errorf("store: current schema: %w", err)
		}
		h := fnv.New64a()
		h.Write([]byte("ferry-migrate:" + schema))
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, createMigrations); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	return nil
}

func (s *Store) applied(ctx context.Context, tx *sql.Tx, set string) (map[int]string, error) {
	rows, err := s.Query(ctx, tx, `SELECT version, name FROM schema_migrations WHERE set_name = ?`, set)
	if err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	defer rows.Close()
	got := map[int]string{}
	for rows.Next() {
		var (
			v    int
			name string
		)
		if err := rows.Scan(&v, &name); err != nil {
			return nil, fmt.Errorf("store: read schema_migrations: %w", err)
		}
		got[v] = name
	}
	return got, rows.Err()
}

func (s *Store) apply(ctx context.Context, tx *sql.Tx, set string, m Migration) error {
	body := m.SQL
	if s.dialect == Postgres && m.Postgres != "" {
		body = m.Postgres
	}
	for _, stmt := range strings.Split(body, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("store: %s migration %d (%s): %w", set, m.Version, m.Name, err)
		}
	}
	_, err := s.Exec(ctx, tx, `INSERT INTO schema_migrations (set_name, version, name, applied_at) VALUES (?, ?, ?, ?)`,
		set, m.Version, m.Name, Micros(time.Now()))
	if err != nil {
		return fmt.Errorf("store: record %s migration %d: %w", set, m.Version, err)
	}
	return nil
}

// Version is set's applied version (0 when none).
func (s *Store) Version(ctx context.Context, set string) (int, error) {
	var v sql.NullInt64
	err := s.QueryRow(ctx, nil, `SELECT MAX(version) FROM schema_migrations WHERE set_name = ?`, set).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return int(v.Int64), nil
}

// Describe lists the tables and columns of the database, one
// "table.column type" per line, sorted: what migration tests compare.
func (s *Store) Describe(ctx context.Context) ([]string, error) {
	q := `SELECT m.name, p.name, p.type FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'`
	if s.dialect == Postgres {
		q = `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema()`
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("store: describe: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t, c, typ string
		if err := rows.Scan(&t, &c, &typ); err != nil {
			return nil, fmt.Errorf("store: describe: %w", err)
		}
		out = append(out, t+"."+c+" "+strings.ToLower(typ))
	}
	sort.Strings(out)
	return out, rows.Err()
}
