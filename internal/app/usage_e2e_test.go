package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/store/storetest"
	"github.com/ferrygw/ferry/internal/usage"
)

// TestUsageBudgetAndLedgerE2E: through the gateway, a key's spent daily
// budget refuses the next request with 429 rate_limit_error naming the
// budget and a retry-after; after shutdown (Run's context ended, as SIGTERM
// does) both requests are in the ledger with their cost.
func TestUsageBudgetAndLedgerE2E(t *testing.T) {
	st := storetest.SQLite(t, usage.Schema)
	var hookMu sync.Mutex
	var alerts []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a map[string]any
		json.NewDecoder(r.Body).Decode(&a)
		hookMu.Lock()
		alerts = append(alerts, a)
		hookMu.Unlock()
	}))
	defer hook.Close()
	g := newGatewayOpts(t, Options{Store: st}, func(c *config.Config) {
		c.Usage.Budgets = []config.Budget{{Name: "team-a-daily", Scope: "key", Match: "team-a", Period: "daily", Currency: "CNY", Limit: "0.000001"}}
		c.Alerts.Webhooks = []config.Webhook{{Name: "hook", Type: "generic", URL: config.Secret(hook.URL), Lang: "en"}}
	})
	post := func() *http.Response {
		req, _ := http.NewRequest("POST", g.URL+"/v1/messages", strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("X-Api-Key", clientKey)
		req.Header.Set("Anthropic-Version", "2023-06-01")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Claude-Code-Session-Id", "sess-42")
		resp, err := g.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	g.reply(t, "message_tool_use")
	first := post()
	io.Copy(io.Discard, first.Body)
	first.Body.Close()
	if first.StatusCode != 200 {
		t.Fatalf("first = %d", first.StatusCode)
	}
	second := post()
	body, _ := io.ReadAll(second.Body)
	second.Body.Close()
	var e struct {
		Type  string `json:"type"`
		Error struct{ Type, Message string }
	}
	json.Unmarshal(body, &e)
	if second.StatusCode != 429 || e.Type != "error" || e.Error.Type != "rate_limit_error" || !strings.Contains(e.Error.Message, `"team-a-daily"`) ||
		second.Header.Get("Retry-After") == "" || strings.Contains(string(body), clientKey) {
		t.Errorf("second = %d %s, retry-after %q", second.StatusCode, body, second.Header.Get("Retry-After"))
	}
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}
	// The first request crossed 80% and 100% of the budget: one alert each,
	// sent before shutdown ended.
	hookMu.Lock()
	if len(alerts) != 2 || alerts[0]["budget"] != "team-a-daily" || alerts[0]["percent"] != float64(80) || alerts[1]["percent"] != float64(100) ||
		alerts[1]["currency"] != "CNY" || !strings.Contains(alerts[1]["text"].(string), "team-a-daily") {
		t.Errorf("alerts %v", alerts)
	}
	hookMu.Unlock()
	rep, err := usage.Usage(context.Background(), st, usage.Query{GroupBy: []string{"key", "session"}, To: farFuture, Currency: "USD", USDToCNY: 7_200_000})
	if err != nil {
		t.Fatal(err)
	}
	// 402 input at $3/M + 89 output at $15/M = $0.002541.
	if len(rep.Rows) != 1 || rep.Rows[0].Requests != 2 || rep.Rows[0].Cost != 2541 || rep.Rows[0].Currency != "USD" ||
		rep.Rows[0].Group["key"] != "team-a" || rep.Rows[0].Group["session"] != "sess-42" || rep.Rows[0].Input != 402 {
		t.Errorf("ledger %+v", rep.Rows)
	}
	var status429 int
	st.QueryRow(context.Background(), nil, `SELECT COUNT(*) FROM usage_ledger WHERE status = 429 AND error_type = 'rate_limit_error'`).Scan(&status429)
	if status429 != 1 {
		t.Errorf("refused request rows = %d, want 1", status429)
	}
}

var farFuture = mustTime("2100-01-01T00:00:00Z")

func mustTime(s string) (t time.Time) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestShadowCostInLedgerE2E: a mirrored request's shadow call is in the
// ledger, flagged shadow and priced at the candidate's price.
func TestShadowCostInLedgerE2E(t *testing.T) {
	st := storetest.SQLite(t, usage.Schema)
	g := newGatewayOpts(t, Options{Store: st}, func(c *config.Config) {
		c.Routes[0].Shadow = config.RouteShadow{Provider: "anthropic-hk", Model: "claude-haiku-4-5", Sample: 1}
	})
	g.reply(t, "message_tool_use")
	g.reply(t, "message_tool_use")
	req, _ := http.NewRequest("POST", g.URL+"/v1/messages", strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("X-Api-Key", clientKey)
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err := g.stop(); err != nil { // drains the shadow queue, then the ledger
		t.Fatal(err)
	}
	rep, err := usage.Usage(context.Background(), st, usage.Query{GroupBy: []string{"shadow", "model"}, To: farFuture})
	if err != nil {
		t.Fatal(err)
	}
	// Primary: claude-sonnet-4 $0.002541. Shadow: claude-haiku-4-5, 402 at
	// $1/M + 89 at $5/M = $0.000847.
	want := map[string]usage.Micros{"primary/claude-sonnet-4-20250514": 2541, "shadow/claude-haiku-4-5": 847}
	got := map[string]usage.Micros{}
	for _, r := range rep.Rows {
		got[r.Group["shadow"]+"/"+r.Group["model"]] = r.Cost
	}
	if len(got) != 2 || got["primary/claude-sonnet-4-20250514"] != want["primary/claude-sonnet-4-20250514"] || got["shadow/claude-haiku-4-5"] != want["shadow/claude-haiku-4-5"] {
		t.Errorf("ledger costs %v, want %v", got, want)
	}
}
