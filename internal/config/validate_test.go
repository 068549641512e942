package config

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// simTail completes a file with a simulator provider and a catch-all route.
const simTail = `providers:
  - name: sim
    type: simulator
routes:
  - match: "*"
    targets: [{provider: sim}]
`

// routeToP completes a file whose providers include one named p.
const routeToP = `routes:
  - match: "*"
    targets: [{provider: p}]
`

func sha(s string) string {
	d := sha256.Sum256([]byte(s))
	return hex.EncodeToString(d[:])
}

// TestValidationRules checks every validation rule through Parse, with the
// exact problem text and line.
func TestValidationRules(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  map[string]string
		want []string
	}{
		// listen and admin.listen
		{
			name: "listen without port",
			src:  "listen: localhost\n" + simTail,
			want: []string{`ferry.yaml:1: listen "localhost" is not host:port with a numeric port (e.g. 127.0.0.1:8080)`},
		},
		{
			name: "listen with a named port",
			src:  "listen: 127.0.0.1:http\n" + simTail,
			want: []string{`ferry.yaml:1: listen "127.0.0.1:http" is not host:port with a numeric port (e.g. 127.0.0.1:8080)`},
		},
		{
			name: "listen on every interface is host:port",
			src:  "listen: :8080\nkeys: [{name: a, key: sk-a-0123456789abcdef}]\n" + simTail,
		},
		{
			name: "admin.listen not host:port",
			src:  "admin:\n  listen: \"8081\"\n" + simTail,
			want: []string{`ferry.yaml:2: admin.listen "8081" is not host:port with a numeric port (e.g. 127.0.0.1:8081) or "off"`},
		},
		{
			name: "admin off",
			src:  "admin:\n  listen: off\n" + simTail,
		},
		{
			name: "admin.listen same as listen",
			src:  "listen: 127.0.0.1:9000\nadmin:\n  listen: 127.0.0.1:9000\n" + simTail,
			want: []string{`ferry.yaml:3: admin.listen "127.0.0.1:9000" must differ from listen`},
		},
		{
			name: "admin.listen on every interface, same port as listen's default",
			src:  "admin:\n  listen: 0.0.0.0:8080\n" + simTail,
			want: []string{`ferry.yaml:2: admin.listen "0.0.0.0:8080" must differ from listen`},
		},

		// keys
		{
			name: "key name required",
			src:  "keys:\n  - key: sk-k1-0123456789abcdef\n" + simTail,
			want: []string{`ferry.yaml:2: keys[0].name is required`},
		},
		{
			name: "key names unique",
			src:  "keys:\n  - name: a\n    key: sk-k1-0123456789abcdef\n  - name: a\n    key: sk-k2-0123456789abcdef\n" + simTail,
			want: []string{`ferry.yaml:4: keys[1].name "a" is already used by keys[0]`},
		},
		{
			name: "key or key_sha256 required",
			src:  "keys:\n  - name: a\n" + simTail,
			want: []string{`ferry.yaml:2: keys[0]: set key or key_sha256`},
		},
		{
			name: "key and key_sha256 both set",
			src:  "keys:\n  - name: a\n    key: sk-k1-0123456789abcdef\n    key_sha256: " + sha("sk-k1-0123456789abcdef") + "\n" + simTail,
			want: []string{`ferry.yaml:2: keys[0]: set key or key_sha256, not both`},
		},
		{
			name: "key_sha256 not 64 hex characters",
			src:  "keys:\n  - name: a\n    key_sha256: abc123\n" + simTail,
			want: []string{`ferry.yaml:3: keys[0].key_sha256 is not 64 hex characters (the SHA-256 of the key)`},
		},
		{
			name: "key_sha256 with a non-hex character",
			src:  "keys:\n  - name: a\n    key_sha256: " + sha("sk-k1-0123456789abcdef")[:63] + "g\n" + simTail,
			want: []string{`ferry.yaml:3: keys[0].key_sha256 is not 64 hex characters (the SHA-256 of the key)`},
		},
		{
			name: "key_sha256 in upper case is fine",
			src:  "keys:\n  - name: a\n    key_sha256: " + "E4B2E21B07F27A372F479365F2A01CDA534F67EFEBEA5FDA9662682F8B96F4BD" + "\n" + simTail,
		},
		{
			name: "same key twice",
			src:  "keys:\n  - name: a\n    key: sk-k1-0123456789abcdef\n  - name: b\n    key: sk-k1-0123456789abcdef\n" + simTail,
			want: []string{`ferry.yaml:5: keys[1].key is the same key as keys[0]`},
		},
		{
			name: "same key twice, once as its hash",
			src:  "keys:\n  - name: a\n    key: sk-k1-0123456789abcdef\n  - name: b\n    key_sha256: " + sha("sk-k1-0123456789abcdef") + "\n" + simTail,
			want: []string{`ferry.yaml:5: keys[1].key_sha256 is the same key as keys[0]`},
		},
		{
			name: "key from an unset variable",
			src:  "keys:\n  - name: a\n    key: ${FERRY_KEY}\n" + simTail,
			want: []string{`ferry.yaml:3: keys[0].key is empty: ${FERRY_KEY} is not set`},
		},
		{
			name: "key shorter than 20 characters",
			src:  "keys:\n  - name: a\n    key: sk-0123456789abcdef\n" + simTail,
			want: []string{`ferry.yaml:3: keys[0].key is 19 characters long: a gateway key needs at least 20 (for example: openssl rand -hex 24)`},
		},
		{
			name: "key of 20 characters",
			src:  "keys:\n  - name: a\n    key: sk-0123456789abcdefg\n" + simTail,
		},
		{
			name: "body_timeout negative",
			src:  "limits:\n  body_timeout: -1s\n" + simTail,
			want: []string{`ferry.yaml:2: limits.body_timeout must not be negative`},
		},

		// providers
		{
			name: "providers missing",
			src:  "routes:\n  - match: \"*\"\n    targets: [{provider: sim}]\n",
			want: []string{
				`ferry.yaml:1: providers: at least one provider is required`,
				`ferry.yaml:3: routes[0].targets[0].provider "sim" is not defined`,
			},
		},
		{
			name: "providers empty",
			src:  "providers: []\nroutes:\n  - match: \"*\"\n    targets: [{provider: sim}]\n",
			want: []string{
				`ferry.yaml:1: providers: at least one provider is required`,
				`ferry.yaml:4: routes[0].targets[0].provider "sim" is not defined`,
			},
		},
		{
			name: "provider name required",
			src:  "providers:\n  - name: p\n    type: simulator\n  - type: simulator\n" + routeToP,
			want: []string{`ferry.yaml:4: providers[1].name is required`},
		},
		{
			name: "provider names unique",
			src:  "providers:\n  - name: p\n    type: simulator\n  - name: p\n    type: simulator\n" + routeToP,
			want: []string{`ferry.yaml:4: providers[1].name "p" is already used by providers[0]`},
		},
		{
			name: "provider name pattern",
			src:  "providers:\n  - name: p\n    type: simulator\n  - name: My-Sim\n    type: simulator\n  - name: -x\n    type: simulator\n  - name: a.b_c-9\n    type: simulator\n" + routeToP,
			want: []string{
				`ferry.yaml:4: providers[1].name "My-Sim" is invalid: use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit`,
				`ferry.yaml:6: providers[2].name "-x" is invalid: use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit`,
			},
		},
		{
			name: "provider type required",
			src:  "providers:\n  - name: p\n" + routeToP,
			want: []string{`ferry.yaml:2: providers[0].type is required (known types: anthropic, openai, simulator)`},
		},
		{
			name: "provider type unknown",
			src:  "providers:\n  - name: p\n    type: gemini\n" + routeToP,
			want: []string{`ferry.yaml:3: providers[0].type "gemini" is an unknown type (known types: anthropic, openai, simulator)`},
		},

		// openai
		{
			name: "openai profile required",
			src:  "providers:\n  - name: p\n    type: openai\n    base_urls: [http://127.0.0.1:8000/v1]\n" + routeToP,
			want: []string{`ferry.yaml:2: providers[0].profile is required for type openai (known profiles: openai, zhipu, dashscope, qianfan, deepseek, moonshot, vllm, ollama, generic)`},
		},
		{
			name: "openai profile unknown",
			src:  "providers:\n  - name: p\n    type: openai\n    profile: glm\n    api_key: k\n" + routeToP,
			want: []string{
				`ferry.yaml:2: providers[0].base_urls: at least one base URL is required`,
				`ferry.yaml:4: providers[0].profile "glm" is unknown (known profiles: openai, zhipu, dashscope, qianfan, deepseek, moonshot, vllm, ollama, generic)`,
			},
		},
		{
			name: "openai key required by profile",
			src:  "providers:\n  - name: p\n    type: openai\n    profile: deepseek\n" + routeToP,
			want: []string{`ferry.yaml:2: providers[0].api_key is required`},
		},
		{
			name: "openai local profile needs no key, takes default base URL",
			src:  "providers:\n  - name: p\n    type: openai\n    profile: ollama\n" + routeToP,
		},
		{
			name: "openai generic needs base_urls, no auth",
			src:  "providers:\n  - name: p\n    type: openai\n    profile: generic\n    auth: bearer\n" + routeToP,
			want: []string{
				`ferry.yaml:2: providers[0].base_urls: at least one base URL is required`,
				`ferry.yaml:5: providers[0].auth must not be set: OpenAI-compatible upstreams take a bearer token`,
			},
		},
		{
			name: "profile on anthropic",
			src:  "providers:\n  - name: p\n    type: anthropic\n    api_key: k\n    profile: zhipu\n" + routeToP,
			want: []string{`ferry.yaml:5: providers[0].profile must not be set: profiles apply only to type openai`},
		},

		// anthropic
		{
			name: "anthropic base_urls",
			src: `providers:
  - name: p
    type: anthropic
    api_key: sk
    base_urls:
      - relay.example.com
      - ftp://relay.example.com
      - https://
      - https://user:pass@relay.example.com
      - https://relay.example.com/?x=1
      - https://relay.example.com/#top
      - ""
      - https://relay.example.com/v1
      - https://relay.example.com/v1/
      - http://127.0.0.1:9000/anthropic
` + routeToP,
			want: []string{
				`ferry.yaml:6: providers[0].base_urls[0] is not an absolute http:// or https:// URL`,
				`ferry.yaml:7: providers[0].base_urls[1] is not an absolute http:// or https:// URL`,
				`ferry.yaml:8: providers[0].base_urls[2] has no host`,
				`ferry.yaml:9: providers[0].base_urls[3] must not hold a user name or password: put the credential in api_key`,
				`ferry.yaml:10: providers[0].base_urls[4] must not have a query or fragment`,
				`ferry.yaml:11: providers[0].base_urls[5] must not have a query or fragment`,
				`ferry.yaml:12: providers[0].base_urls[6] is empty`,
				`ferry.yaml:14: providers[0].base_urls[8] repeats base_urls[7]`,
			},
		},
		{
			name: "anthropic base_url from an unset variable",
			src:  "providers:\n  - name: p\n    type: anthropic\n    api_key: sk\n    base_urls: [\"${RELAY_URL}\"]\n" + routeToP,
			want: []string{`ferry.yaml:5: providers[0].base_urls[0] is empty: ${RELAY_URL} is not set`},
		},
		{
			name: "anthropic api_key required",
			src:  "providers:\n  - name: p\n    type: anthropic\n" + routeToP,
			want: []string{`ferry.yaml:2: providers[0].api_key is required`},
		},
		{
			name: "anthropic api_key from an unset variable",
			src:  "providers:\n  - name: p\n    type: anthropic\n    api_key: ${ANTHROPIC_API_KEY}\n" + routeToP,
			want: []string{`ferry.yaml:4: providers[0].api_key is empty: ${ANTHROPIC_API_KEY} is not set`},
		},
		{
			name: "anthropic api_key from an empty variable",
			src:  "providers:\n  - name: p\n    type: anthropic\n    api_key: ${ANTHROPIC_API_KEY}\n" + routeToP,
			env:  map[string]string{"ANTHROPIC_API_KEY": ""},
			want: []string{`ferry.yaml:4: providers[0].api_key is empty: ${ANTHROPIC_API_KEY} is empty`},
		},
		{
			name: "anthropic auth",
			src:  "providers:\n  - name: p\n    type: anthropic\n    api_key: sk\n    auth: basic\n" + routeToP,
			want: []string{`ferry.yaml:5: providers[0].auth "basic" is unknown: use x-api-key or bearer`},
		},
		{
			name: "anthropic auth bearer",
			src:  "providers:\n  - name: p\n    type: anthropic\n    api_key: sk\n    auth: bearer\n" + routeToP,
		},
		{
			name: "headers",
			src: `providers:
  - name: p
    type: anthropic
    api_key: sk
    headers:
      X-Api-Key: a
      Authorization: b
      Host: c
      Content-Length: "1"
      Connection: close
      Keep-Alive: x
      Proxy-Authorization: x
      TE: trailers
      Trailer: x
      Transfer-Encoding: chunked
      Upgrade: h2c
      bad header: x
      X-Tag: a
      x-tag: b
      X-Ctl: "a\x01b"
      anthropic-beta: fine
      X-Tab: "a\tb"
` + routeToP,
			want: []string{
				`ferry.yaml:6: providers[0].headers["X-Api-Key"] must not be set: Ferry sends the credential from api_key, as auth says`,
				`ferry.yaml:7: providers[0].headers["Authorization"] must not be set: Ferry sends the credential from api_key, as auth says`,
				`ferry.yaml:8: providers[0].headers["Host"] must not be set: Ferry sets it for each request`,
				`ferry.yaml:9: providers[0].headers["Content-Length"] must not be set: Ferry sets it for each request`,
				`ferry.yaml:10: providers[0].headers["Connection"] must not be set: it is a hop-by-hop header`,
				`ferry.yaml:11: providers[0].headers["Keep-Alive"] must not be set: it is a hop-by-hop header`,
				`ferry.yaml:12: providers[0].headers["Proxy-Authorization"] must not be set: it is a hop-by-hop header`,
				`ferry.yaml:13: providers[0].headers["TE"] must not be set: it is a hop-by-hop header`,
				`ferry.yaml:14: providers[0].headers["Trailer"] must not be set: it is a hop-by-hop header`,
				`ferry.yaml:15: providers[0].headers["Transfer-Encoding"] must not be set: it is a hop-by-hop header`,
				`ferry.yaml:16: providers[0].headers["Upgrade"] must not be set: it is a hop-by-hop header`,
				`ferry.yaml:17: providers[0].headers["bad header"] is not a valid header name`,
				`ferry.yaml:19: providers[0].headers["x-tag"] is the same header as headers["X-Tag"]`,
				`ferry.yaml:20: providers[0].headers["X-Ctl"] has a value with control characters, which HTTP forbids`,
			},
		},
		{
			name: "header value from an unset variable",
			src:  "providers:\n  - name: p\n    type: anthropic\n    api_key: sk\n    headers:\n      X-Relay-Token: ${RELAY_TOKEN}\n" + routeToP,
			want: []string{`ferry.yaml:6: providers[0].headers["X-Relay-Token"] is empty: ${RELAY_TOKEN} is not set (write ${RELAY_TOKEN:-} to allow that)`},
		},
		{
			name: "simulator settings on anthropic",
			src:  "providers:\n  - name: p\n    type: anthropic\n    api_key: sk\n    simulator:\n      text: hi\n" + routeToP,
			want: []string{`ferry.yaml:5: providers[0].simulator must not be set: it applies only to type simulator`},
		},

		// simulator
		{
			name: "simulator with upstream settings",
			src:  "providers:\n  - name: p\n    type: simulator\n    base_urls: [https://x.example]\n    api_key: sk\n    auth: bearer\n" + routeToP,
			want: []string{
				`ferry.yaml:4: providers[0].base_urls must not be set: a simulator makes no upstream calls`,
				`ferry.yaml:5: providers[0].api_key must not be set: a simulator makes no upstream calls`,
				`ferry.yaml:6: providers[0].auth must not be set: a simulator makes no upstream calls`,
			},
		},
		{
			name: "simulator shares",
			src: `providers:
  - name: p
    type: simulator
    simulator:
      tool_use: 1.5
      errors:
        rate_limit: -0.1
        api_error: .nan
        overloaded: 1
` + routeToP,
			want: []string{
				`ferry.yaml:5: providers[0].simulator.tool_use 1.5 is not between 0 and 1`,
				`ferry.yaml:7: providers[0].simulator.errors.rate_limit -0.1 is not between 0 and 1`,
				`ferry.yaml:8: providers[0].simulator.errors.api_error NaN is not between 0 and 1`,
			},
		},
		{
			name: "simulator error shares add up to more than 1",
			src:  "providers:\n  - name: p\n    type: simulator\n    simulator:\n      errors:\n        rate_limit: 0.5\n        api_error: 0.4\n        overloaded: 0.2\n" + routeToP,
			want: []string{`ferry.yaml:5: providers[0].simulator.errors: rate_limit, api_error and overloaded add up to 1.1, more than 1`},
		},
		{
			name: "simulator error shares adding up to exactly 1",
			src:  "providers:\n  - name: p\n    type: simulator\n    simulator:\n      errors:\n        rate_limit: 0.1\n        api_error: 0.2\n        overloaded: 0.7\n" + routeToP,
		},
		{
			name: "simulator pace",
			src:  "providers:\n  - name: p\n    type: simulator\n    simulator:\n      first_token: -1s\n      tokens_per_second: -5\n" + routeToP,
			want: []string{
				`ferry.yaml:5: providers[0].simulator.first_token must not be negative`,
				`ferry.yaml:6: providers[0].simulator.tokens_per_second must be 0 or more`,
			},
		},
		{
			name: "timeouts",
			src: `providers:
  - name: p
    type: simulator
    timeouts:
      connect: -1s
      tls_handshake: -1s
      response_header: -1ms
      stream_idle: -1m
      node_down: -2s
` + routeToP,
			want: []string{
				`ferry.yaml:5: providers[0].timeouts.connect must not be negative`,
				`ferry.yaml:6: providers[0].timeouts.tls_handshake must not be negative`,
				`ferry.yaml:7: providers[0].timeouts.response_header must not be negative`,
				`ferry.yaml:8: providers[0].timeouts.stream_idle must not be negative`,
				`ferry.yaml:9: providers[0].timeouts.node_down must not be negative`,
			},
		},

		// routes
		{
			name: "routes missing",
			src:  "providers:\n  - name: p\n    type: simulator\n",
			want: []string{`ferry.yaml:1: routes: at least one route is required`},
		},
		{
			name: "route match required",
			src:  "providers:\n  - name: p\n    type: simulator\nroutes:\n  - targets: [{provider: p}]\n",
			want: []string{`ferry.yaml:5: routes[0].match is required`},
		},
		{
			name: "route match patterns",
			src: `providers:
  - name: p
    type: simulator
routes:
  - match: claude-*
    targets: [{provider: p}]
  - match: "*-latest"
    targets: [{provider: p}]
  - match: exact-name
    targets: [{provider: p}]
  - match: "*"
    targets: [{provider: p}]
  - match: claude-*-latest
    targets: [{provider: p}]
  - match: "*claude*"
    targets: [{provider: p}]
  - match: "**"
    targets: [{provider: p}]
`,
			want: []string{
				`ferry.yaml:13: routes[4].match "claude-*-latest" is not a valid pattern: use an exact name, "prefix*", "*suffix" or "*"`,
				`ferry.yaml:15: routes[5].match "*claude*" is not a valid pattern: use an exact name, "prefix*", "*suffix" or "*"`,
				`ferry.yaml:17: routes[6].match "**" is not a valid pattern: use an exact name, "prefix*", "*suffix" or "*"`,
			},
		},
		{
			name: "route match unique",
			src:  "providers:\n  - name: p\n    type: simulator\nroutes:\n  - match: \"*\"\n    targets: [{provider: p}]\n  - match: \"*\"\n    targets: [{provider: p}]\n",
			want: []string{`ferry.yaml:7: routes[1].match "*" is already used by routes[0]`},
		},
		{
			name: "route targets required",
			src:  "providers:\n  - name: p\n    type: simulator\nroutes:\n  - match: \"*\"\n  - match: x\n    targets: []\n",
			want: []string{
				`ferry.yaml:5: routes[0].targets: at least one target is required`,
				`ferry.yaml:7: routes[1].targets: at least one target is required`,
			},
		},
		{
			name: "target provider required",
			src:  "providers:\n  - name: p\n    type: simulator\nroutes:\n  - match: \"*\"\n    targets:\n      - model: m\n",
			want: []string{`ferry.yaml:7: routes[0].targets[0].provider is required`},
		},
		{
			name: "target provider not defined",
			src: `providers:
  - name: glm
    type: simulator
routes:
  - match: glm-*
    targets:
      - provider: glm
      - provider: glmm
`,
			want: []string{`ferry.yaml:8: routes[0].targets[1].provider "glmm" is not defined`},
		},
		{
			name: "route models",
			src: `providers:
  - name: p
    type: simulator
routes:
  - match: "*"
    models: [a, "", b, a]
    targets: [{provider: p}]
  - match: x
    models: [a]
    targets: [{provider: p}]
`,
			want: []string{
				`ferry.yaml:6: routes[0].models[1] is empty`,
				`ferry.yaml:6: routes[0].models[3] "a" is already listed as models[0]`,
			},
		},

		// limits, log, shutdown_timeout
		{
			name: "max_request_bytes negative",
			src:  "limits:\n  max_request_bytes: -1\n" + simTail,
			want: []string{`ferry.yaml:2: limits.max_request_bytes -1 is out of range: it must be more than 0 and at most 1073741824 (1 GiB)`},
		},
		{
			name: "max_request_bytes over 1 GiB",
			src:  "limits:\n  max_request_bytes: 1073741825\n" + simTail,
			want: []string{`ferry.yaml:2: limits.max_request_bytes 1073741825 is out of range: it must be more than 0 and at most 1073741824 (1 GiB)`},
		},
		{
			name: "max_request_bytes of exactly 1 GiB",
			src:  "limits:\n  max_request_bytes: 1073741824\n" + simTail,
		},
		{
			name: "log level and format",
			src:  "log:\n  level: verbose\n  format: xml\n" + simTail,
			want: []string{
				`ferry.yaml:2: log.level "verbose" is unknown: use debug, info, warn or error`,
				`ferry.yaml:3: log.format "xml" is unknown: use json or text`,
			},
		},
		{
			name: "log level and format, valid",
			src:  "log:\n  level: debug\n  format: text\n" + simTail,
		},
		{
			name: "shutdown_timeout negative",
			src:  "shutdown_timeout: -5s\n" + simTail,
			want: []string{`ferry.yaml:1: shutdown_timeout must not be negative`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProblems(t, tt.src, envOf(tt.env))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestValidateInCode checks Validate on Configs built in code: problems
// have paths but no file or line.
func TestValidateInCode(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		var c Config
		c.ApplyDefaults()
		got := problemLines(t, c.Validate())
		want := []string{
			"providers: at least one provider is required",
			"routes: at least one route is required",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
	})
	t.Run("valid", func(t *testing.T) {
		c := Config{
			Providers: []Provider{{Name: "sim", Type: TypeSimulator}},
			Routes:    []Route{{Match: "*", Targets: []Target{{Provider: "sim"}}}},
		}
		c.ApplyDefaults()
		if err := c.Validate(); err != nil {
			t.Fatalf("Validate: %v", err)
		}
	})
	t.Run("without defaults", func(t *testing.T) {
		c := Config{
			Providers: []Provider{{Name: "a", Type: TypeAnthropic, APIKey: "sk"}},
			Routes:    []Route{{Match: "*", Targets: []Target{{Provider: "a"}}}},
		}
		got := problemLines(t, c.Validate())
		want := []string{
			"listen is required",
			`admin.listen is required (or "off")`,
			"providers[0].base_urls: at least one base URL is required",
			`providers[0].auth "" is unknown: use x-api-key or bearer`,
			"limits.max_request_bytes 0 is out of range: it must be more than 0 and at most 1073741824 (1 GiB)",
			`log.level "" is unknown: use debug, info, warn or error`,
			`log.format "" is unknown: use json or text`,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
	})
}
