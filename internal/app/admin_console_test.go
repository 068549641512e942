package app

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/store/storetest"
	"github.com/ferrygw/ferry/internal/usage"
)

// consoleGateway has the admin API and a store (keysGateway), a route with
// a canary between two simulators, and a provider whose secrets and
// headers /admin/config must mask.
func consoleGateway(t *testing.T) *gateway {
	t.Helper()
	ledger := Options{Store: storetest.SQLite(t, usage.Schema)} // the usage ledger, for the usage page
	return keysGatewayOpts(t, ledger, "", func(c *config.Config) {
		for i := range c.Providers {
			if c.Providers[i].Name == "sim" { // answers like a model: first token, then text
				c.Providers[i].Simulator = config.Simulator{FirstToken: 25 * time.Millisecond, TokensPerSecond: 400}
			}
		}
		c.Providers = append(c.Providers,
			config.Provider{Name: "sim-b", Type: config.TypeSimulator, Simulator: config.Simulator{FirstToken: 60 * time.Millisecond, TokensPerSecond: 200}},
			config.Provider{Name: "sim-down", Type: config.TypeSimulator, Simulator: config.Simulator{Errors: config.SimErrors{APIError: 1}}},
			config.Provider{Name: "relay-x", Type: config.TypeAnthropic,
				BaseURLs: []string{"https://relay.example/v1"},
				APIKey:   "sk-relay-secret-2", Headers: map[string]string{"X-Relay-Auth": "tok-secret-3"}})
		c.Routes = append(c.Routes, config.Route{Match: "canary-*", Models: []string{"canary-1"}, Targets: []config.Target{
			{Provider: "sim", Weight: 90}, {Provider: "sim-b", Weight: 10, Canary: true}}},
			config.Route{Match: "fallback-*", Models: []string{"fallback-1"}, Targets: []config.Target{{Provider: "sim-down"}, {Provider: "sim"}}})
		// Priced simulator traffic, and budgets for GET /admin/budgets and
		// the console's budget bars: one per key (a row per key seen), one
		// for the provider sim.
		c.Usage.Prices = append(c.Usage.Prices, config.Price{Provider: "sim", Model: "sim-1", Currency: "CNY", Input: "1000", Output: "1000"})
		c.Usage.Budgets = append(c.Usage.Budgets,
			config.Budget{Name: "per-key-daily", Scope: "key", Period: "daily", Currency: "CNY", Limit: "1000"},
			config.Budget{Name: "sim-monthly", Scope: "provider", Match: "sim", Period: "monthly", Currency: "CNY", Limit: "5000"},
			config.Budget{Name: "idle-weekly", Scope: "model", Match: "no-traffic", Period: "weekly", Currency: "USD", Limit: "10"})
	})
}

// adminGET GETs path on g's admin listener (adminGateway.do).
func adminGET(t *testing.T, g *gateway, path, key string) (int, []byte) {
	t.Helper()
	return (&adminGateway{gateway: g, admin: "http://" + g.App.AdminAddr()}).do(t, "GET", path, key)
}

// getJSON GETs path on g's admin listener with key as a bearer token, and
// decodes the body into v (when not nil).
func getJSON(t *testing.T, g *gateway, path, key string, v any) int {
	t.Helper()
	status, raw := adminGET(t, g, path, key)
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, raw)
		}
	}
	return status
}

