package keys_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/auth"
	"github.com/ferrygw/ferry/internal/keys"
	"github.com/ferrygw/ferry/internal/store"
	"github.com/ferrygw/ferry/internal/store/storetest"
	"github.com/ferrygw/ferry/internal/testkit"
)

type clock = testkit.Clock

func newClock() *clock  { return testkit.NewClock() }
func ptr[T any](v T) *T { return &v }
func ring(t *testing.T, c *keys.Cache, clk *clock) *auth.Keyring {
	t.Helper()
	k, err := auth.Build(auth.Options{Source: c, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	storetest.Both(t, func(t *testing.T, st *store.Store) {
		clk := newClock()
		repo := keys.NewRepo(st, clk.Now)
		cache := keys.NewCache(repo, nil)
		kr := ring(t, cache, clk)
		if !kr.Open() {
			t.Error("no keys yet: keyring should be open")
		}

		k, secret, err := repo.Create(ctx, keys.Spec{Name: ptr("team-a"), Team: ptr("search"), Models: ptr([]string{"claude-*"}),
			Routes: ptr([]string{"messages"}), Budgets: ptr([]auth.Budget{{Period: "daily", LimitMicros: 10_000_000, Currency: "CNY"}}),
			ExpiresAt: ptr(clk.Now().Add(48 * time.Hour).Format(time.RFC3339))})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "fy-") || len(secret) != 3+43 || k.Prefix != secret[:10] {
			t.Errorf("secret %q (len %d), prefix %q", secret, len(secret), k.Prefix)
		}
		var stored int
		st.QueryRow(ctx, nil, `SELECT COUNT(*) FROM gateway_keys WHERE hash = ? OR prefix = ? AND hash <> ?`, secret, secret, "").Scan(&stored)
		if stored != 0 {
			t.Error("the key itself is stored")
		}
		if err := cache.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		id, err := kr.Identify(secret)
		if err != nil || id.Name != "team-a" || id.Team != "search" || id.Role != auth.RoleUser || len(id.Budgets) != 1 {
			t.Fatalf("Identify = %+v, %v", id, err)
		}
		if err := id.AllowModel("claude-sonnet-4-5"); err != nil {
			t.Error(err)
		}
		if err := id.AllowModel("gpt-4o"); err == nil || !strings.Contains(err.Error(), `model "gpt-4o" is outside this key's scopes`) || strings.Contains(err.Error(), secret) {
			t.Errorf("AllowModel(gpt-4o) = %v", err)
		}
		if err := id.AllowRoute("chat_completions"); err == nil || !strings.Contains(err.Error(), `route "chat_completions"`) {
			t.Errorf("AllowRoute(chat) = %v", err)
		}

		// Update: scopes widen, name changes; both found by the cache after refresh.
		k, err = repo.Update(ctx, "team-a", keys.Spec{Name: ptr("team-b"), Models: ptr([]string{}), Role: ptr(auth.RoleViewer)})
		if err != nil || k.Name != "team-b" || len(k.Models) != 0 || k.Team != "search" {
			t.Fatalf("Update = %+v, %v", k, err)
		}
		cache.Refresh(ctx)
		id, _ = kr.Identify(secret)
		if id.Name != "team-b" || id.Role != auth.RoleViewer {
			t.Errorf("after update: %+v", id)
		}
		if err := id.AllowRoute("messages"); err == nil || !strings.Contains(err.Error(), "role (viewer)") {
			t.Errorf("viewer calling a model: %v", err)
		}

		// Rotate with a grace: both keys work until it ends.
		_, fresh, err := repo.Rotate(ctx, k.ID, time.Hour, false)
		if err != nil || fresh == secret {
			t.Fatalf("Rotate: %v", err)
		}
		cache.Refresh(ctx)
		for _, s := range []string{secret, fresh} {
			if _, err := kr.Identify(s); err != nil {
				t.Errorf("within grace: %v", err)
			}
		}
		clk.Advance(time.Hour)
		if _, err := kr.Identify(secret); !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("old key after grace: %v, want ErrInvalid", err)
		}
		if _, err := kr.Identify(fresh); err != nil {
			t.Errorf("new key after grace: %v", err)
		}

		// Expiry, then disable, then revoke.
		clk.Advance(47 * time.Hour)
		if _, err := kr.Identify(fresh); !errors.Is(err, auth.ErrExpired) {
			t.Errorf("expired: %v", err)
		}
		repo.Update(ctx, k.ID, keys.Spec{ExpiresAt: ptr(""), Enabled: ptr(false)})
		cache.Refresh(ctx)
		if _, err := kr.Identify(fresh); !errors.Is(err, auth.ErrDisabled) {
			t.Errorf("disabled: %v", err)
		}
		k, err = repo.Revoke(ctx, k.ID)
		if err != nil || k.Status(clk.Now()) != "revoked" {
			t.Fatalf("Revoke = %v, %v", k.Status(clk.Now()), err)
		}
		cache.Refresh(ctx)
		if _, err := kr.Identify(fresh); !errors.Is(err, auth.ErrRevoked) {
			t.Errorf("revoked: %v", err)
		}
		if _, _, err := repo.Rotate(ctx, k.ID, 0, false); err == nil {
			t.Error("rotating a revoked key succeeded")
		}
		if _, err := repo.Get(ctx, "nope"); !errors.Is(err, keys.ErrNotFound) {
			t.Errorf("Get(nope) = %v", err)
		}
		list, _ := repo.List(ctx)
		if len(list) != 1 || kr.Open() {
			t.Errorf("List has %d keys; Open = %v", len(list), kr.Open())
		}
	}, keys.Schema())
}

