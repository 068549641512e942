package config

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExampleFile checks that the repository's ferry.example.yaml parses and
// validates, given the variables it reads, and that it fails as documented
// without them.
func TestExampleFile(t *testing.T) {
	const path = "../../ferry.example.yaml"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{
		"FERRY_KEY_ALICE":   "alice-key-0123456789abcdef",
		"ANTHROPIC_API_KEY": "sk-ant-example",
		"RELAY_TOKEN":       "relay-token",
		"ZHIPUAI_API_KEY":   "zp.example",
	})
	cfg, err := Parse(data, "ferry.example.yaml", env)
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate after Parse:\n%v", err)
	}
	// The parts the example exists to show.
	if got := len(cfg.Providers[0].BaseURLs); got != 2 {
		t.Errorf("anthropic base_urls: %d, want 2 relay nodes", got)
	}
	if cfg.Keys[0].Key.Reveal() != "alice-key-0123456789abcdef" || cfg.Keys[1].KeySHA256 == "" {
		t.Errorf("keys = %v", cfg.Keys)
	}
	var matches []string
	for _, r := range cfg.Routes {
		matches = append(matches, r.Match)
	}
	if diff := cmp.Diff([]string{"ferry-sim", "glm-*", "*-local", "claude-haiku-*", "*"}, matches); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if cfg.Routes[3].Targets[0].Model == "" {
		t.Error("the prefix route rewrites no model")
	}
	if len(cfg.Routes[4].When) != 2 || cfg.Providers[1].Params.MaxTokensCap == 0 || len(cfg.Routes[1].Targets[0].Headers) == 0 {
		t.Error("the example shows no trait rules, parameter policy or header policy")
	}

	t.Run("without any variable", func(t *testing.T) {
		// Every ${VAR} has a default, so a first "ferry config validate
		// ferry.example.yaml" passes before any secret is set.
		cfg, err := Parse(data, "ferry.example.yaml", noEnv)
		if err != nil {
			t.Fatalf("Parse:\n%v", err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Validate:\n%v", err)
		}
		if got := cfg.Keys[0].Key.Reveal(); got != "example-alice-key-change-me" {
			t.Errorf("keys[0].key = %q, want the placeholder", got)
		}
		if cfg.Listen != "127.0.0.1:8080" {
			t.Errorf("listen = %q, want loopback by default", cfg.Listen)
		}
	})
}
