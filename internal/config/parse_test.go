package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseValid(t *testing.T) {
	src := `listen: 0.0.0.0:9000
admin:
  listen: off
keys:
  - name: ci
    key: sk-ci-0123456789abcdef
providers:
  - name: up
    type: anthropic
    base_urls: [https://relay.example.com]
    api_key: sk
    auth: bearer
    headers: {X-Tag: ferry}
    timeouts:
      connect: 1s
      stream_idle: 90s
  - name: sim
    type: simulator
    simulator:
      text: hello
      first_token: 250ms
      tokens_per_second: 40
      errors: {rate_limit: 0.1, api_error: 0.05, overloaded: 0.05}
      tool_use: 0.5
      seed: 7
routes:
  - match: claude-*
    models: [claude-x]
    targets:
      - provider: up
        model: claude-y
      - provider: sim
  - match: "*"
    targets: [{provider: sim}]
limits:
  max_request_bytes: 1048576
log:
  level: warn
  format: text
shutdown_timeout: 1m
`
	got, err := Parse([]byte(src), "ferry.yaml", noEnv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	def := DefaultTimeouts()
	want := &Config{
		Listen: "0.0.0.0:9000",
		Admin:  Admin{Listen: "off"},
		Keys:   []Key{{Name: "ci", Key: "sk-ci-0123456789abcdef"}},
		Providers: []Provider{
			{
				Name:     "up",
				Type:     TypeAnthropic,
				BaseURLs: []string{"https://relay.example.com"},
				APIKey:   "sk",
				Auth:     AuthBearer,
				Headers:  map[string]string{"X-Tag": "ferry"},
				Timeouts: Timeouts{
					Connect:        time.Second,
					TLSHandshake:   def.TLSHandshake,
					ResponseHeader: def.ResponseHeader,
					StreamIdle:     90 * time.Second,
					NodeDown:       def.NodeDown,
					Total:          def.Total,
				},
			},
			{
				Name:     "sim",
				Type:     TypeSimulator,
				Timeouts: def,
				Simulator: Simulator{
					Text:            "hello",
					FirstToken:      250 * time.Millisecond,
					TokensPerSecond: 40,
					Errors:          SimErrors{RateLimit: 0.1, APIError: 0.05, Overloaded: 0.05},
					ToolUse:         0.5,
					Seed:            7,
				},
			},
		},
		Routes: []Route{
			{Match: "claude-*", Models: []string{"claude-x"}, Targets: []Target{{Provider: "up", Model: "claude-y"}, {Provider: "sim"}}},
			{Match: "*", Targets: []Target{{Provider: "sim"}}},
		},
		Limits:          Limits{MaxRequestBytes: 1 << 20, BodyTimeout: DefaultBodyTimeout},
		Log:             Log{Level: "warn", Format: "text"},
		ShutdownTimeout: time.Minute,
		DataDir:         DefaultDataDir,
		KeysRefresh:     DefaultKeysRefresh,
	}
	withFeatureDefaults(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if got.Admin.Enabled() {
		t.Error("admin off: Enabled() = true")
	}
}

func TestParseUnknownFields(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "top level, with a suggestion",
			src:  "lisen: 127.0.0.1:8080\n" + simTail,
			want: []string{`ferry.yaml:1: lisen: unknown field (did you mean listen?)`},
		},
		{
			name: "top level, no suggestion",
			src:  simTail + "telemetry: true\n",
			want: []string{`ferry.yaml:7: telemetry: unknown field`},
		},
		{
			name: "top level, wrong case",
			src:  "Listen: 127.0.0.1:8080\n" + simTail,
			want: []string{`ferry.yaml:1: Listen: unknown field (did you mean listen?)`},
		},
		{
			name: "nested in a list",
			src: `providers:
  - name: p
    type: simulator
  - name: q
    type: anthropic
    api_key: sk
    base_url: https://relay.example.com
` + routeToP,
			want: []string{`ferry.yaml:7: providers[1].base_url: unknown field (did you mean base_urls?)`},
		},
		{
			name: "deeply nested",
			src:  "providers:\n  - name: p\n    type: simulator\n    simulator:\n      errors:\n        rate_limits: 0.1\n" + routeToP,
			want: []string{`ferry.yaml:6: providers[0].simulator.errors.rate_limits: unknown field (did you mean rate_limit?)`},
		},
		{
			name: "the field a typo meant is not also reported missing",
			src:  "providers:\n  - name: p\n    type: anthropic\n    api_kye: sk\n" + routeToP,
			want: []string{`ferry.yaml:4: providers[0].api_kye: unknown field (did you mean api_key?)`},
		},
		{
			name: "a field at the wrong level",
			src:  "api_key: sk\n" + simTail,
			want: []string{`ferry.yaml:1: api_key: unknown field`},
		},
		{
			name: "keys are not interpolated",
			src:  "${LISTEN}: x\n" + simTail,
			want: []string{`ferry.yaml:1: ${LISTEN}: unknown field`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProblems(t, tt.src, envOf(map[string]string{"LISTEN": "listen"}))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTypeErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "list for a string",
			src:  "listen: [a, b]\n" + simTail,
			want: []string{`ferry.yaml:1: listen: expected a string, got a list`},
		},
		{
			name: "mapping for a list",
			src:  "providers:\n  name: p\n  type: simulator\nroutes: []\n",
			want: []string{
				`ferry.yaml:2: providers: expected a list, got a mapping`,
				`ferry.yaml:4: routes: at least one route is required`,
			},
		},
		{
			name: "string for a list, not quoted (it might be a secret)",
			src:  "keys: sk-secret\n" + simTail,
			want: []string{`ferry.yaml:1: keys: expected a list, got a string`},
		},
		{
			name: "string for a list of URLs",
			src:  "providers:\n  - name: p\n    type: anthropic\n    api_key: sk\n    base_urls: https://relay.example.com\n" + routeToP,
			want: []string{`ferry.yaml:5: providers[0].base_urls: expected a list, got a string`},
		},
		{
			name: "string for a mapping",
			src:  "providers:\n  - simulator\n" + routeToP,
			want: []string{
				`ferry.yaml:2: providers[0]: expected a mapping, got a string`,
				`ferry.yaml:5: routes[0].targets[0].provider "p" is not defined`,
			},
		},
		{
			name: "number for a duration",
			src:  "shutdown_timeout: 30\n" + simTail,
			want: []string{`ferry.yaml:1: shutdown_timeout: expected a duration such as 30s, 5m or 1h30m, got "30"`},
		},
		{
			name: "bad duration",
			src:  "providers:\n  - name: p\n    type: simulator\n    timeouts:\n      connect: 10 seconds\n" + routeToP,
			want: []string{`ferry.yaml:5: providers[0].timeouts.connect: expected a duration such as 30s, 5m or 1h30m, got "10 seconds"`},
		},
		{
			name: "word for a number",
			src:  "providers:\n  - name: p\n    type: simulator\n    simulator:\n      tokens_per_second: fast\n" + routeToP,
			want: []string{`ferry.yaml:5: providers[0].simulator.tokens_per_second: expected a number, got "fast"`},
		},
		{
			name: "quoted number for a number",
			src:  "providers:\n  - name: p\n    type: simulator\n    simulator:\n      tool_use: \"0.5\"\n" + routeToP,
			want: []string{`ferry.yaml:5: providers[0].simulator.tool_use: expected a number, got "0.5"`},
		},
		{
			name: "negative seed",
			src:  "providers:\n  - name: p\n    type: simulator\n    simulator:\n      seed: -1\n" + routeToP,
			want: []string{`ferry.yaml:5: providers[0].simulator.seed: expected a whole number, 0 or more, got "-1"`},
		},
		{
			name: "size with a unit",
			src:  "limits:\n  max_request_bytes: 32MiB\n" + simTail,
			want: []string{`ferry.yaml:2: limits.max_request_bytes: expected a whole number, got "32MiB"`},
		},
		{
			name: "list for headers",
			src:  "providers:\n  - name: p\n    type: anthropic\n    api_key: sk\n    headers: [X-A]\n" + routeToP,
			want: []string{`ferry.yaml:5: providers[0].headers: expected a mapping, got a list`},
		},
		{
			name: "mapping for a header value",
			src:  "providers:\n  - name: p\n    type: anthropic\n    api_key: sk\n    headers:\n      X-A: {b: c}\n" + routeToP,
			want: []string{`ferry.yaml:6: providers[0].headers["X-A"]: expected a string, got a mapping`},
		},
		{
			name: "a value that cannot be decoded is not also reported missing",
			src:  "providers:\n  - name: p\n    type: [simulator]\n" + routeToP,
			want: []string{`ferry.yaml:3: providers[0].type: expected a string, got a list`},
		},
		{
			name: "numbers and booleans are strings where strings are wanted",
			src:  "keys:\n  - name: true\n    key: 123456789012345678901234\n" + simTail,
		},
		{
			name: "the whole file not a mapping",
			src:  "- a\n- b\n",
			want: []string{
				`ferry.yaml:1: expected a mapping, got a list`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProblems(t, tt.src, noEnv)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseYAMLStructure(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "syntax error",
			src:  "providers:\n  - name: p\n    type: simulator: x\n" + routeToP,
			want: []string{`ferry.yaml:3: invalid YAML: mapping values are not allowed in this context`},
		},
		{
			name: "bare star",
			src:  "providers:\n  - name: p\n    type: simulator\nroutes:\n  - match: *\n    targets: [{provider: p}]\n",
			want: []string{`ferry.yaml:5: invalid YAML: did not find expected alphabetic or numeric character (a value starting with * must be quoted, e.g. match: "*")`},
		},
		{
			name: "tab indentation",
			src:  "log:\n\tlevel: info\n",
			want: []string{`ferry.yaml:2: invalid YAML: found character that cannot start any token`},
		},
		{
			name: "two documents",
			src:  simTail + "---\nlisten: 127.0.0.1:1\n",
			want: []string{`ferry.yaml:7: a second YAML document: the file must hold one`},
		},
		{
			name: "leading document marker",
			src:  "---\n" + simTail,
		},
		{
			name: "empty file",
			src:  "",
			want: []string{
				`ferry.yaml: providers: at least one provider is required`,
				`ferry.yaml: routes: at least one route is required`,
			},
		},
		{
			name: "comments only",
			src:  "# nothing yet\n",
			want: []string{
				`ferry.yaml: providers: at least one provider is required`,
				`ferry.yaml: routes: at least one route is required`,
			},
		},
		{
			name: "duplicate key",
			src:  "listen: 127.0.0.1:1\n" + simTail + "listen: 127.0.0.1:2\n",
			want: []string{`ferry.yaml:8: listen: duplicate key (first at line 1)`},
		},
		{
			name: "duplicate header",
			src:  "providers:\n  - name: p\n    type: anthropic\n    api_key: sk\n    headers:\n      X-A: a\n      X-A: b\n" + routeToP,
			want: []string{`ferry.yaml:7: providers[0].headers["X-A"]: duplicate key (first at line 6)`},
		},
		{
			name: "anchors, aliases and merge keys",
			src: `x-timeouts: &timeouts
  connect: 3s
providers:
  - &base
    name: p
    type: simulator
    timeouts: *timeouts
  - <<: *base
    name: q
routes:
  - match: "*"
    targets: [{provider: p}, {provider: q}]
`,
			want: []string{`ferry.yaml:1: x-timeouts: unknown field`},
		},
		{
			name: "merge of a scalar",
			src:  "providers:\n  - <<: 1\n    name: p\n    type: simulator\n" + routeToP,
			want: []string{`ferry.yaml:2: providers[0]: << must be followed by a mapping or a list of mappings, not a number`},
		},
		{
			name: "non-string key",
			src:  "providers:\n  - name: p\n    type: simulator\n    ? [a]\n    : b\n" + routeToP,
			want: []string{`ferry.yaml:4: providers[0]: a key must be a string, not a list`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProblems(t, tt.src, noEnv)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseAliasBomb checks that aliases cannot make a small file take
// unbounded work: a few kilobytes that expand to a million values.
func TestParseAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("providers:\n  - name: p\n    type: simulator\nroutes:\n  - &r\n    match: m0\n    targets: [{provider: p}]\n    models: &m [")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "x%d", i)
	}
	b.WriteString("]\n")
	for range 1000 {
		b.WriteString("  - *r\n")
	}
	got := parseProblems(t, b.String(), noEnv)
	want := []string{`ferry.yaml:8: the file is too large once its aliases are expanded`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestParseMergeKeys(t *testing.T) {
	src := `providers:
  - &base
    name: p
    type: simulator
    timeouts: &t
      connect: 3s
  - <<: *base
    name: q
    timeouts:
      <<: *t
      node_down: 1m
routes:
  - match: "*"
    targets: [{provider: p}, {provider: q}]
`
	cfg, err := Parse([]byte(src), "ferry.yaml", noEnv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	def := DefaultTimeouts()
	want := []Provider{
		{Name: "p", Type: TypeSimulator, Timeouts: Timeouts{Connect: 3 * time.Second, TLSHandshake: def.TLSHandshake, ResponseHeader: def.ResponseHeader, StreamIdle: def.StreamIdle, NodeDown: def.NodeDown, Total: def.Total}},
		{Name: "q", Type: TypeSimulator, Timeouts: Timeouts{Connect: 3 * time.Second, TLSHandshake: def.TLSHandshake, ResponseHeader: def.ResponseHeader, StreamIdle: def.StreamIdle, NodeDown: time.Minute, Total: def.Total}},
	}
	for i := range want {
		want[i].resilienceDefaults()
	}
	if diff := cmp.Diff(want, cfg.Providers); diff != "" {
		t.Errorf("providers (-want +got):\n%s", diff)
	}
}

// TestParseManyProblems checks that problems of every stage are reported
// together, in file order.
func TestParseManyProblems(t *testing.T) {
	src := `listen: 127.0.0.1
admin:
  listen: 127.0.0.1:8081
  enabled: true
providers:
  - name: anthropic
    type: anthropic
    api_key: ${ANTHROPIC_API_KEY}
    timeouts:
      connect: 10
  - name: glm
    type: openai
    profile: glm
routes:
  - match: claude-*
    targets:
      - provider: anthropic
      - provider: glmm
  - match: claude-*
    targets: []
log:
  level: loud
`
	got := parseProblems(t, src, noEnv)
	want := []string{
		`ferry.yaml:1: listen "127.0.0.1" is not host:port with a numeric port (e.g. 127.0.0.1:8080)`,
		`ferry.yaml:4: admin.enabled: unknown field`,
		`ferry.yaml:8: providers[0].api_key is empty: ${ANTHROPIC_API_KEY} is not set`,
		`ferry.yaml:10: providers[0].timeouts.connect: expected a duration such as 30s, 5m or 1h30m, got "10"`,
		`ferry.yaml:11: providers[1].base_urls: at least one base URL is required`,
		`ferry.yaml:13: providers[1].profile "glm" is unknown (known profiles: openai, zhipu, dashscope, qianfan, deepseek, moonshot, vllm, ollama, generic)`,
		`ferry.yaml:18: routes[0].targets[1].provider "glmm" is not defined`,
		`ferry.yaml:19: routes[1].match "claude-*" is already used by routes[0]`,
		`ferry.yaml:20: routes[1].targets: at least one target is required`,
		`ferry.yaml:22: log.level "loud" is unknown: use debug, info, warn or error`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Run("valid", func(t *testing.T) {
		path := filepath.Join(dir, "ok.yaml")
		if err := os.WriteFile(path, []byte(simTail), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path, noEnv)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if cfg.Providers[0].Name != "sim" {
			t.Errorf("provider = %q", cfg.Providers[0].Name)
		}
	})
	t.Run("problems name the file", func(t *testing.T) {
		path := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(path, []byte("lsiten: x\n"+simTail), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path, noEnv)
		want := []string{path + ":1: lsiten: unknown field (did you mean listen?)"}
		if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "nope.yaml"), noEnv)
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("err = %v, want one that is os.ErrNotExist", err)
		}
	})
}

func TestProblemError(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "ferry.yaml", Line: 12, Path: "routes[0].targets[1].provider", Msg: `"glmm" is not defined`}, `ferry.yaml:12: routes[0].targets[1].provider "glmm" is not defined`},
		{Problem{File: "ferry.yaml", Line: 7, Path: "providers[1].base_url", Msg: ": unknown field (did you mean base_urls?)"}, `ferry.yaml:7: providers[1].base_url: unknown field (did you mean base_urls?)`},
		{Problem{File: "ferry.yaml", Path: "providers", Msg: ": at least one provider is required"}, `ferry.yaml: providers: at least one provider is required`},
		{Problem{Path: "listen", Msg: "is required"}, `listen is required`},
		{Problem{Line: 3, Msg: ": expected a mapping, got a list"}, `line 3: expected a mapping, got a list`},
		{Problem{File: "f.yaml", Line: 2, Msg: "invalid YAML: x"}, `f.yaml:2: invalid YAML: x`},
	}
	for _, tt := range tests {
		if got := tt.p.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	ps := Problems{tests[0].p, tests[1].p}
	if got, want := ps.Error(), tests[0].want+"\n"+tests[1].want; got != want {
		t.Errorf("Problems.Error() = %q, want %q", got, want)
	}
	var as Problems
	if !errors.As(error(ps), &as) || len(as) != 2 {
		t.Errorf("errors.As(Problems) = %v", as)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"name", "type", "base_urls", "api_key", "auth", "headers", "timeouts", "simulator"}
	tests := map[string]string{
		"base_url":   "base_urls",
		"baseurls":   "base_urls",
		"apikey":     "api_key",
		"API_KEY":    "api_key",
		"typ":        "type",
		"header":     "headers",
		"timeout":    "timeouts",
		"x":          "",
		"model":      "",
		"url":        "",
		"simulation": "simulator",
	}
	for name, want := range tests {
		if got := suggest(name, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", name, got, want)
		}
	}
}
