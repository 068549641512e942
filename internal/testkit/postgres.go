package testkit

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres creates a fresh schema in the PostgreSQL at [PostgresURL] and
// returns a connection string whose search_path is that schema, and the
// schema's name; the schema is dropped, with everything in it, when the
// test ends. Open the DSN with pgx (or database/sql through pgx's stdlib
// driver): unqualified table names land in the test's schema. Without
// PostgreSQL the test is skipped, or fails when CI=true.
func Postgres(t testing.TB) (dsn, schema string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, PostgresURL)
	if err != nil {
		unavailable(t, "postgres at 127.0.0.1:5432", err)
	}
	defer conn.Close(context.Background())
	schema = "t_" + uniqueName(t, 40)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, PostgresURL)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return PostgresURL + "&search_path=" + url.QueryEscape(schema), schema
}
