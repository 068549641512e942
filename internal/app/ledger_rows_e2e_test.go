package app

import (
	"context"
	"testing"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/store/storetest"
	"github.com/ferrygw/ferry/internal/usage"
)

// TestLedgerRowPerRequest: N mixed model API requests (answered, refused
// by authentication, scope, the rate limiter, a bad body, a missing
// max_tokens, a wrong method; count_tokens calls) give exactly N ledger
// rows, the refusals with their status and error type, no tokens and no
// cost, the count_tokens calls marked as such.
func TestLedgerRowPerRequest(t *testing.T) {
	st := storetest.SQLite(t, usage.Schema)
	dir := t.TempDir()
	g := newGatewayOpts(t, Options{Store: st}, func(c *config.Config) {
		c.Admin.Listen = "127.0.0.1:0"
		c.AdminKey = testAdminKey
		c.DataDir = dir
	})
	admin := "http://" + g.App.AdminAddr()
	st1, k := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{
		"name": "scoped", "models": []string{"sim-*"}, "limits": map[string]any{"requests_per_minute": 1}})
	if st1 != 201 {
		t.Fatalf("create: %d %v", st1, k)
	}
	scoped := k["key"].(string)
	msgs := g.URL + "/v1/messages"
	reqs := []struct {
		method, url, key string
		body             any
		status           int
		errType          string
	}{
		{"POST", msgs, clientKey, simBody("sim-1"), 200, ""},
		{"POST", msgs, clientKey, simBody("sim-1"), 200, ""},
		{"POST", msgs, "sk-wrong-0123456789abcdefghijkl", simBody("sim-1"), 401, "authentication_error"},
		{"POST", msgs, "", simBody("sim-1"), 401, "authentication_error"},
		{"POST", msgs, scoped, simBody("sim-1"), 200, ""},
		{"POST", msgs, scoped, simBody("sim-1"), 429, "rate_limit_error"},
		{"POST", msgs, scoped, simBody("claude-sonnet-4-5"), 403, "permission_error"},
		{"POST", msgs, clientKey, "not json", 400, "invalid_request_error"},
		{"POST", msgs, clientKey, map[string]any{"model": "sim-1", "messages": []any{map[string]any{"role": "user", "content": "hi"}}}, 400, "invalid_request_error"},
		{"GET", msgs, clientKey, nil, 405, "invalid_request_error"},
		{"POST", msgs + "/count_tokens", clientKey, map[string]any{"model": "sim-1", "messages": []any{map[string]any{"role": "user", "content": "hi"}}}, 200, ""},
		{"POST", g.URL + "/v1/chat/completions", clientKey, map[string]any{"model": "sim-1", "max_tokens": 8, "messages": []any{map[string]any{"role": "user", "content": "hi"}}}, 200, ""},
	}
	for i, rq := range reqs {
		st, body := call(t, rq.method, rq.url, rq.key, rq.body)
		if st != rq.status {
			t.Fatalf("request %d (%s %s): %d %v, want %d", i, rq.method, rq.url, st, body, rq.status)
		}
	}
	// Not model API calls: no rows.
	call(t, "GET", g.URL+"/v1/models", clientKey, nil)
	call(t, "GET", g.URL+"/healthz", "", nil)
	// Refused while draining: a row with 503.
	g.App.current().server.Drain()
	if st, body := call(t, "POST", msgs, clientKey, simBody("sim-1")); st != 503 {
		t.Fatalf("while draining: %d %v, want 503", st, body)
	}
	reqs = append(reqs, struct {
		method, url, key string
		body             any
		status           int
		errType          string
	}{"POST", msgs, clientKey, nil, 503, "api_error"})
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var rows int
	st.QueryRow(ctx, nil, `SELECT COUNT(*) FROM usage_ledger`).Scan(&rows)
	if rows != len(reqs) {
		t.Errorf("%d ledger rows for %d requests", rows, len(reqs))
	}
	for _, rq := range reqs {
		if rq.status < 400 {
			continue
		}
		var n, tokens, cost int64
		st.QueryRow(ctx, nil, `SELECT COUNT(*), COALESCE(SUM(input_tokens+output_tokens+cache_read_tokens+cache_write_tokens),0), COALESCE(SUM(cost_micros),0)
			FROM usage_ledger WHERE status = ? AND error_type = ?`, rq.status, rq.errType).Scan(&n, &tokens, &cost)
		if n == 0 || tokens != 0 || cost != 0 {
			t.Errorf("status %d %s: %d rows, %d tokens, cost %d; want rows with no tokens and no cost", rq.status, rq.errType, n, tokens, cost)
		}
	}
	var ct, ctCost int64
	st.QueryRow(ctx, nil, `SELECT COUNT(*), COALESCE(SUM(cost_micros),0) FROM usage_ledger WHERE endpoint = 'count_tokens'`).Scan(&ct, &ctCost)
	if ct != 1 || ctCost != 0 {
		t.Errorf("count_tokens rows %d (cost %d), want 1 at no cost", ct, ctCost)
	}
	var keyed int64
	st.QueryRow(ctx, nil, `SELECT COUNT(*) FROM usage_ledger WHERE key_name = 'scoped' AND endpoint = 'messages'`).Scan(&keyed)
	if keyed != 3 {
		t.Errorf("rows of the scoped key: %d, want 3", keyed)
	}
}
