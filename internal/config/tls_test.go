package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTLSBasePathHMACValidation(t *testing.T) {
	const head = "providers:\n  - {name: sim, type: simulator, pin_sha256: [\"nope\"]}\nroutes:\n  - {match: \"*\", targets: [{provider: sim}]}\n"
	tests := []struct {
		name, src string
		want      []string
	}{
		{"good", "tls: {cert_file: c.pem, key_file: k.pem, min_version: \"1.3\"}\nbase_path: /proxy\nhmac: {master_secret: 0123456789abcdef0123456789abcdef, keys: [{id: svc, secret: 0123456789abcdef0123456789abcdef}]}\n", nil},
		{"bad", "tls: {cert_file: c.pem, min_version: \"1.1\"}\nbase_path: /proxy/\nhmac: {skew: -1s, master_secret: short, keys: [{id: svc, secret: short}, {id: svc, secret: 0123456789abcdef0123456789abcdef}]}\n", []string{
			"ferry.yaml:1: tls.key_file is required with tls.cert_file",
			`ferry.yaml:1: tls.min_version "1.1" is unknown: use "1.2" or "1.3"`,
			`ferry.yaml:2: base_path "/proxy/" must not end with /: write /proxy`,
			"ferry.yaml:3: hmac.skew must not be negative",
			"ferry.yaml:3: hmac.keys[0].secret must be at least 32 bytes (it has 5)",
			`ferry.yaml:3: hmac.keys[1].id "svc" is defined twice`,
			"ferry.yaml:3: hmac.master_secret must be at least 32 bytes (it has 5): openssl rand -hex 32 makes one",
		}},
		{"relative base path", "base_path: proxy\n", []string{`ferry.yaml:1: base_path "proxy" must start with /, as in /proxy`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProblems(t, tt.src+head, nil)
			want := append(tt.want, `ferry.yaml:`+lineOf(tt.src+head, "pin_sha256")+`: providers[0].pin_sha256[0] "nope" is not a base64 SHA-256 (44 characters, as openssl prints it)`)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func lineOf(src, s string) string {
	n := 1
	for i := 0; i < len(src); i++ {
		if src[i:] != "" && len(src[i:]) >= len(s) && src[i:i+len(s)] == s {
			break
		}
		if src[i] == '\n' {
			n++
		}
	}
	return string(rune('0' + n))
}
