// Package storetest opens real, throw-away stores for tests: SQLite in a
// temporary directory, and PostgreSQL at 127.0.0.1:5432 (database test) in
// a fresh schema dropped when the test ends (internal/testkit's Postgres:
// without PostgreSQL such tests skip, except under CI=true, where they fail).
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/store"
	"github.com/ferrygw/ferry/internal/testkit"
)

// SQLite opens a store in a fresh temporary directory, migrated with sets.
func SQLite(t testing.TB, sets ...store.Set) *store.Store {
	t.Helper()
	return open(t, store.Options{DataDir: t.TempDir()}, sets)
}

// PostgresURL creates a fresh schema (testkit.Postgres) and returns a URL
// whose connections use it; the schema is dropped at cleanup. Several
// stores opened on the URL share the schema, as instances share a database.
func PostgresURL(t testing.TB) string {
	t.Helper()
	dsn, _ := testkit.Postgres(t)
	return dsn
}

// Postgres opens a store in a fresh schema, migrated with sets.
func Postgres(t testing.TB, sets ...store.Set) *store.Store {
	t.Helper()
	return Open(t, PostgresURL(t), sets...)
}

// Open opens a store on a URL from PostgresURL (another instance).
func Open(t testing.TB, pgURL string, sets ...store.Set) *store.Store {
	t.Helper()
	return open(t, store.Options{URL: pgURL}, sets)
}

// Both runs f once on SQLite and once on PostgreSQL, as subtests.
func Both(t *testing.T, f func(t *testing.T, s *store.Store), sets ...store.Set) {
	t.Run("sqlite", func(t *testing.T) { f(t, SQLite(t, sets...)) })
	t.Run("postgres", func(t *testing.T) { f(t, Postgres(t, sets...)) })
}

func open(t testing.TB, o store.Options, sets []store.Set) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := store.Open(ctx, o)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx, sets...); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}
