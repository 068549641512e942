package config

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRateLimitValidation checks every rate_limits and redis rule through
// Parse, with the exact problem text and line.
func TestRateLimitValidation(t *testing.T) {
	const keys = "keys: [{name: team-a, key: sk-team-a-0123456789abcdef}]\nlisten: 127.0.0.1:8080\n"
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "defaults are valid",
			src:  simTail,
		},
		{
			name: "a full valid section",
			src: keys + `rate_limits:
  backend: redis
  on_store_failure: fail_closed
  trusted_proxies: [10.0.0.0/8, 127.0.0.1, "::1", "::ffff:192.168.0.0/112"]
  tag_header: X-Biz-Type
  rules:
    - {scope: key, rpm: 60, tpm: 100000, concurrency: 4}
    - {scope: key, match: team-a, rpm: 600}
    - {scope: ip, rpm: 120}
    - {scope: ip, match: 192.0.2.7, rpm: 1000}
    - {scope: route, match: "*", tpm: 1000000}
    - {scope: tag, match: batch, concurrency: 2}
    - {scope: tag, rpm: 1000000000}
redis:
  addr: 127.0.0.1:6379
` + simTail,
		},
		{
			name: "unknown backend and failure mode",
			src:  "rate_limits:\n  backend: etcd\n  on_store_failure: shrug\n" + simTail,
			want: []string{
				`ferry.yaml:2: rate_limits.backend "etcd" is unknown: use memory or redis`,
				`ferry.yaml:3: rate_limits.on_store_failure "shrug" is unknown: use fail_open or fail_closed`,
			},
		},
		{
			name: "redis backend without redis",
			src:  "rate_limits:\n  backend: redis\n" + simTail,
			want: []string{`ferry.yaml:2: rate_limits.backend "redis" needs redis.addr`},
		},
		{
			name: "trusted proxies",
			src:  "rate_limits:\n  trusted_proxies: [10.0.0.0/33, proxy.local, \"fe80::1%eth0\", 10.1.2.3]\n" + simTail,
			want: []string{
				`ferry.yaml:2: rate_limits.trusted_proxies[0] "10.0.0.0/33" is not an IP address or CIDR prefix (e.g. 10.0.0.0/8)`,
				`ferry.yaml:2: rate_limits.trusted_proxies[1] "proxy.local" is not an IP address or CIDR prefix (e.g. 10.0.0.0/8)`,
				`ferry.yaml:2: rate_limits.trusted_proxies[2] "fe80::1%eth0" is not an IP address or CIDR prefix (e.g. 10.0.0.0/8)`,
			},
		},
		{
			name: "tag header",
			src:  "rate_limits:\n  tag_header: \"X Biz\"\n" + simTail,
			want: []string{`ferry.yaml:2: rate_limits.tag_header "X Biz" is not a valid header name`},
		},
		{
			name: "scope required and known",
			src:  "rate_limits:\n  rules:\n    - {rpm: 1}\n    - {scope: org, rpm: 1}\n" + simTail,
			want: []string{
				`ferry.yaml:3: rate_limits.rules[0].scope is required (key, ip, route or tag)`,
				`ferry.yaml:4: rate_limits.rules[1].scope "org" is unknown: use key, ip, route or tag`,
			},
		},
		{
			name: "key scope without keys",
			src:  "rate_limits:\n  rules:\n    - {scope: key, rpm: 1}\n" + simTail,
			want: []string{`ferry.yaml:3: rate_limits.rules[0].scope "key" needs gateway keys: without keys no request has one`},
		},
		{
			name: "matches name what exists",
			src: keys + `rate_limits:
  rules:
    - {scope: key, match: team-b, rpm: 1}
    - {scope: route, match: "claude-*", rpm: 1}
    - {scope: ip, match: 10.0.0.0/8, rpm: 1}
    - {scope: ip, match: "::ffff:10.0.0.1", rpm: 1}
    - {scope: ip, match: "2001:DB8::1", rpm: 1}
` + simTail,
			want: []string{
				`ferry.yaml:5: rate_limits.rules[0].match "team-b" is not the name of a key`,
				`ferry.yaml:6: rate_limits.rules[1].match "claude-*" is not the match of a route`,
				`ferry.yaml:7: rate_limits.rules[2].match "10.0.0.0/8" is not an IP address`,
				`ferry.yaml:8: rate_limits.rules[3].match "::ffff:10.0.0.1" is not written the canonical way: use "10.0.0.1"`,
				`ferry.yaml:9: rate_limits.rules[4].match "2001:DB8::1" is not written the canonical way: use "2001:db8::1"`,
			},
		},
		{
			name: "tag scope with the default tag header (X-Biz-Type)",
			src:  "rate_limits:\n  rules:\n    - {scope: tag, rpm: 1}\n" + simTail,
			want: nil,
		},
		{
			name: "same scope and match twice",
			src:  "rate_limits:\n  rules:\n    - {scope: ip, rpm: 1}\n    - {scope: ip, tpm: 1}\n    - {scope: ip, match: 10.0.0.1, rpm: 1}\n" + simTail,
			want: []string{`ferry.yaml:4: rate_limits.rules[1]: the same scope and match as rate_limits.rules[0]`},
		},
		{
			name: "limits in range, at least one",
			src:  "rate_limits:\n  rules:\n    - {scope: ip}\n    - {scope: route, rpm: -1, tpm: 1000000001, concurrency: 1}\n" + simTail,
			want: []string{
				`ferry.yaml:3: rate_limits.rules[0]: set at least one of rpm, tpm and concurrency`,
				`ferry.yaml:4: rate_limits.rules[1].rpm -1 is out of range: it must be 0 (no limit) to 1000000000`,
				`ferry.yaml:4: rate_limits.rules[1].tpm 1000000001 is out of range: it must be 0 (no limit) to 1000000000`,
			},
		},
		{
			name: "redis section",
			src:  "redis:\n  addr: localhost\n  db: -1\n  dial_timeout: -1s\n  timeout: -5ms\n" + simTail,
			want: []string{
				`ferry.yaml:2: redis.addr "localhost" is not host:port with a numeric port (e.g. 127.0.0.1:6379)`,
				`ferry.yaml:3: redis.db must not be negative`,
				`ferry.yaml:4: redis.dial_timeout must be more than 0`,
				`ferry.yaml:5: redis.timeout must be more than 0`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProblems(t, tt.src, envOf(nil))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTrustedProxy(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" : refused
	}{
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"10.1.2.3/8", "10.0.0.0/8"}, // masked
		{"192.0.2.1", "192.0.2.1/32"},
		{"::1", "::1/128"},
		{"::ffff:192.0.2.1", "192.0.2.1/32"},
		{"::ffff:192.168.0.0/112", "192.168.0.0/16"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"fe80::1%eth0", ""},
		{"10.0.0.0/40", ""},
		{"example.com", ""},
		{"", ""},
	}
	for _, tt := range tests {
		p, ok := ParseTrustedProxy(tt.in)
		got := ""
		if ok {
			got = p.String()
		}
		if got != tt.want {
			t.Errorf("ParseTrustedProxy(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if ok && !p.Contains(netip.MustParseAddr(netip.MustParsePrefix(tt.want).Addr().String())) {
			t.Errorf("%q does not contain its own address", tt.in)
		}
	}
}
