package keys_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/keys"
	"github.com/ferrygw/ferry/internal/store/storetest"
)

// TestReservedNames: a reserved name (a static key's) is refused on create
// and on rename as a NameTakenError saying whose it is; so is a managed
// key's name.
func TestReservedNames(t *testing.T) {
	ctx := context.Background()
	repo := keys.NewRepo(storetest.SQLite(t, keys.Schema()), nil)
	repo.SetReserved(map[string]string{"static-a": "a static key's name"})
	var taken *keys.NameTakenError
	if _, _, err := repo.Create(ctx, keys.Spec{Name: ptr("static-a")}); !errors.As(err, &taken) || !strings.Contains(err.Error(), "static key") {
		t.Errorf("create with a reserved name: %v, want NameTakenError", err)
	}
	if _, _, err := repo.Create(ctx, keys.Spec{Name: ptr("b")}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Update(ctx, "b", keys.Spec{Name: ptr("static-a")}); !errors.As(err, &taken) {
		t.Errorf("rename onto a reserved name: %v, want NameTakenError", err)
	}
	if _, _, err := repo.Create(ctx, keys.Spec{Name: ptr("b")}); !errors.As(err, &taken) {
		t.Errorf("a second managed b: %v, want NameTakenError", err)
	}
}

// TestReservedNamesFollowReload: SetReserved replaces the names: a name
// reserved no more is free, a newly reserved one is refused; Taken names
// the reserved names managed keys already have (by name or id).
func TestReservedNamesFollowReload(t *testing.T) {
	ctx := context.Background()
	repo := keys.NewRepo(storetest.SQLite(t, keys.Schema()), nil)
	repo.SetReserved(map[string]string{"old": "a static key's name"})
	cache := keys.NewCache(repo, nil)
	b, _, err := repo.Create(ctx, keys.Spec{Name: ptr("b")})
	if err != nil {
		t.Fatal(err)
	}
	repo.SetReserved(map[string]string{"new": "a static key's name"})
	if _, _, err := repo.Create(ctx, keys.Spec{Name: ptr("old")}); err != nil {
		t.Errorf("create with a name reserved no more: %v", err)
	}
	var taken *keys.NameTakenError
	if _, _, err := repo.Create(ctx, keys.Spec{Name: ptr("new")}); !errors.As(err, &taken) {
		t.Errorf("create with a newly reserved name: %v, want NameTakenError", err)
	}
	if err := cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	got := cache.Taken(map[string]string{"b": "", "old": "", b.ID: "", "free": ""})
	if want := []string{"b", "old", b.ID}; !slices.Equal(got, sorted(want)) {
		t.Errorf("Taken = %v, want %v", got, sorted(want))
	}
}

func sorted(s []string) []string { slices.Sort(s); return s }
