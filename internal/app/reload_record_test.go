package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

// TestLastReloadInAdminConfig: GET /admin/config answers null before any
// reload, then the last reload's time, source and result: an admin reload,
// a refused one (its reason, never the config's text), a SIGHUP's and the
// file watcher's.
func TestLastReloadInAdminConfig(t *testing.T) {
	const token = "admin-token-for-last-reload"
	path := filepath.Join(t.TempDir(), "ferry.yaml")
	write := func(route string) {
		if err := os.WriteFile(path, fmt.Appendf(nil, reloadYAML, token, clientKey, route), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("model-a")
	a := fileApp(t, path)
	admin := "http://" + a.AdminAddr()
	do := func(method, p string) (int, string) {
		req, _ := http.NewRequest(method, admin+p, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	last := func() map[string]any {
		t.Helper()
		code, body := do("GET", "/admin/config")
		if code != 200 {
			t.Fatalf("GET /admin/config: %d %s", code, body)
		}
		var v struct {
			Last map[string]any `json:"last_reload"`
		}
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		return v.Last
	}
	if l := last(); l != nil {
		t.Fatalf("last_reload before any reload = %v, want null", l)
	}
	check := func(source, resultPrefix string) {
		t.Helper()
		l := last()
		if l == nil || l["source"] != source || !strings.HasPrefix(fmt.Sprint(l["result"]), resultPrefix) {
			t.Fatalf("last_reload = %v, want source %s, result %s", l, source, resultPrefix)
		}
		at, err := time.Parse(time.RFC3339, fmt.Sprint(l["at"]))
		if err != nil || time.Since(at) > time.Minute {
			t.Errorf("last_reload at = %v (%v)", l["at"], err)
		}
	}
	write("model-b")
	if code, body := do("POST", "/admin/reload"); code != 200 {
		t.Fatalf("POST /admin/reload: %d %s", code, body)
	}
	check(ReloadByAdmin, "ok")
	// A file that does not validate, holding a secret-like value: the
	// reason is recorded, the file's text is not.
	const leak = "sk-must-not-appear-in-admin-config"
	os.WriteFile(path, []byte("keys: [{name: t, key: "+leak+"}]\nroutes: [{match: x, targets: [{provider: nope}]}]\n"), 0o600)
	if code, _ := do("POST", "/admin/reload"); code != http.StatusConflict {
		t.Fatalf("broken file: %d, want 409", code)
	}
	check(ReloadByAdmin, "refused: the config does not validate")
	if _, body := do("GET", "/admin/config"); strings.Contains(body, leak) || strings.Contains(body, "nope") {
		t.Errorf("/admin/config quotes the refused file: %s", body)
	}
	// A change of a restart-only section: refused, naming it.
	os.WriteFile(path, fmt.Appendf(fmt.Appendf(nil, reloadYAML, token, clientKey, "model-b"), "shadow: {queue: 7}\n"), 0o600)
	a.ReloadFile() // as SIGHUP does
	check(ReloadBySignal, refusedRestart+"shadow")
	// The watcher.
	write("model-c")
	watchFile(t, a, path)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if l := last(); l["source"] == ReloadByFile {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watcher's reload was not recorded")
		}
		time.Sleep(10 * time.Millisecond)
	}
	check(ReloadByFile, "ok")
}

// TestLoadedAtFollowsReload: GET /admin/config's loaded_at is when the
// serving config was loaded: a reload's time after a reload, not the
// start's.
func TestLoadedAtFollowsReload(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.Admin.Listen = "127.0.0.1:0" })
	loadedAt := func() time.Time {
		t.Helper()
		st, body := call(t, "GET", "http://"+g.App.AdminAddr()+"/admin/config", "", nil)
		at, err := time.Parse(time.RFC3339, fmt.Sprint(body["loaded_at"]))
		if st != 200 || err != nil {
			t.Fatalf("GET /admin/config: %d %v (%v)", st, body, err)
		}
		return at
	}
	started := loadedAt()
	// loaded_at has seconds: reload in a later second than the start.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))
	reloaded := time.Now().Truncate(time.Second)
	cfg := g.App.current().cfg
	if err := g.App.Reload(withRoutes(cfg, nil, append(cfg.Routes, simRoute("extra-*"))...)); err != nil {
		t.Fatal(err)
	}
	if at := loadedAt(); at.Before(reloaded) || !at.After(started) {
		t.Errorf("loaded_at after a reload = %v, want the reload's time (%v or later), not the start's (%v)", at, reloaded, started)
	}
}