func TestAdminStatsCountsTraffic(t *testing.T) {
	g := consoleGateway(t)
	for range 3 {
		if st, _ := call(t, "POST", g.URL+"/v1/messages", clientKey, simBody("sim-1")); st != 200 {
			t.Fatalf("request: %d", st)
		}
	}
	call(t, "POST", g.URL+"/v1/messages", clientKey, simBody("no-such-model")) // a 404: counted, not an error
	if st, _ := call(t, "POST", g.URL+"/v1/messages", clientKey, simBody("fallback-1")); st != 200 {
		t.Fatalf("fallback: %d", st)
	}
	stream := simBody("sim-1")
	stream["stream"] = true
	call(t, "POST", g.URL+"/v1/messages", clientKey, stream)  // its first token comes after 25 ms
	if res, err := http.Get(g.URL + "/healthz"); err == nil { // not counted
		res.Body.Close()
	}
	var snap struct {
		Total  uint64 `json:"total_requests"`
		Errors uint64 `json:"total_errors"`
		Series []struct {
			Requests int `json:"requests"`
		} `json:"series"`
		Window int `json:"window_seconds"`
		Minute struct {
			TTFT *float64 `json:"ttft_p50_ms"`
		} `json:"last_minute"`
		Retried []struct {
			Attempts []string `json:"attempts"`
		} `json:"recent_retries"`
	}
	if st := getJSON(t, g, "/admin/stats?window=30", testAdminKey, &snap); st != 200 {
		t.Fatalf("GET /admin/stats: %d", st)
	}
	if snap.Total != 6 || snap.Errors != 0 || snap.Window != 30 || len(snap.Series) != 30 {
		t.Errorf("stats = total %d errors %d window %d series %d; want 6 0 30 30", snap.Total, snap.Errors, snap.Window, len(snap.Series))
	}
	if len(snap.Retried) != 1 || len(snap.Retried[0].Attempts) < 2 || !strings.HasPrefix(snap.Retried[0].Attempts[0], "sim-down@") ||
		!strings.HasPrefix(snap.Retried[0].Attempts[len(snap.Retried[0].Attempts)-1], "sim@") {
		t.Errorf("recent retries = %+v, want the fallback from sim-down to sim", snap.Retried)
	}
	// The stream's first token, not its first byte (message_start goes out at once).
	if snap.Minute.TTFT == nil || *snap.Minute.TTFT < 25 {
		t.Errorf("time to first token p50 = %v, want >= 25 ms", snap.Minute.TTFT)
	}
	if st := getJSON(t, g, "/admin/stats", "", nil); st != http.StatusUnauthorized {
		t.Errorf("GET /admin/stats without a key: %d, want 401", st)
	}
	if st := getJSON(t, g, "/admin/stats?window=x", testAdminKey, nil); st != http.StatusBadRequest {
		t.Errorf("GET /admin/stats?window=x: %d, want 400", st)
	}
}

func TestAdminConfigMasksSecrets(t *testing.T) {
	g := consoleGateway(t)
	status, raw := adminGET(t, g, "/admin/config", testAdminKey)
	body := string(raw)
	if status != 200 {
		t.Fatalf("GET /admin/config: %d %s", status, raw)
	}
	for _, secret := range []string{testAdminKey, clientKey, providerKey, "sk-relay-secret-2", "tok-secret-3"} {
		if strings.Contains(body, secret) {
			t.Errorf("/admin/config shows the secret %q", secret)
		}
	}
	for _, want := range []string{`"admin_key": "***"`, `"api_key": "***"`, `"X-Relay-Auth": "***"`,
		`https://relay.example/v1`, `"match": "canary-*"`, `"last_reload": null`} {
		if !strings.Contains(body, want) {
			t.Errorf("/admin/config lacks %s", want)
		}
	}
	if !strings.Contains(body, `"body_timeout": "30s"`) && !strings.Contains(body, `"body_timeout": "`) {
		t.Errorf("durations are not written as text: %s", body)
	}
}

func TestConsoleAssetsServed(t *testing.T) {
	g := consoleGateway(t)
	admin := "http://" + g.App.AdminAddr()
	for path, want := range map[string]string{
		"/console/":         "text/html",
		"/console/app.js":   "javascript",
		"/console/pages.js": "javascript",
		"/console/app.css":  "text/css",
	} {
		res, err := http.Get(admin + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), want) {
			t.Errorf("GET %s: %d %q, want 200 %s", path, res.StatusCode, res.Header.Get("Content-Type"), want)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
	}
}

func TestMaskURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:pw@h.example/x?access_token=abc&x=1": "https://u:***@h.example/x?access_token=***&x=***",
		"https://h.example/v1":                          "https://h.example/v1",
		"claude-*":                                      "claude-*",
		"postgres://ferry:pw@db:5432/ferry":             "postgres://ferry:***@db:5432/ferry",
	} {
		if got := maskURL(in); got != want {
			t.Errorf("maskURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAdminBudgetsAfterTraffic: GET /admin/budgets answers every configured
// budget with its spend in the current period, read from the SQLite store
// after priced traffic; viewers may read it.
func TestAdminBudgetsAfterTraffic(t *testing.T) {
	g := consoleGateway(t)
	// A managed key with a budget of its own, used once.
	admin := "http://" + g.App.AdminAddr()
	st, made := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{"name": "budgeted",
		"budgets": []map[string]any{{"period": "daily", "limit_micros": 20_000_000, "currency": "CNY"}}})
	if st != 201 {
		t.Fatalf("create a key: %d %v", st, made)
	}
	for _, key := range []string{clientKey, clientKey, clientKey, made["key"].(string)} {
		if st, _ := call(t, "POST", g.URL+"/v1/messages", key, simBody("sim-1")); st != 200 {
			t.Fatalf("request: %d", st)
		}
	}
	type row struct {
		Name, Scope, Match, Subject, Period, Currency, Limit, Spent, Reserved string
		Percent                                                               float64
		Start                                                                 string `json:"period_start"`
		End                                                                   string `json:"period_end"`
	}
	var out struct{ Budgets []row }
	// Settling happens as the answer ends: poll until the spend is there.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if st := getJSON(t, g, "/admin/budgets", testAdminKey, &out); st != 200 {
			t.Fatalf("GET /admin/budgets: %d", st)
		}
		settled := len(out.Budgets) == 5 // per-key-daily for two keys, sim-monthly, idle-weekly, the key's own
		for _, b := range out.Budgets {
			settled = settled && b.Reserved == "0.00"
		}
		if settled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("budgets = %+v", out.Budgets)
		}
		time.Sleep(20 * time.Millisecond)
	}
	by := map[string]row{}
	for _, b := range out.Budgets {
		by[b.Name] = b
	}
	own := by["key budgeted daily"]
	if own.Scope != "key" || own.Match != "budgeted" || own.Limit != "20.00" || own.Spent == "0.00" || own.Currency != "CNY" {
		t.Errorf("the managed key's own budget = %+v", own)
	}
	key, sim, idle := by["per-key-daily"], by["sim-monthly"], by["idle-weekly"]
	for _, b := range out.Budgets {
		if b.Name == "per-key-daily" && b.Subject != "budgeted" {
			key = b // the static key's row
		}
	}
	if key.Scope != "key" || key.Match != "" || key.Subject == "" || key.Period != "daily" || key.Limit != "1000.00" || key.Spent == "0.00" {
		t.Errorf("per-key budget = %+v", key)
	}
	if sim.Scope != "provider" || sim.Match != "sim" || sim.Currency != "CNY" || sim.Spent == "0.00" || sim.Percent <= 0 {
		t.Errorf("provider budget = %+v (the key's spent %s)", sim, key.Spent)
	}
	if idle.Spent != "0.00" || idle.Currency != "USD" || idle.Period != "weekly" || idle.Percent != 0 {
		t.Errorf("idle budget = %+v", idle)
	}
	start, err1 := time.Parse(time.RFC3339, key.Start)
	end, err2 := time.Parse(time.RFC3339, key.End)
	if err1 != nil || err2 != nil || end.Sub(start) != 24*time.Hour || time.Now().Before(start) || !time.Now().Before(end) {
		t.Errorf("per-key period %s .. %s", key.Start, key.End)
	}
	ms, _ := time.Parse(time.RFC3339, sim.Start)
	if ms.Day() != 1 {
		t.Errorf("monthly period starts %s", sim.Start)
	}
	if st := getJSON(t, g, "/admin/budgets", "", nil); st != http.StatusUnauthorized {
		t.Errorf("without a key: %d, want 401", st)
	}
}
