package auth

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
)

type fakeSource map[[sha256.Size]byte]*Identity

func (f fakeSource) Lookup(d [sha256.Size]byte, _ time.Time) *Identity { return f[d] }
func (f fakeSource) Empty() bool                                       { return len(f) == 0 }

func TestBuildAdminKeyAndSource(t *testing.T) {
	src := fakeSource{}
	k, err := Build(Options{Keys: []config.Key{{Name: "static", Key: "sk-static-0123456789abcdef"}}, AdminKey: "fy-admin-0123456789abcdef", Source: src})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := k.Identify("fy-admin-0123456789abcdef"); err != nil || id.Role != RoleAdmin || id.Name != AdminKeyName {
		t.Errorf("admin key: %+v %v", id, err)
	}
	if id, err := k.Identify("sk-static-0123456789abcdef"); err != nil || id.Role != RoleUser {
		t.Errorf("static key: %+v %v", id, err)
	}
	if _, err := Build(Options{Keys: []config.Key{{Name: "s", Key: "same-key-0123456789abcd"}}, AdminKey: "same-key-0123456789abcd"}); err == nil ||
		!strings.Contains(err.Error(), `admin_key is the same key as "s"`) {
		t.Errorf("admin key equal to a static key: %v", err)
	}
	// Open only with no key of any kind.
	empty, _ := Build(Options{Source: src})
	if !empty.Open() {
		t.Error("no keys: want open")
	}
	src[Digest("fy-managed")] = &Identity{Name: "m", Role: RoleViewer, Revoked: true}
	if empty.Open() {
		t.Error("a managed key (even revoked) exists: want closed")
	}
	if _, err := empty.Identify("fy-managed"); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked: %v", err)
	}
}

func TestRolesAndScopes(t *testing.T) {
	tests := []struct {
		role       Role
		need       Role
		wantAllows bool
	}{
		{RoleAdmin, RoleAdmin, true}, {RoleAdmin, RoleViewer, true}, {RoleAdmin, RoleUser, true},
		{RoleViewer, RoleViewer, true}, {RoleViewer, RoleUser, false}, {RoleViewer, RoleAdmin, false},
		{RoleUser, RoleUser, true}, {RoleUser, RoleViewer, false}, {RoleUser, RoleAdmin, false},
	}
	for _, tt := range tests {
		if got := tt.role.Allows(tt.need); got != tt.wantAllows {
			t.Errorf("%s.Allows(%s) = %v", tt.role, tt.need, got)
		}
	}
	id := &Identity{Role: RoleUser, Models: []string{"claude-*", "glm-4.6"}, Routes: []string{"messages"}}
	for model, ok := range map[string]bool{"claude-sonnet-4-5": true, "glm-4.6": true, "glm-4.6-air": false, "gpt-4o": false} {
		err := id.AllowModel(model)
		if (err == nil) != ok {
			t.Errorf("AllowModel(%q) = %v", model, err)
		}
		var e *apierr.Error
		if err != nil && (!errors.As(err, &e) || e.Kind != apierr.Permission) {
			t.Errorf("AllowModel(%q): %v is not a permission error", model, err)
		}
	}
	if err := id.AllowRoute("count_tokens"); err == nil || !strings.Contains(err.Error(), `route "count_tokens" is outside this key's scopes (routes: messages)`) {
		t.Errorf("AllowRoute: %v", err)
	}
	if !MatchModel([]string{"*"}, "anything") {
		t.Error(`"*" must match every model`)
	}
}
