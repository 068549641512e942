package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/app"
	"github.com/ferrygw/ferry/internal/config"
)

// simGateway runs a keyless gateway on loopback with three simulator
// routes: two answering alike, one answering something else.
func simGateway(t *testing.T) string {
	t.Helper()
	cfg := &config.Config{
		Listen: "127.0.0.1:0",
		Admin:  config.Admin{Listen: "off"},
		Providers: []config.Provider{
			{Name: "sim", Type: config.TypeSimulator},
			{Name: "odd", Type: config.TypeSimulator, Simulator: config.Simulator{Text: "Bananas are berries, botanically speaking; strawberries are not."}},
		},
		Routes: []config.Route{
			{Match: "claude-sonnet-4-5", Targets: []config.Target{{Provider: "sim"}}},
			{Match: "twin-model", Targets: []config.Target{{Provider: "sim"}}},
			{Match: "odd-model", Targets: []config.Target{{Provider: "odd"}}},
		},
	}
	cfg.ApplyDefaults()
	a := runGateway(t, cfg, app.Options{})
	return "http://" + a.Addr()
}

const replayPrompts = `{"prompt": "What is the capital of France?"}
{"model": "ignored", "max_tokens": 64, "messages": [{"role": "user", "content": "Name three rivers in China."}]}
{"prompt": "Say hello."}
`

func TestReplayEndToEnd(t *testing.T) {
	url := simGateway(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "prompts.jsonl")
	os.WriteFile(in, []byte(replayPrompts), 0o600)
	out := filepath.Join(dir, "out.csv")
	stdout, _, err := run(t, nil, "replay", in, "--url", url, "--models", "claude-sonnet-4-5,twin-model,odd-model", "--csv", out)
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]string{}
	for _, l := range lines(stdout) {
		k, v, _ := strings.Cut(l, "  ")
		table[strings.TrimSpace(k)] = strings.Join(strings.Fields(v), " ")
	}
	for k, want := range map[string]string{
		"model":   "claude-sonnet-4-5 twin-model odd-model",
		"answers": "3/3 3/3 3/3",
	} {
		if table[k] != want {
			t.Errorf("%s: got %q, want %q\n%s", k, table[k], want, stdout)
		}
	}
	// The twin answers alike, the odd one does not; only the baseline's
	// model has a price.
	if a := table["agreement"]; !strings.HasPrefix(a, "(baseline) 3/3, similarity 1.00 0/3,") {
		t.Errorf("agreement: %q\n%s", a, stdout)
	}
	if c := table["cost"]; !strings.Contains(c, " USD - (no price) - (no price)") || strings.HasPrefix(c, "0.00 USD") {
		t.Errorf("cost: %q\n%s", c, stdout)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+3*3 || rows[0][0] != "prompt" {
		t.Fatalf("csv: %d rows: %v", len(rows), rows)
	}
	for _, r := range rows[1:] {
		if r[2] != "200" {
			t.Errorf("csv row %v: status not 200", r)
		}
		want := map[string]string{"claude-sonnet-4-5": "baseline", "twin-model": "agree", "odd-model": "disagree"}[r[1]]
		if r[9] != want {
			t.Errorf("csv row %v: result %q, want %q", r, r[9], want)
		}
	}
}

func TestReplayRefuses(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"prompt\":\"ok\"}\nnope\n"), 0o600)
	for _, args := range [][]string{
		{"replay", bad, "--models", "one"},
		{"replay", bad, "--models", "a,b"},
		{"replay", filepath.Join(dir, "missing.jsonl"), "--models", "a,b"},
	} {
		if _, _, err := run(t, nil, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	_, _, err := run(t, nil, "replay", bad, "--models", "a,b")
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad line: %v", err)
	}
}
