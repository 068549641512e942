package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/store"
	"github.com/ferrygw/ferry/internal/store/storetest"
)

var testSet = store.Set{Name: "test", Steps: []store.Migration{
	{Version: 1, Name: "things", SQL: `CREATE TABLE things (id TEXT PRIMARY KEY, n BIGINT NOT NULL)`},
	{Version: 2, Name: "things_note", SQL: `ALTER TABLE things ADD COLUMN note TEXT NOT NULL DEFAULT ''`},
	{Version: 3, Name: "others", SQL: `CREATE TABLE others (id BIGINT PRIMARY KEY); CREATE INDEX others_id ON others (id)`,
		Postgres: `CREATE TABLE others (id BIGINT PRIMARY KEY); CREATE INDEX others_id ON others USING btree (id)`},
}}

func TestMigrateFromEveryVersion(t *testing.T) {
	ctx := context.Background()
	storetest.Both(t, func(t *testing.T, fresh *store.Store) {
		if err := fresh.Migrate(ctx, testSet); err != nil {
			t.Fatal(err)
		}
		want, err := fresh.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 {
			t.Fatal("Describe found no columns")
		}
		for from := 0; from <= testSet.Latest(); from++ {
			s := reopenEmpty(t, fresh)
			if err := s.MigrateTo(ctx, testSet, from); err != nil {
				t.Fatalf("to %d: %v", from, err)
			}
			if from >= 1 {
				if _, err := s.Exec(ctx, nil, `INSERT INTO things (id, n) VALUES (?, ?)`, "a", 7); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Migrate(ctx, testSet); err != nil {
				t.Fatalf("from %d: %v", from, err)
			}
			got, _ := s.Describe(ctx)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("from version %d, schema differs (-fresh +upgraded):\n%s", from, d)
			}
			if v, _ := s.Version(ctx, "test"); v != 3 {
				t.Errorf("from %d: version %d, want 3", from, v)
			}
			if from >= 1 {
				var n int
				if err := s.QueryRow(ctx, nil, `SELECT n FROM things WHERE id = ?`, "a").Scan(&n); err != nil || n != 7 {
					t.Errorf("from %d: row lost: n=%d err=%v", from, n, err)
				}
			}
		}
	})
}

// reopenEmpty opens a new, empty store of the same engine as s.
func reopenEmpty(t *testing.T, s *store.Store) *store.Store {
	if s.Dialect() == store.Postgres {
		return storetest.Postgres(t)
	}
	return storetest.SQLite(t)
}

func TestMigrateRefusesNewerAndEdited(t *testing.T) {
	ctx := context.Background()
	storetest.Both(t, func(t *testing.T, s *store.Store) {
		older := store.Set{Name: "test", Steps: testSet.Steps[:2]}
		err := s.Migrate(ctx, older)
		if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
			t.Errorf("older binary: err = %v, want newer-than-binary refusal", err)
		}
		edited := store.Set{Name: "test", Steps: append([]store.Migration{}, testSet.Steps...)}
		edited.Steps[1].Name = "renamed"
		err = s.Migrate(ctx, edited)
		if err == nil || !strings.Contains(err.Error(), `"things_note" in the database but "renamed" here`) {
			t.Errorf("edited step: err = %v", err)
		}
	}, testSet)
}

func TestMigrateConcurrentInstances(t *testing.T) {
	ctx := context.Background()
	u := storetest.PostgresURL(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		s := storetest.Open(t, u)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Migrate(ctx, testSet)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
	s := storetest.Open(t, u)
	var n int
	if err := s.QueryRow(ctx, nil, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != 3 {
		t.Errorf("schema_migrations rows = %d (%v), want 3", n, err)
	}
}

func TestRebind(t *testing.T) {
	pg := &store.Store{}
	if got := pg.Rebind("a = ?"); got != "a = ?" {
		t.Errorf("sqlite rebind changed query: %q", got)
	}
	s := storetest.Postgres(t)
	got := s.Rebind(`SELECT '?' , x FROM t WHERE a = ? AND b = ?`)
	if want := `SELECT '?' , x FROM t WHERE a = $1 AND b = $2`; got != want {
		t.Errorf("Rebind = %q, want %q", got, want)
	}
}

func TestOpenRefusesOtherURLs(t *testing.T) {
	_, err := store.Open(context.Background(), store.Options{URL: "mysql://x"})
	if err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Errorf("err = %v", err)
	}
}
