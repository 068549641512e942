// Package storetest opens real, throw-away stores for tests: SQLite in a
// temporary directory, and PostgreSQL at 127.0.0.1:5432 (database test, or
// FERRY_TEST_POSTGRES) in a fresh schema dropped when the test ends.
//
// Without PostgreSQL the tests needing it skip, except under CI=true, where
// they fail: CI must never pass by skipping.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/store"
)

// DefaultPostgres is the test database's URL when FERRY_TEST_POSTGRES is unset.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// SQLite opens a store in a fresh temporary directory, migrated with sets.
func SQLite(t testing.TB, sets ...store.Set) *store.Store {
	t.Helper()
	return open(t, store.Options{DataDir: t.TempDir()}, sets)
}

// PostgresURL creates a fresh schema and returns a URL whose connections
// use it; the schema is dropped at cleanup. Several stores opened on the
// URL share the schema, as instances share a database.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("FERRY_TEST_POSTGRES")
	if base == "" {
		base = DefaultPostgres
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err == nil {
		err = admin.PingContext(ctx)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is required under CI: %v", redact(base), err)
		}
		t.Skipf("PostgreSQL unavailable (%v); set FERRY_TEST_POSTGRES", err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("FERRY_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
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

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}
