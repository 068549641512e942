package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/store/storetest"
)

const testAdminKey = "fy-admin-0123456789abcdefghijklmnop"

// keysGateway is a gateway with the admin API on loopback, a bootstrap
// admin key and a store (SQLite in a temporary directory unless pgURL),
// changed further by more.
func keysGateway(t *testing.T, pgURL string, more ...func(*config.Config)) *gateway {
	t.Helper()
	return keysGatewayOpts(t, Options{}, pgURL, more...)
}

// keysGatewayOpts is keysGateway with app options.
func keysGatewayOpts(t *testing.T, o Options, pgURL string, more ...func(*config.Config)) *gateway {
	t.Helper()
	dir := t.TempDir()
	return newGatewayOpts(t, o, append([]func(*config.Config){func(c *config.Config) {
		c.Admin.Listen = "127.0.0.1:0"
		c.AdminKey = testAdminKey
		c.DataDir = dir
		c.Store = config.Secret(pgURL)
		c.KeysRefresh = 100 * time.Millisecond
	}}, more...)...)
}

// call makes a request and returns the status and the decoded JSON body.
func call(t *testing.T, method, url, key string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

func errType(body map[string]any) (string, string) {
	e, _ := body["error"].(map[string]any)
	typ, _ := e["type"].(string)
	msg, _ := e["message"].(string)
	return typ, msg
}

func simBody(model string) map[string]any {
	return map[string]any{"model": model, "max_tokens": 16, "messages": []any{map[string]any{"role": "user", "content": "hi"}}}
}

func TestManagedKeyLifecycleE2E(t *testing.T) {
	g := keysGateway(t, "")
	admin := "http://" + g.App.AdminAddr()

	st, k := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{
		"name": "search-team", "team": "search", "models": []string{"sim-*"}, "routes": []string{"messages"}})
	secret, _ := k["key"].(string)
	if st != 201 || !strings.HasPrefix(secret, "fy-") {
		t.Fatalf("create: %d %v", st, k)
	}
	if st, _ := call(t, "POST", g.URL+"/v1/messages", secret, simBody("sim-1")); st != 200 {
		t.Errorf("in-scope request: %d", st)
	}
	// Outside the model scope, then the route scope: 403 naming the scope, never the key.
	st, body := call(t, "POST", g.URL+"/v1/messages", secret, simBody("claude-sonnet-4-5"))
	typ, msg := errType(body)
	if st != 403 || typ != "permission_error" || !strings.Contains(msg, `model "claude-sonnet-4-5" is outside this key's scopes`) ||
		strings.Contains(msg, "search-team") || strings.Contains(msg, secret) {
		t.Errorf("model outside scope: %d %s %q", st, typ, msg)
	}
	st, body = call(t, "POST", g.URL+"/v1/chat/completions", secret, simBody("sim-1"))
	if typ, msg := errType(body); st != 403 || typ != "permission_error" || !strings.Contains(msg, `route "chat_completions"`) {
		t.Errorf("route outside scope: %d %v", st, body)
	}
	// The static key of the config file keeps working.
	if st, _ := call(t, "POST", g.URL+"/v1/messages", clientKey, simBody("sim-1")); st != 200 {
		t.Errorf("static key: %d", st)
	}

	// Rotate without grace: the old key stops at once, the new one works.
	st, k = call(t, "POST", admin+"/admin/keys/search-team/rotate", testAdminKey, map[string]any{"grace": "0s"})
	fresh, _ := k["key"].(string)
	if st != 200 || fresh == "" || fresh == secret {
		t.Fatalf("rotate: %d %v", st, k)
	}
	if st, _ := call(t, "POST", g.URL+"/v1/messages", secret, simBody("sim-1")); st != 401 {
		t.Errorf("old key after rotation: %d", st)
	}
	// Update, show, list: never the key itself.
	st, k = call(t, "PATCH", admin+"/admin/keys/search-team", testAdminKey, map[string]any{"tag": "batch"})
	if st != 200 || k["tag"] != "batch" || k["key"] != nil {
		t.Errorf("update: %d %v", st, k)
	}
	st, list := call(t, "GET", admin+"/admin/keys", testAdminKey, nil)
	raw, _ := json.Marshal(list)
	if st != 200 || strings.Contains(string(raw), fresh) || !strings.Contains(string(raw), `"status":"active"`) {
		t.Errorf("list: %d %s", st, raw)
	}
	// Revoke: refused with the reason.
	if st, _ := call(t, "POST", admin+"/admin/keys/search-team/revoke", testAdminKey, nil); st != 200 {
		t.Errorf("revoke: %d", st)
	}
	st, body = call(t, "POST", g.URL+"/v1/messages", fresh, simBody("sim-1"))
	if typ, msg := errType(body); st != 401 || typ != "authentication_error" || msg != "x-api-key has been revoked" {
		t.Errorf("revoked key: %d %s %q", st, typ, msg)
	}
	// The audit log holds every change: who, what, from where.
	st, audit := call(t, "GET", admin+"/admin/audit", testAdminKey, nil)
	entries, _ := audit["entries"].([]any)
	if st != 200 || len(entries) != 4 {
		t.Fatalf("audit: %d, %d entries: %v", st, len(entries), audit)
	}
	last := entries[0].(map[string]any)
	if last["actor"] != "admin_key" || last["action"] != "POST /admin/keys/{ref}/revoke" ||
		!strings.HasPrefix(last["remote"].(string), "127.0.0.1:") || last["status"] != 200.0 {
		t.Errorf("newest audit entry: %v", last)
	}
}

