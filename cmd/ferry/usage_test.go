package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/usage"
)

// TestUsageCommand runs `ferry usage` against a real /admin/usage handler
// on a ledger with one row.
func TestUsageCommand(t *testing.T) {
	cfg := &config.Config{DataDir: t.TempDir()}
	st, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l, err := usage.NewLedger(usage.LedgerOptions{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	l.Record(usage.Row{At: time.Now().Add(-time.Hour), Team: "search", Tokens: usage.Tokens{Input: 10, Output: 20}, Cost: 1_500_000, Currency: usage.CNY})
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got url.Values
	h := usage.ReportHandler(st, time.UTC, 7_200_000, time.Now)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		got = r.URL.Query()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	stdout, _, err := run(t, map[string]string{"FERRY_ADMIN_TOKEN": "tok"}, "usage", "--admin", srv.URL, "--group-by", "team", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if want := "team,requests,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost,currency\nsearch,1,10,20,0,0,1.50,CNY\n"; stdout != want {
		t.Errorf("csv:\n%s\nwant\n%s", stdout, want)
	}
	if got.Get("group_by") != "team" || got.Get("format") != "csv" || got.Get("from") == "" {
		t.Errorf("query %v", got)
	}
	stdout, _, err = run(t, map[string]string{"FERRY_ADMIN_TOKEN": "tok"}, "usage", "--admin", srv.URL)
	if err != nil || !strings.Contains(stdout, "1.50") || !strings.Contains(stdout, "requests") {
		t.Errorf("table: %v\n%s", err, stdout)
	}
	if _, _, err := run(t, nil, "usage", "--admin", srv.URL); err == nil || !strings.Contains(err.Error(), "refused the request (401)") {
		t.Errorf("without a token: %v", err)
	}
	if _, _, err := run(t, map[string]string{"FERRY_ADMIN_TOKEN": "tok"}, "usage", "--admin", srv.URL, "--group-by", "password"); err == nil || !strings.Contains(err.Error(), `group_by \"password\"`) && !strings.Contains(err.Error(), "password") {
		t.Errorf("bad group: %v", err)
	}
}
