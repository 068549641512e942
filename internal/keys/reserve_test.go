package keys_test

import (
	"context"
	"errors"
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
	repo.Reserve("a static key's name", "static-a")
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