// TestAdminRoutesEveryRole checks every admin route against every role.
func TestAdminRoutesEveryRole(t *testing.T) {
	g := keysGateway(t, "")
	admin := "http://" + g.App.AdminAddr()
	roleKeys := map[string]string{"admin(bootstrap)": testAdminKey, "user(static)": clientKey, "none": "", "bad": "fy-nope"}
	for _, role := range []string{"admin", "user", "viewer"} {
		st, k := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{"name": "k-" + role, "role": role})
		if st != 201 {
			t.Fatalf("create %s: %d %v", role, st, k)
		}
		roleKeys[role] = k["key"].(string)
	}
	if st, _ := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{"name": "k-target"}); st != 201 {
		t.Fatal(st)
	}
	allowed := func(who, need string) bool {
		switch who {
		case "admin", "admin(bootstrap)":
			return true
		case "viewer":
			return need == "viewer"
		}
		return false
	}
	for _, rt := range g.App.adminRoutes() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.NewReplacer("{ref}", "k-target", "{match}", "nope").Replace(path)
		for who, key := range roleKeys {
			st, body := call(t, method, admin+path, key, map[string]any{})
			typ, _ := errType(body)
			switch {
			case who == "none" || who == "bad":
				if st != 401 || typ != "authentication_error" {
					t.Errorf("%s by %s: %d %s, want 401", rt.pattern, who, st, typ)
				}
			case allowed(who, string(rt.need)):
				if st == 401 || st == 403 {
					t.Errorf("%s by %s: %d, want allowed", rt.pattern, who, st)
				}
			default:
				if st != 403 || typ != "permission_error" {
					t.Errorf("%s by %s: %d %s, want 403 permission_error", rt.pattern, who, st, typ)
				}
			}
		}
	}
	// Viewers and admins may not call the models when they are viewers.
	st, body := call(t, "POST", g.URL+"/v1/messages", roleKeys["viewer"], simBody("sim-1"))
	if typ, _ := errType(body); st != 403 || typ != "permission_error" {
		t.Errorf("viewer calling a model: %d %v", st, body)
	}
	if st, _ := call(t, "POST", g.URL+"/v1/messages", roleKeys["admin"], simBody("sim-1")); st != 200 {
		t.Errorf("admin calling a model: %d", st)
	}
}

