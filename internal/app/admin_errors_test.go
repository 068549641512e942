package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/store/storetest"
	"github.com/ferrygw/ferry/internal/usage"
)

// TestManagedKeyNameClash: a managed key cannot take a static key's name,
// the admin credentials' names or another managed key's: 409
// conflict_error saying why, on create and on rename.
func TestManagedKeyNameClash(t *testing.T) {
	g := keysGateway(t, "")
	admin := "http://" + g.App.AdminAddr()
	for name, want := range map[string]string{
		"team-a":    "static key",
		"admin_key": "admin credentials",
	} {
		st, body := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{"name": name})
		if typ, msg := errType(body); st != 409 || typ != "conflict_error" || !strings.Contains(msg, want) || body["type"] != "error" {
			t.Errorf("create %q: %d %v, want 409 conflict_error saying %q", name, st, body, want)
		}
	}
	if st, body := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{"name": "mine"}); st != 201 {
		t.Fatalf("create: %d %v", st, body)
	}
	st, body := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{"name": "mine"})
	if typ, _ := errType(body); st != 409 || typ != "conflict_error" {
		t.Errorf("duplicate managed name: %d %v, want 409 conflict_error", st, body)
	}
	st, body = call(t, "PATCH", admin+"/admin/keys/mine", testAdminKey, map[string]any{"name": "team-a"})
	if typ, _ := errType(body); st != 409 || typ != "conflict_error" {
		t.Errorf("rename onto a static key: %d %v, want 409 conflict_error", st, body)
	}
}

// TestAdminErrorShape: every admin handler answers errors in Anthropic's
// shape, the older ones (routes, shadow, usage) included.
func TestAdminErrorShape(t *testing.T) {
	dir := t.TempDir()
	g := newGatewayOpts(t, Options{Store: storetest.SQLite(t, usage.Schema)}, func(c *config.Config) {
		c.Admin.Listen = "127.0.0.1:0"
		c.AdminKey = testAdminKey
		c.DataDir = dir
		c.KeysRefresh = 100 * time.Millisecond
	})
	admin := "http://" + g.App.AdminAddr()
	for _, tt := range []struct {
		method, path string
		status       int
		typ          string
	}{
		{"POST", "/admin/routes/nope/promote", 404, "not_found_error"},
		{"POST", "/admin/routes/claude-%2A/rollback", 409, "conflict_error"},
		{"GET", "/admin/shadow?recent=-1", 400, "invalid_request_error"},
		{"GET", "/admin/usage?from=yesterday", 400, "invalid_request_error"},
		{"GET", "/admin/keys/nobody", 404, "not_found_error"},
	} {
		st, body := call(t, tt.method, admin+tt.path, testAdminKey, nil)
		typ, msg := errType(body)
		if st != tt.status || body["type"] != "error" || typ != tt.typ || msg == "" {
			t.Errorf("%s %s: %d %v, want %d {type:error, error:{type:%s, message}}", tt.method, tt.path, st, body, tt.status, tt.typ)
		}
	}
}

// TestAnonymousAdminLoopbackOnly: without admin.token and admin_key the
// admin API lets anonymous callers in from loopback only, whatever
// listener the request came through.
func TestAnonymousAdminLoopbackOnly(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.Admin.Listen = "127.0.0.1:0" })
	h := g.App.adminHandler()
	for remote, want := range map[string]int{"127.0.0.1:4000": 200, "[::1]:4000": 200, "192.0.2.7:4000": 401, "[2001:db8::1]:4000": 401} {
		req := httptest.NewRequest("GET", "/admin/upstreams", nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("anonymous from %s: %d %s, want %d", remote, rec.Code, rec.Body, want)
		}
		if want == 401 && !strings.Contains(rec.Body.String(), `"authentication_error"`) {
			t.Errorf("anonymous from %s: %s, want an authentication_error", remote, rec.Body)
		}
	}
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = "192.0.2.7:4000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("/metrics from afar: %d, want 200 (scrapers)", rec.Code)
	}
}

