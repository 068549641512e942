package app

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

// withRoutes is a copy of cfg with routes (and providers, when given)
// replaced, defaulted.
func withRoutes(cfg *config.Config, providers []config.Provider, routes ...config.Route) *config.Config {
	c := *cfg
	if providers != nil {
		c.Providers = providers
	}
	c.Routes = routes
	c.ApplyDefaults()
	return &c
}

func simRoute(match string) config.Route {
	return config.Route{Match: match, Targets: []config.Target{{Provider: "sim"}}}
}

// sendModel posts a small Messages request for model and returns the status
// (0 with the error when there was no answer).
func sendModel(hc *http.Client, url, model string, stream bool) (int, error) {
	body := fmt.Sprintf(`{"model":%q,"max_tokens":16,"stream":%t,"messages":[{"role":"user","content":"hi"}]}`, model, stream)
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/messages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", clientKey)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if stream && !strings.Contains(string(b), "event: message_stop") {
		return 0, fmt.Errorf("stream without message_stop: %.200s", b)
	}
	return resp.StatusCode, nil
}

func TestReloadUnderLoadFailsNoRequest(t *testing.T) {
	slow := config.Provider{Name: "slow", Type: config.TypeSimulator, Simulator: config.Simulator{FirstToken: 400 * time.Millisecond}}
	g := newGateway(t, func(c *config.Config) {
		c.Providers = append(c.Providers, slow)
		c.Routes = append(c.Routes, config.Route{Match: "slow-1", Targets: []config.Target{{Provider: "slow"}}})
	})
	base := g.App.current().cfg
	poolsBefore := g.App.current().relay.Pools()

	// A slow request starts on the first config; the reloads below remove
	// its route and provider, and it still finishes on the config it
	// started with.
	slowDone := sendAsync(g, "slow-1", false)
	l := startLoad(g, 8)
	time.Sleep(100 * time.Millisecond) // the slow request is in flight, the load running
	sim := slices.DeleteFunc(slices.Clone(base.Providers), func(p config.Provider) bool { return p.Name == "slow" })
	for n := 1; n <= 3; n++ {
		routes := append(slices.Clone(base.Routes[:3]), simRoute(fmt.Sprintf("extra-%d", n)))
		if err := g.App.Reload(withRoutes(base, sim, routes...)); err != nil {
			t.Fatalf("reload %d: %v", n, err)
		}
		// The new route answers at once; the one it replaced is gone.
		if code, err := sendModel(g.HTTP, g.URL, fmt.Sprintf("extra-%d", n), false); code != 200 {
			t.Errorf("reload %d: the new route: %d %v", n, code, err)
		}
		if n > 1 {
			if code, _ := sendModel(g.HTTP, g.URL, fmt.Sprintf("extra-%d", n-1), false); code == 200 {
				t.Errorf("reload %d: the removed route extra-%d still answers", n, n-1)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	l.end(t, 50)
	if err := <-slowDone; err != nil {
		t.Errorf("the in-flight request on the old config: %v", err)
	}
	if code, _ := sendModel(g.HTTP, g.URL, "slow-1", false); code == 200 {
		t.Error("slow-1 answers after its route was removed")
	}
	// Unchanged providers kept their pools (and so their breakers).
	after := g.App.current().relay.Pools()
	for _, p := range poolsBefore {
		if p.Snapshot().Provider == "slow" {
			continue
		}
		if !slices.Contains(after, p) {
			t.Errorf("provider %s: a new pool after reloads that did not change it", p.Snapshot().Provider)
		}
	}
}

func TestReloadRefusesBadConfig(t *testing.T) {
	g := newGateway(t)
	before := g.App.current()
	base := before.cfg
	undefined := withRoutes(base, nil, config.Route{Match: "x", Targets: []config.Target{{Provider: "nope"}}})
	listen := withRoutes(base, nil, base.Routes...)
	listen.Listen = "127.0.0.1:1"
	for name, cfg := range map[string]*config.Config{"invalid": undefined, "restart-only section": listen} {
		if err := g.App.Reload(cfg); err == nil {
			t.Errorf("%s: reload accepted", name)
		}
		if g.App.current() != before {
			t.Fatalf("%s: the generation changed", name)
		}
	}
	if !strings.Contains(g.Logs.String(), "reload refused") {
		t.Error("no log line for the refusal")
	}
	if code, err := sendModel(g.HTTP, g.URL, "sim-1", false); code != 200 {
		t.Errorf("after refusals: %d %v", code, err)
	}
}

const reloadYAML = `listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0, token: %s}
keys: [{name: t, key: %s}]
providers: [{name: sim, type: simulator}]
routes:
  - {match: %s, targets: [{provider: sim}]}
`

// fileApp runs a gateway from a config file, which reloads re-read.
func fileApp(t *testing.T, path string) *App {
	t.Helper()
	loaded, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return newGatewayOpts(t, Options{ConfigPath: path}, func(c *config.Config) { *c = *loaded }).App
}

func TestReloadFromFileAdminAndWatch(t *testing.T) {
	const token = "admin-token-for-reload-test"
	path := filepath.Join(t.TempDir(), "ferry.yaml")
	write := func(route string) {
		if err := os.WriteFile(path, fmt.Appendf(nil, reloadYAML, token, clientKey, route), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("model-a")
	a := fileApp(t, path)
	url, hc := "http://"+a.Addr(), &http.Client{}
	adminPost := func(tok string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+a.AdminAddr()+"/admin/reload", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Through the admin API: the new file's route answers.
	write("model-b")
	if code := adminPost(token); code != 200 {
		t.Fatalf("POST /admin/reload: %d", code)
	}
	if code, err := sendModel(hc, url, "model-b", false); code != 200 {
		t.Fatalf("model-b after the admin reload: %d %v", code, err)
	}
	// A broken file is refused (409) and the old config stays.
	os.WriteFile(path, []byte("routes: [{match: x, targets: [{provider: nope}]}]\n"), 0o600)
	if code := adminPost(token); code != http.StatusConflict {
		t.Errorf("broken file: %d, want 409", code)
	}
	if code, _ := sendModel(hc, url, "model-b", false); code != 200 {
		t.Errorf("model-b after a refused reload: %d", code)
	}
	// A changed modification time: the watcher reloads.
	write("model-c")
	watchFile(t, a, path)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if code, _ := sendModel(hc, url, "model-c", false); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watcher did not reload the changed file")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAdminReloadWithoutConfigFile(t *testing.T) {
	g := newGateway(t)
	if err := g.App.ReloadFile(); err != ErrNoConfigFile {
		t.Errorf("ReloadFile = %v, want ErrNoConfigFile", err)
	}
}

func TestReloadKeepsOnlyUnchangedPools(t *testing.T) {
	g := newGateway(t)
	base := g.App.current().cfg
	pools := func() map[string]any {
		out := map[string]any{}
		for _, p := range g.App.current().relay.Pools() {
			out[p.Snapshot().Provider] = p
		}
		return out
	}
	before := pools()
	providers := slices.Clone(base.Providers)
	for i := range providers {
		if providers[i].Name == "sim" {
			providers[i].Simulator.Text = "changed"
		}
	}
	if err := g.App.Reload(withRoutes(base, providers, base.Routes...)); err != nil {
		t.Fatal(err)
	}
	after := pools()
	if after["anthropic-hk"] != before["anthropic-hk"] {
		t.Error("anthropic-hk, unchanged, got a new pool")
	}
	if after["sim"] == before["sim"] {
		t.Error("sim, changed, kept its old pool")
	}
}