// TestRevocationAcrossGatewaysE2E: two gateways share one PostgreSQL; a
// key revoked through one stops working on the other within 5 s.
func TestRevocationAcrossGatewaysE2E(t *testing.T) {
	u := storetest.PostgresURL(t)
	a, b := keysGateway(t, u), keysGateway(t, u)
	st, k := call(t, "POST", "http://"+a.App.AdminAddr()+"/admin/keys", testAdminKey, map[string]any{"name": "shared"})
	if st != 201 {
		t.Fatalf("create: %d %v", st, k)
	}
	secret := k["key"].(string)
	waitUntil(t, func() bool {
		st, _ := call(t, "POST", b.URL+"/v1/messages", secret, simBody("sim-1"))
		return st == 200
	})
	call(t, "POST", "http://"+a.App.AdminAddr()+"/admin/keys/shared/revoke", testAdminKey, nil)
	start := time.Now()
	poll := func() bool {
		st, _ := call(t, "POST", b.URL+"/v1/messages", secret, simBody("sim-1"))
		return st == 401
	}
	for !poll() {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the revoked key still works on the other gateway after 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("revocation reached the other gateway after %v", time.Since(start))
}

// TestModelsListFollowsScope: /v1/models lists only what a key may use.
func TestModelsListFollowsScope(t *testing.T) {
	g := keysGateway(t, "")
	admin := "http://" + g.App.AdminAddr()
	_, k := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{"name": "scoped", "models": []string{"claude-*"}})
	ids := func(key string) []string {
		st, body := call(t, "GET", g.URL+"/v1/models", key, nil)
		if st != 200 {
			t.Fatalf("GET /v1/models: %d %v", st, body)
		}
		var out []string
		data, _ := body["data"].([]any)
		for _, m := range data {
			out = append(out, m.(map[string]any)["id"].(string))
		}
		return out
	}
	if got := ids(clientKey); !slices.Contains(got, "sim-1") {
		t.Errorf("unscoped key sees %v, want sim-1 among them", got)
	}
	if got := ids(k["key"].(string)); slices.Contains(got, "sim-1") {
		t.Errorf("key scoped to claude-* sees %v", got)
	}
	if st, _ := call(t, "GET", g.URL+"/v1/models/sim-1", k["key"].(string), nil); st != 404 {
		t.Errorf("GET /v1/models/sim-1 outside the scope: %d, want 404", st)
	}
}

// TestKeyTagIsTrafficTag: a managed key's tag is the request's traffic tag
// for the tag-scoped rate limits when the request has no tag header.
func TestKeyTagIsTrafficTag(t *testing.T) {
	dir := t.TempDir()
	g := newGateway(t, func(c *config.Config) {
		c.Admin.Listen, c.AdminKey, c.DataDir = "127.0.0.1:0", testAdminKey, dir
		c.RateLimits.TagHeader = "X-Biz-Type"
		c.RateLimits.Rules = []config.RateRule{{Scope: config.ScopeTag, Match: "batch", RPM: 1}}
	})
	_, k := call(t, "POST", "http://"+g.App.AdminAddr()+"/admin/keys", testAdminKey, map[string]any{"name": "nightly", "tag": "batch"})
	key := k["key"].(string)
	if st, _ := call(t, "POST", g.URL+"/v1/messages", key, simBody("sim-1")); st != 200 {
		t.Fatalf("first request: %d", st)
	}
	st, body := call(t, "POST", g.URL+"/v1/messages", key, simBody("sim-1"))
	if typ, _ := errType(body); st != 429 || typ != "rate_limit_error" {
		t.Errorf("second request of tag batch within the minute: %d %v", st, body)
	}
	if st, _ := call(t, "POST", g.URL+"/v1/messages", clientKey, simBody("sim-1")); st != 200 {
		t.Errorf("an untagged key: %d", st)
	}
}