// TestReloadStaticKeyNameClash: a reload whose config names a static key
// (or an hmac.keys id) as a managed key is refused, as a managed key is
// refused a static key's name: the reason names it, in the reload's
// result and log, and nothing changes. A reload that goes through
// reserves its static names from managed keys and frees the ones it
// removed. A clash from before the reload does not block it.
func TestReloadStaticKeyNameClash(t *testing.T) {
	g := keysGateway(t, "")
	admin := "http://" + g.App.AdminAddr()
	st, body := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{"name": "bob"})
	if st != 201 {
		t.Fatalf("create: %d %v", st, body)
	}
	managedID, _ := body["id"].(string)
	withKeys := func(hmacIDs []string, ks ...config.Key) *config.Config {
		c := *g.App.current().cfg
		c.Keys = ks
		c.HMAC.Keys = nil
		for _, id := range hmacIDs {
			c.HMAC.Keys = append(c.HMAC.Keys, config.HMACKey{ID: id, Secret: "hmac-secret-0123456789abcdef0123456789"})
		}
		return &c
	}
	teamA := config.Key{Name: "team-a", Key: clientKey}
	for name, cfg := range map[string]*config.Config{
		`"bob" (a static key's name in the config file)`:        withKeys(nil, teamA, config.Key{Name: "bob", Key: "fy-static-bob-0123456789abcdef"}),
		`"` + managedID + `" (a signing key's id in hmac.keys)`: withKeys([]string{managedID}, teamA),
	} {
		before := g.App.current()
		err := g.App.Reload(cfg)
		var rr *reloadRefusal
		if !errors.As(err, &rr) || rr.reason != refusedNames+name {
			t.Errorf("reload naming a managed key %s: %v, want refused: %q", name, err, refusedNames+name)
		}
		if g.App.current() != before {
			t.Errorf("%s: the generation changed", name)
		}
		g.App.noteReload(ReloadByAdmin, err)
		if last, _ := g.App.lastReload(); last.Result != refusedNames+name {
			t.Errorf("last reload's result = %q, want %q", last.Result, refusedNames+name)
		}
	}
	if logs := g.Logs.String(); !strings.Contains(logs, "reload refused") || !strings.Contains(logs, `managed keys already have these names: \"bob\"`) {
		t.Errorf("the refusal's log does not name the clash:\n%s", logs)
	}
	// A clash from before the reload (here made by lifting the
	// reservation) is not the reload's: it does not block one.
	repo := g.App.managed.opened()
	repo.SetReserved(nil)
	if st, body := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{"name": "team-a"}); st != 201 {
		t.Fatalf("create: %d %v", st, body)
	}
	g.App.managed.reserve(g.App.current().cfg)
	if err := g.App.Reload(withKeys(nil, teamA, config.Key{Name: "erin", Key: "fy-static-erin-0123456789abcdef"})); err != nil {
		t.Errorf("a reload keeping a static name a managed key had before it: %v", err)
	}
	if err := g.App.Reload(withKeys(nil, teamA)); err != nil {
		t.Fatal(err)
	}
	// Reloaded: team-a gone, carol new. carol is kept from managed keys,
	// team-a is free for one.
	if err := g.App.Reload(withKeys(nil, config.Key{Name: "carol", Key: "fy-static-carol-0123456789abcdef"})); err != nil {
		t.Fatal(err)
	}
	st, body = call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{"name": "carol"})
	if typ, msg := errType(body); st != 409 || typ != "conflict_error" || !strings.Contains(msg, "static key") {
		t.Errorf("create a managed key named as a static key a reload added: %d %v, want 409 conflict_error", st, body)
	}
	if st, body := call(t, "PATCH", admin+"/admin/keys/team-a", testAdminKey, map[string]any{"name": "erin"}); st != 200 {
		t.Errorf("rename a managed key onto a static key's name a reload removed: %d %v, want 200", st, body)
	}
}

// TestStartWarnsStaticKeyNameClash: a start whose config names a static key
// (or an hmac.keys id) as a managed key already is does not fail (refusing
// would take the gateway down) but logs each clash with whose name it is.
func TestStartWarnsStaticKeyNameClash(t *testing.T) {
	g := keysGateway(t, "")
	if st, body := call(t, "POST", "http://"+g.App.AdminAddr()+"/admin/keys", testAdminKey, map[string]any{"name": "bob"}); st != 201 {
		t.Fatalf("create: %d %v", st, body)
	}
	cfg := *g.App.current().cfg
	cfg.Keys = append(slices.Clone(cfg.Keys), config.Key{Name: "bob", Key: "fy-static-bob-0123456789abcdef"})
	var logs bytes.Buffer
	m, err := newManaged(context.Background(), &cfg, slog.New(slog.NewTextHandler(&logs, nil)), g.App.managed.st)
	if err != nil {
		t.Fatalf("a start with a clashing static key name: %v, want it to start", err)
	}
	m.close()
	if !strings.Contains(logs.String(), "a managed key has a name the config file reserves") || !strings.Contains(logs.String(), `name=bob reserved_as="a static key's name in the config file"`) {
		t.Errorf("the start's log does not name the clash:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "team-a") {
		t.Errorf("a name no managed key has is logged:\n%s", logs.String())
	}
}
