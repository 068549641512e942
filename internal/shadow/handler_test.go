package shadow

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHandler(t *testing.T) {
	m, _ := newMirror(t, Options{Workers: 1, Keep: 5})
	for range 3 {
		m.Submit(job(answer(okOutcome("Paris is the capital of France."))))
	}
	m.Submit(pairJob(Target{Route: "gpt-*", Provider: "deepseek"}, okOutcome("a"), Outcome{Err: "refused"}))
	m.Start(context.Background())
	closeMirror(t, m)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	get := func(t *testing.T, method, query string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/admin/shadow"+query, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	keys := func(m map[string]any) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return ks
	}

	t.Run("shape", func(t *testing.T) {
		resp, b := get(t, "GET", "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		var s map[string]any
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{"generated_at", "keep", "kept", "queue", "recent", "targets", "threshold"}, keys(s)); d != "" {
			t.Errorf("top-level keys (-want +got):\n%s", d)
		}
		targets := s["targets"].([]any)
		if len(targets) != 2 {
			t.Fatalf("%d targets", len(targets))
		}
		wantKeys := []string{"agreement", "answered", "compared", "completed", "dropped", "error_rate", "errors", "input_tokens_delta_pct",
			"latency_ratio", "model", "output_tokens_delta_pct", "pairs", "primary_latency_ms", "provider", "route", "shadow",
			"shadow_latency_ms", "similarity", "status_match", "stop_match", "submitted", "tokens", "tool_agreement", "ttfb_ratio"}
		if d := cmp.Diff(wantKeys, keys(targets[0].(map[string]any))); d != "" {
			t.Errorf("target keys (-want +got):\n%s", d)
		}
		// Nothing to compute a rate from: the rate is absent, not 0.
		if _, ok := targets[1].(map[string]any)["agreement"]; ok {
			t.Error("agreement present for a target with only errors")
		}
		recent := s["recent"].([]any)
		if len(recent) != 4 {
			t.Fatalf("%d recent pairs, want 4 (all, under the default)", len(recent))
		}
		pairKeys := []string{"at", "latency_ratio", "model", "primary", "primary_provider", "result", "route", "shadow", "shadow_answer", "similarity", "status_match", "tools_agree"}
		if d := cmp.Diff(pairKeys, keys(recent[1].(map[string]any))); d != "" {
			t.Errorf("pair keys (-want +got):\n%s", d)
		}
	})
	t.Run("query", func(t *testing.T) {
		_, b := get(t, "GET", "?route=gpt-*&recent=1")
		var s Summary
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		if len(s.Targets) != 1 || s.Targets[0].Route != "gpt-*" || len(s.Recent) != 1 || s.Recent[0].Result != Error {
			t.Errorf("filtered summary %+v", s)
		}
		_, b = get(t, "GET", "?recent=1000")
		if err := json.Unmarshal(b, &s); err != nil || len(s.Recent) != 4 {
			t.Errorf("recent=1000: %d pairs, %v", len(s.Recent), err)
		}
	})
	t.Run("bad recent", func(t *testing.T) {
		resp, b := get(t, "GET", "?recent=-1")
		if resp.StatusCode != 400 || !strings.Contains(string(b), `{"type":"error","error":{"type":"invalid_request_error","message":"recent must be a non-negative integer"}}`) {
			t.Errorf("%d %s", resp.StatusCode, b)
		}
	})
	t.Run("method", func(t *testing.T) {
		resp, _ := get(t, "POST", "")
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
		resp, b := get(t, "HEAD", "")
		if resp.StatusCode != 200 || len(b) != 0 || resp.ContentLength <= 0 {
			t.Errorf("HEAD: %d, %d bytes, length %d", resp.StatusCode, len(b), resp.ContentLength)
		}
	})
}
