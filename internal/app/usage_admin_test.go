package app

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/store/storetest"
	"github.com/ferrygw/ferry/internal/usage"
)

// TestUsageAdminRoutesEveryRole: /admin/usage and /admin/alerts answer
// admins and viewers, refuse users with 403 permission_error and the
// unauthenticated with 401.
func TestUsageAdminRoutesEveryRole(t *testing.T) {
	dir := t.TempDir()
	g := newGatewayOpts(t, Options{Store: storetest.SQLite(t, usage.Schema)}, func(c *config.Config) {
		c.Admin.Listen = "127.0.0.1:0"
		c.AdminKey = testAdminKey
		c.DataDir = dir
		c.KeysRefresh = 100 * time.Millisecond
	})
	admin := "http://" + g.App.AdminAddr()
	keys := map[string]string{"admin": testAdminKey, "user(static)": clientKey, "none": ""}
	for _, role := range []string{"user", "viewer"} {
		st, k := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{"name": "k-" + role, "role": role})
		if st != 201 {
			t.Fatalf("create %s: %d %v", role, st, k)
		}
		keys[role] = k["key"].(string)
	}
	routes := g.App.moneyRoutes()
	if len(routes) != 2 {
		t.Fatalf("money routes: %d", len(routes))
	}
	for _, rt := range routes {
		_, path, _ := strings.Cut(rt.pattern, " ")
		for who, key := range keys {
			req, _ := http.NewRequest("GET", admin+path, nil)
			if key != "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			want := map[string]int{"admin": 200, "viewer": 200, "user": 403, "user(static)": 403, "none": 401}[who]
			if res.StatusCode != want {
				t.Errorf("GET %s by %s: %d, want %d", path, who, res.StatusCode, want)
			}
		}
	}
}
