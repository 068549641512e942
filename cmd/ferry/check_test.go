package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheckCommand(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/messages" && r.Header.Get("x-api-key") == "relay-key" {
			w.Write([]byte(`{"type":"message"}`))
			return
		}
		http.Error(w, `{"error":{"message":"bad key"}}`, http.StatusUnauthorized)
	}))
	defer srv.Close()
	conf := func(key string) string {
		return writeConfig(t, "ferry.yaml", `
providers:
  - name: relay
    type: anthropic
    base_urls: [`+srv.URL+`]
    api_key: `+key+`
routes:
  - match: "*"
    targets:
      - provider: relay
        model: claude-sonnet-4-5
`)
	}

	t.Run("all good, json", func(t *testing.T) {
		stdout, stderr, err := run(t, nil, "check", "--config", conf("relay-key"), "--json")
		if err != nil {
			t.Fatalf("check: %v\n%s", err, stderr)
		}
		var rs []struct {
			Step string `json:"step"`
			OK   bool   `json:"ok"`
		}
		if err := json.Unmarshal([]byte(stdout), &rs); err != nil {
			t.Fatalf("json: %v\n%s", err, stdout)
		}
		if len(rs) != 3 || rs[2].Step != "request" || !rs[2].OK {
			t.Errorf("results %+v, want dns, tcp, request all ok", rs)
		}
	})
	t.Run("simulator only", func(t *testing.T) {
		stdout, _, err := run(t, nil, "check")
		if err != nil || !strings.Contains(stdout, "nothing to check") {
			t.Errorf("check with the embedded defaults: err %v, printed %q", err, stdout)
		}
	})
	t.Run("bad key fails with a cause", func(t *testing.T) {
		stdout, _, err := run(t, nil, "check", "--config", conf("wrong-key"))
		if !errors.Is(err, errCheckFailed) {
			t.Fatalf("err = %v, want errCheckFailed (non-zero exit)", err)
		}
		if !strings.Contains(stdout, "FAIL") || !strings.Contains(stdout, "authentication failed") || strings.Contains(stdout, "wrong-key") {
			t.Errorf("table:\n%s", stdout)
		}
	})
}
