package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const storeBase = `providers:
  - name: sim
    type: simulator
routes:
  - match: "*"
    targets: [{provider: sim}]
`

func TestStoreFields(t *testing.T) {
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	cfg, err := Parse([]byte(storeBase+"store: postgres://u:p@db/ferry\nkeys_refresh: 2s\n"), "ferry.yaml",
		env(map[string]string{"FERRY_ADMIN_KEY": "fy-0123456789abcdefghij"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AdminKey.Reveal() != "fy-0123456789abcdefghij" || cfg.DataDir != DefaultDataDir || cfg.KeysRefresh != 2*time.Second {
		t.Errorf("admin_key %v, data_dir %q, keys_refresh %v", cfg.AdminKey, cfg.DataDir, cfg.KeysRefresh)
	}
	def, _ := Defaults(env(map[string]string{"FERRY_ADMIN_KEY": "fy-0123456789abcdefghij"}))
	if def.AdminKey.Reveal() == "" {
		t.Error("Defaults did not read FERRY_ADMIN_KEY")
	}

	// An admin key makes a non-loopback listener acceptable, as keys do.
	if _, err := Parse([]byte(storeBase+"listen: 0.0.0.0:8080\nadmin_key: fy-0123456789abcdefghij\n"), "ferry.yaml", env(nil)); err != nil {
		t.Errorf("non-loopback with admin_key: %v", err)
	}

	_, err = Parse([]byte(storeBase+"store: mysql://x\nadmin_key: short\nkeys_refresh: 10s\n"), "ferry.yaml", env(nil))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v, want Problems", err)
	}
	got := err.Error()
	for _, want := range []string{
		"ferry.yaml:7: store must be a postgres:// URL",
		"ferry.yaml:8: admin_key is 5 characters: use at least 20",
		"ferry.yaml:9: keys_refresh 10s is out of range",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "mysql://x") || strings.Contains(got, "short") {
		t.Errorf("a secret is echoed:\n%s", got)
	}
}
