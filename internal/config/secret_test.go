package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestSecretNeverPrints prints a Config holding secrets every way a program
// might, and looks for the secrets in the output.
func TestSecretNeverPrints(t *testing.T) {
	const apiKey, gatewayKey = "sk-ant-SECRET-1", "gw-SECRET-2"
	cfg, _ := Defaults(envOf(map[string]string{"ANTHROPIC_API_KEY": apiKey}))
	cfg.Keys = []Key{{Name: "ci", Key: gatewayKey}}
	secret := cfg.Providers[0].APIKey

	outputs := map[string]func() (string, error){
		"%v Secret":       func() (string, error) { return fmt.Sprintf("%v", secret), nil },
		"%s Secret":       func() (string, error) { return fmt.Sprintf("%s", secret), nil },
		"%q Secret":       func() (string, error) { return fmt.Sprintf("%q", secret), nil },
		"%#v Secret":      func() (string, error) { return fmt.Sprintf("%#v", secret), nil },
		"%x Secret":       func() (string, error) { return fmt.Sprintf("%x", secret), nil },
		"Println Secret":  func() (string, error) { return fmt.Sprintln(secret), nil },
		"%v Config":       func() (string, error) { return fmt.Sprintf("%v", cfg), nil },
		"%+v Config":      func() (string, error) { return fmt.Sprintf("%+v", *cfg), nil },
		"%#v Config":      func() (string, error) { return fmt.Sprintf("%#v", *cfg), nil },
		"%v Provider":     func() (string, error) { return fmt.Sprintf("%v", cfg.Providers[0]), nil },
		"%#v Key":         func() (string, error) { return fmt.Sprintf("%#v", cfg.Keys[0]), nil },
		"json.Marshal":    func() (string, error) { b, err := json.Marshal(cfg); return string(b), err },
		"yaml.Marshal":    func() (string, error) { b, err := yaml.Marshal(cfg); return string(b), err },
		"slog JSON attrs": func() (string, error) { return logWith(slog.NewJSONHandler, "key", secret, "cfg", cfg), nil },
		"slog text attrs": func() (string, error) { return logWith(slog.NewTextHandler, "key", secret, "cfg", cfg), nil },
		"slog any":        func() (string, error) { return logWith(slog.NewTextHandler, "key", any(secret)), nil },
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			s, err := out()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(s, "SECRET") {
				t.Errorf("the secret printed: %s", s)
			}
		})
	}

	t.Run("redacted, not dropped", func(t *testing.T) {
		if got := fmt.Sprint(secret); got != "[redacted]" {
			t.Errorf("Sprint = %q", got)
		}
		if got := fmt.Sprint(Secret("")); got != "" {
			t.Errorf("an empty Secret prints %q", got)
		}
		if secret.Reveal() != apiKey {
			t.Error("Reveal does not return the secret")
		}
	})
}

func logWith[H slog.Handler](h func(io.Writer, *slog.HandlerOptions) H, args ...any) string {
	var b bytes.Buffer
	slog.New(h(&b, nil)).Info("config", args...)
	return b.String()
}

// TestProblemsNeverQuoteSecrets checks that problems about secret-bearing
// values name them without quoting them.
func TestProblemsNeverQuoteSecrets(t *testing.T) {
	src := `keys:
  - name: a
    key: SECRET-k
  - name: b
    key: SECRET-k
  - name: c
    key: SECRET-x
    key_sha256: SECRET
  - SECRET-item
providers:
  - name: p
    type: anthropic
    api_key: [SECRET-list]
    base_urls:
      - https://user:SECRET@relay.example.com
      - https://relay.example.com/?key=SECRET
      - SECRET
    headers:
      X-Token: "SECRET\n"
  - name: s
    type: simulator
    api_key: SECRET-sim
    simulator: SECRET-scalar
routes:
  - match: "*"
    targets: [{provider: p}]
`
	got := parseProblems(t, src, noEnv)
	if len(got) < 8 {
		t.Fatalf("expected many problems, got %q", got)
	}
	for _, p := range got {
		t.Log(p)
		if strings.Contains(p, "SECRET") {
			t.Errorf("a problem quotes a secret: %s", p)
		}
	}
}