func TestSpecValidation(t *testing.T) {
	ctx := context.Background()
	repo := keys.NewRepo(storetest.SQLite(t, keys.Schema()), nil)
	tests := []struct {
		spec keys.Spec
		want string
	}{
		{keys.Spec{}, "name: required"},
		{keys.Spec{Name: ptr("bad name")}, "name: "},
		{keys.Spec{Name: ptr("a"), Role: ptr(auth.Role("root"))}, `role: "root"`},
		{keys.Spec{Name: ptr("a"), Routes: ptr([]string{"admin"})}, `routes: "admin"`},
		{keys.Spec{Name: ptr("a"), ExpiresAt: ptr("tomorrow")}, "expires_at"},
		{keys.Spec{Name: ptr("a"), Budgets: ptr([]auth.Budget{{Period: "hourly", Currency: "CNY", LimitMicros: 1}})}, "budgets[0]: period"},
		{keys.Spec{Name: ptr("a"), Limits: ptr(auth.Limits{RequestsPerMinute: -1})}, "limits"},
	}
	for _, tt := range tests {
		_, _, err := repo.Create(ctx, tt.spec)
		var inv *keys.InvalidError
		if !errors.As(err, &inv) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Create(%+v) = %v, want InvalidError with %q", tt.spec, err, tt.want)
		}
	}
	// /v1/completions (OpenAI's legacy API) is a route a key may be scoped to.
	if _, _, err := repo.Create(ctx, keys.Spec{Name: ptr("legacy"), Routes: ptr([]string{"completions"})}); err != nil {
		t.Errorf("routes [completions]: %v", err)
	}
	repo.Create(ctx, keys.Spec{Name: ptr("a")})
	if _, _, err := repo.Create(ctx, keys.Spec{Name: ptr("a")}); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Errorf("duplicate name: %v", err)
	}
}

// TestRevocationAcrossInstances: two instances share one PostgreSQL; a
// key revoked through one is refused by the other within its poll interval.
func TestRevocationAcrossInstances(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u := storetest.PostgresURL(t)
	a := keys.NewRepo(storetest.Open(t, u, keys.Schema()), nil)
	b := keys.NewCache(keys.NewRepo(storetest.Open(t, u, keys.Schema()), nil), nil)
	kb, _ := auth.Build(auth.Options{Source: b})
	_, secret, err := a.Create(ctx, keys.Spec{Name: ptr("shared")})
	if err != nil {
		t.Fatal(err)
	}
	go b.Run(ctx, 50*time.Millisecond)
	waitFor(t, func() bool { _, err := kb.Identify(secret); return err == nil })
	if _, err := a.Revoke(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, func() bool { _, err := kb.Identify(secret); return errors.Is(err, auth.ErrRevoked) })
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("revocation took %v on the other instance", d)
	}
}

func waitFor(t *testing.T, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCacheServesWithoutStore: lookups, known or unknown, never touch the
// store: they keep working after it is closed.
func TestCacheServesWithoutStore(t *testing.T) {
	ctx := context.Background()
	st := storetest.SQLite(t, keys.Schema())
	repo := keys.NewRepo(st, nil)
	_, secret, _ := repo.Create(ctx, keys.Spec{Name: ptr("k")})
	c := keys.NewCache(repo, nil)
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	kr, _ := auth.Build(auth.Options{Source: c})
	if _, err := kr.Identify(secret); err != nil {
		t.Errorf("known key with the store closed: %v", err)
	}
	if _, err := kr.Identify("fy-unknown"); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("unknown key: %v", err)
	}
	if err := c.Refresh(ctx); err == nil {
		t.Error("Refresh on a closed store succeeded")
	}
	if _, err := kr.Identify(secret); err != nil {
		t.Errorf("after a failed refresh the last set must serve: %v", err)
	}
}

func TestSchemaFromEveryVersion(t *testing.T) {
	ctx := context.Background()
	storetest.Both(t, func(t *testing.T, fresh *store.Store) {
		want, _ := fresh.Describe(ctx)
		for from := 0; from < keys.Schema().Latest(); from++ {
			s := storetest.SQLite(t)
			if fresh.Dialect() == store.Postgres {
				s = storetest.Postgres(t)
			}
			if err := s.MigrateTo(ctx, keys.Schema(), from); err != nil {
				t.Fatal(err)
			}
			if from >= 1 { // a key as version 1 wrote it
				if _, err := s.Exec(ctx, nil, `INSERT INTO gateway_keys (id, name, prefix, hash, role, created_at, updated_at)
					VALUES ('key_old', 'old', 'fy-old', 'abc', 'user', 1, 1)`); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Migrate(ctx, keys.Schema()); err != nil {
				t.Fatalf("from %d: %v", from, err)
			}
			got, _ := s.Describe(ctx)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("from %d (-fresh +upgraded):\n%s", from, d)
			}
			if from >= 1 {
				if _, err := keys.NewRepo(s, nil).Get(ctx, "old"); err != nil {
					t.Errorf("from %d: key lost: %v", from, err)
				}
			}
		}
	}, keys.Schema())
}

func BenchmarkIdentifyCached(b *testing.B) {
	ctx := context.Background()
	repo := keys.NewRepo(storetest.SQLite(b, keys.Schema()), nil)
	var secret string
	for i := range 1000 {
		_, s, err := repo.Create(ctx, keys.Spec{Name: ptr(fmt.Sprintf("k%d", i))})
		if err != nil {
			b.Fatal(err)
		}
		secret = s
	}
	c := keys.NewCache(repo, nil)
	if err := c.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	kr, _ := auth.Build(auth.Options{Keys: nil, Source: c})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := kr.Identify(secret); err != nil {
			b.Fatal(err)
		}
	}
}
