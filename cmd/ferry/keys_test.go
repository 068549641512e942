package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/app"
	"github.com/ferrygw/ferry/internal/config"
)

const cliAdminKey = "fy-cli-admin-0123456789abcdefghijkl"

// keysGateway runs a real gateway with the admin API and a store in a
// temporary directory, and returns its admin address; extra is more YAML.
func keysGateway(t *testing.T, extra ...string) string {
	t.Helper()
	yaml := "listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\nadmin_key: " + cliAdminKey + "\ndata_dir: " + t.TempDir() +
		"\nproviders:\n  - name: sim\n    type: simulator\nroutes:\n  - match: \"*\"\n    targets: [{provider: sim}]\n" + strings.Join(extra, "")
	cfg, err := config.Parse([]byte(yaml), "ferry.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	a := runGateway(t, cfg, app.Options{})
	return a.AdminAddr()
}

func TestKeysCommands(t *testing.T) {
	admin := keysGateway(t)
	env := map[string]string{config.EnvAdminKey: cliAdminKey}
	out, _, err := run(t, env, "keys", "create", "ci-bot", "--admin", admin, "--team", "infra", "--model", "claude-*",
		"--route", "messages", "--budget", "daily:10.5:cny", "--expires", "720h", "--meta", "owner=ops")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "ci-bot") || !strings.Contains(out, "Key (shown once; only its hash is kept): fy-") || !strings.Contains(out, "claude-*") {
		t.Errorf("create printed:\n%s", out)
	}
	out, _, err = run(t, env, "keys", "show", "ci-bot", "--admin", admin, "--json")
	var k struct {
		Team    string
		Budgets []struct {
			LimitMicros int64 `json:"limit_micros"`
			Currency    string
		}
		Metadata map[string]string
		Key      string `json:"key"`
	}
	if err != nil || json.Unmarshal([]byte(out), &k) != nil {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if k.Team != "infra" || len(k.Budgets) != 1 || k.Budgets[0].LimitMicros != 10_500_000 || k.Budgets[0].Currency != "CNY" || k.Metadata["owner"] != "ops" || k.Key != "" {
		t.Errorf("show: %+v", k)
	}
	if _, _, err := run(t, env, "keys", "update", "ci-bot", "--admin", admin, "--tag", "nightly", "--disabled"); err != nil {
		t.Fatal(err)
	}
	out, _, _ = run(t, env, "keys", "list", "--admin", admin)
	if !strings.Contains(out, "nightly") || !strings.Contains(out, "disabled") {
		t.Errorf("list after update:\n%s", out)
	}
	out, _, err = run(t, env, "keys", "rotate", "ci-bot", "--admin", admin, "--grace", "1h")
	if err != nil || !strings.Contains(out, "Key (shown once") {
		t.Errorf("rotate: %v\n%s", err, out)
	}
	if out, _, err = run(t, env, "keys", "revoke", "ci-bot", "--admin", admin); err != nil || !strings.Contains(out, "revoked") {
		t.Errorf("revoke: %v\n%s", err, out)
	}
	// Without credentials, or with a bad flag value: the API's message, or ours.
	_, _, err = run(t, nil, "keys", "list", "--admin", admin)
	if err == nil || !strings.Contains(err.Error(), "401 authentication_error") || !strings.Contains(err.Error(), "--token") {
		t.Errorf("no token: %v", err)
	}
	_, _, err = run(t, env, "keys", "create", "x", "--admin", admin, "--budget", "daily:1.1234567:CNY")
	if err == nil || !strings.Contains(err.Error(), "more than 6 decimals") {
		t.Errorf("bad budget: %v", err)
	}
	_, _, err = run(t, env, "keys", "create", "bad name", "--admin", admin)
	if err == nil || !strings.Contains(err.Error(), "400 invalid_request_error: name:") {
		t.Errorf("bad name: %v", err)
	}
}

// TestKeysSigning: --signing prints the signing secret once, on create
// and rotate; without hmac.master_secret the API's reason is shown.
func TestKeysSigning(t *testing.T) {
	env := map[string]string{config.EnvAdminKey: cliAdminKey}
	admin := keysGateway(t, "hmac:\n  master_secret: master-0123456789abcdef0123456789abcdef\n")
	out, _, err := run(t, env, "keys", "create", "billing-svc", "--admin", admin, "--signing")
	if err != nil || !strings.Contains(out, "Signing secret for X-Ferry-Key-Id key_") || !strings.Contains(out, "(shown once; never stored): fys-") {
		t.Errorf("create --signing: %v\n%s", err, out)
	}
	out, _, err = run(t, env, "keys", "rotate", "billing-svc", "--admin", admin)
	if err != nil || !strings.Contains(out, ": fys-") {
		t.Errorf("rotate of a signing key: %v\n%s", err, out)
	}
	if _, _, err := run(t, env, "keys", "create", "plain", "--admin", admin); err != nil {
		t.Fatal(err)
	}
	if got := signingColumn(t, env, admin); got["billing-svc"] != "yes" || got["plain"] != "no" {
		t.Errorf("keys list SIGNING column = %v, want billing-svc yes, plain no", got)
	}
	out, _, err = run(t, env, "keys", "update", "billing-svc", "--admin", admin, "--signing=false", "--json")
	if err != nil || !strings.Contains(out, `"signing": false`) {
		t.Errorf("update --signing=false: %v\n%s", err, out)
	}
	if got := signingColumn(t, env, admin); got["billing-svc"] != "no" {
		t.Errorf("keys list SIGNING column after --signing=false = %v, want billing-svc no", got)
	}
	_, _, err = run(t, env, "keys", "create", "svc", "--admin", keysGateway(t), "--signing")
	if err == nil || !strings.Contains(err.Error(), "400 invalid_request_error: signing: the gateway has no hmac.master_secret") {
		t.Errorf("no master secret: %v", err)
	}
}

// signingColumn runs ferry keys list and returns its SIGNING column by
// key name.
func signingColumn(t *testing.T, env map[string]string, admin string) map[string]string {
	t.Helper()
	out, _, err := run(t, env, "keys", "list", "--admin", admin)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	col := slices.Index(strings.Fields(lines[0]), "SIGNING")
	if col < 0 {
		t.Fatalf("keys list has no SIGNING column:\n%s", out)
	}
	got := map[string]string{}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > col {
			got[f[0]] = f[col]
		}
	}
	return got
}

func TestParseMicros(t *testing.T) {
	for in, want := range map[string]int64{"10": 10_000_000, "0.5": 500_000, "250.50": 250_500_000, "1.000001": 1_000_001} {
		if got, err := parseMicros(in); err != nil || got != want {
			t.Errorf("parseMicros(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "-0.5", "+1", "1.-5", "1.2.3", "abc", "1.x"} {
		if _, err := parseMicros(in); err == nil {
			t.Errorf("parseMicros(%q) succeeded", in)
		}
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got, _ := parseExpiry("48h", now); got != "2026-01-03T00:00:00Z" {
		t.Errorf("parseExpiry(48h) = %q", got)
	}
}

// FuzzParseBudget: any --budget value is refused or read into a
// non-negative micro-unit amount, never a panic.
func FuzzParseBudget(f *testing.F) {
	for _, s := range []string{"daily:10:CNY", "monthly:250.50:usd", "weekly:0.000001:CNY", "daily:1.2.3:CNY", "x", "::", "daily:99999999999999999999:CNY"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := parseBudget(s)
		if err != nil {
			return
		}
		if m := b["limit_micros"].(int64); m < 0 {
			t.Errorf("parseBudget(%q) = %d micros", s, m)
		}
	})
}
