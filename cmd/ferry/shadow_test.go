package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/shadow"
)

func f64(v float64) *float64 { return &v }

var cannedSummary = shadow.Summary{
	GeneratedAt: time.Date(2025, 10, 30, 16, 0, 0, 0, time.UTC),
	Threshold:   0.8,
	Kept:        125,
	Keep:        1000,
	Queue:       shadow.QueueState{Length: 3, Capacity: 100},
	Targets: []shadow.TargetSummary{
		{
			Route: "claude-*", Shadow: "glm/glm-4.6", Provider: "glm", Model: "glm-4.6",
			Counts: shadow.Counts{Submitted: 130, Dropped: 4, Completed: 120},
			Pairs:  120, Errors: 2, ErrorRate: f64(0.017), Answered: 118, Agreement: f64(0.617), StatusMatch: f64(0.983),
			Compared: 110, Similarity: f64(0.8412), ToolAgreement: f64(0.95),
			LatencyRatio: &shadow.Quantiles{P50: 1.32, P95: 2.1},
			InputDelta:   f64(-12.5), OutputDelta: f64(20),
		},
		{
			Route: "gpt-*", Shadow: "deepseek", Provider: "deepseek",
			Counts: shadow.Counts{Submitted: 5, Completed: 5},
			Pairs:  5, Errors: 5, ErrorRate: f64(1),
		},
	},
	Recent: []shadow.Pair{},
}

// adminServer serves cannedSummary at /admin/shadow to requests bearing
// token (any request when token is ""), and records the queries.
func adminServer(t *testing.T, token string) (*httptest.Server, *[]string) {
	t.Helper()
	var queries []string
	body, err := json.Marshal(cannedSummary)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin/shadow" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		queries = append(queries, r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &queries
}

func TestShadowReportTable(t *testing.T) {
	srv, queries := adminServer(t, "")
	stdout, stderr, err := run(t, nil, "shadow", "report", "--admin", srv.URL)
	if err != nil || stderr != "" {
		t.Fatalf("err %v, stderr %q", err, stderr)
	}
	want := `Shadow traffic: 125 comparisons kept (at most 1000), queue 3/100, agreement threshold 0.8.

ROUTE     SHADOW       PAIRS  AGREE  STATUS  SIMILARITY  TOOLS  LATENCY p50/p95  TOKENS in/out    ERRORS      DROPPED
claude-*  glm/glm-4.6  120    61.7%  98.3%   0.84        95.0%  1.32x / 2.10x    -12.5% / +20.0%  2 (1.7%)    4
gpt-*     deepseek     5      -      -       -           -      -                - / -            5 (100.0%)  0

AGREE and STATUS count answered pairs; SIMILARITY (mean, 0-1), TOOLS, LATENCY
(shadow/primary per pair) and TOKENS count pairs where both answered 2xx.
TOKENS (shadow vs primary, same requests) stands in for cost: no prices yet.
`
	if d := cmp.Diff(lines(want), lines(stdout)); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"recent=0"}, *queries); d != "" {
		t.Errorf("queries (-want +got):\n%s", d)
	}
}

func TestShadowReportJSON(t *testing.T) {
	srv, queries := adminServer(t, "")
	host := strings.TrimPrefix(srv.URL, "http://") // host:port works too
	stdout, _, err := run(t, nil, "shadow", "report", "--admin", host+"/", "--json", "--route", "claude-*", "--recent", "5")
	if err != nil {
		t.Fatal(err)
	}
	var got shadow.Summary
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	if d := cmp.Diff(cannedSummary, got); d != "" {
		t.Errorf("JSON (-want +got):\n%s", d)
	}
	if !strings.HasPrefix(stdout, "{\n  \"generated_at\"") {
		t.Errorf("not indented: %.40q", stdout)
	}
	if d := cmp.Diff([]string{"recent=5&route=claude-%2A"}, *queries); d != "" {
		t.Errorf("queries (-want +got):\n%s", d)
	}
}

func TestShadowReportToken(t *testing.T) {
	srv, _ := adminServer(t, "s3cret")
	if _, _, err := run(t, nil, "shadow", "report", "--admin", srv.URL, "--token", "s3cret"); err != nil {
		t.Errorf("--token: %v", err)
	}
	if _, _, err := run(t, map[string]string{"FERRY_ADMIN_TOKEN": "s3cret"}, "shadow", "report", "--admin", srv.URL); err != nil {
		t.Errorf("$FERRY_ADMIN_TOKEN: %v", err)
	}
	_, _, err := run(t, nil, "shadow", "report", "--admin", srv.URL)
	want := "admin API at " + srv.URL + " refused the request (401): give the admin token with --token or $FERRY_ADMIN_TOKEN"
	if err == nil || err.Error() != want {
		t.Errorf("without a token: %v\nwant %s", err, want)
	}
}

func TestShadowReportErrors(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	_, _, err := run(t, nil, "shadow", "report", "--admin", downURL)
	if err == nil || !strings.HasPrefix(err.Error(), "admin API at "+downURL+" is unreachable: dial tcp") ||
		!strings.HasSuffix(err.Error(), "(is ferry serve running with admin.listen there?)") {
		t.Errorf("unreachable: %v", err)
	}

	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("route") {
		case "broken":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "html":
			w.Write([]byte("<html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer other.Close()
	for _, tt := range []struct{ route, want string }{
		{"", "admin API at " + other.URL + " has no /admin/shadow (404): is this a Ferry admin listener with shadow traffic?"},
		{"broken", "admin API at " + other.URL + " answered 500: boom"},
		{"html", "admin API at " + other.URL + " answered something other than a shadow summary: invalid character '<' looking for beginning of value"},
	} {
		args := []string{"shadow", "report", "--admin", other.URL}
		if tt.route != "" {
			args = append(args, "--route", tt.route)
		}
		if _, _, err := run(t, nil, args...); err == nil || err.Error() != tt.want {
			t.Errorf("route %q: %v\nwant %s", tt.route, err, tt.want)
		}
	}
}

func TestShadowReportEmpty(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"kept":0,"keep":1000,"threshold":0.8,"queue":{"length":0,"capacity":100},"targets":[],"recent":[]}`))
	}))
	defer srv.Close()
	stdout, _, err := run(t, nil, "shadow", "report", "--admin", srv.URL)
	if err != nil || !strings.Contains(stdout, "No shadow traffic yet: no route mirrors requests, or none has been sampled.") {
		t.Errorf("%v:\n%s", err, stdout)
	}
}
