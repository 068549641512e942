// Package config is Ferry's typed configuration tree: loading from YAML with
// ${ENV} interpolation, embedded defaults, and validation that reports every
// problem with its file and line.
//
// The usual life of a Config:
//
//	cfg, err := config.Load("ferry.yaml", os.LookupEnv) // parse, default, validate
//	var ps config.Problems
//	if errors.As(err, &ps) {
//		for _, p := range ps {
//			fmt.Fprintln(os.Stderr, p) // ferry.yaml:12: routes[0].targets[1].provider "glmm" is not defined
//		}
//	}
//
// Without a file, Defaults builds a working Config from the environment. A
// Config built in code should go through ApplyDefaults and Validate too.
// docs/config.md documents every field.
package config

import (
	"log/slog"
	"time"
)

// Config is the whole configuration.
type Config struct {
	Listen          string        `yaml:"listen"`           // public listener, default 127.0.0.1:8080
	Admin           Admin         `yaml:"admin"`            // admin/metrics listener
	Keys            []Key         `yaml:"keys"`             // gateway keys; none means loopback-only, unauthenticated
	Providers       []Provider    `yaml:"providers"`        // upstreams
	Routes          []Route       `yaml:"routes"`           // model name -> targets
	Limits          Limits        `yaml:"limits"`           // request limits
	RateLimits      RateLimits    `yaml:"rate_limits"`      // requests, tokens and concurrency per scope
	Cache           Cache         `yaml:"cache"`            // response cache, coalescing, duplicate suppression
	Redis           Redis         `yaml:"redis"`            // shared state for several instances
	Shadow          Shadow        `yaml:"shadow"`           // the shadow-traffic queue (routes choose what to mirror)
	Usage           Usage         `yaml:"usage"`            // ledger, prices, budgets, rate alerts
	Alerts          Alerts        `yaml:"alerts"`           // alert webhooks
	Log             Log           `yaml:"log"`              // logging
	Guard           Guard         `yaml:"guard"`            // PII, secrets and word filtering (guard.go)
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"` // grace period for in-flight requests, default 30s
	DataDir         string        `yaml:"data_dir"`         // SQLite's directory, default ./ferry-data
	Store           Secret        `yaml:"store"`            // postgres://… to share state between instances; empty: SQLite in data_dir
	AdminKey        Secret        `yaml:"admin_key"`        // the bootstrap admin key (or FERRY_ADMIN_KEY); managed keys are made with it
	KeysRefresh     time.Duration `yaml:"keys_refresh"`     // how often managed keys are re-read, default 1s, at most 5s
	Metrics         Metrics       `yaml:"metrics"`          // metric labels: the known traffic tags (observe.go)
	Tracing         Tracing       `yaml:"tracing"`          // OpenTelemetry export (observe.go)
	TLS             TLS           `yaml:"tls"`              // TLS on the public listener (tls.go)
	BasePath        string        `yaml:"base_path"`        // serve the public API under this prefix, as /proxy (tls.go)
	HMAC            HMAC          `yaml:"hmac"`             // signed service requests (tls.go)
}

// Admin is the separate listener for /metrics (and later the admin API).
type Admin struct {
	Listen string `yaml:"listen"` // default 127.0.0.1:8081; "off" disables it
	Token  Secret `yaml:"token"`  // bearer token for /admin/*; required when the listener is not on loopback
}

// AdminOff as Admin.Listen disables the admin listener.
const AdminOff = "off"

// Enabled reports whether the admin listener should run.
func (a Admin) Enabled() bool { return a.Listen != "" && a.Listen != AdminOff }

// Key is one gateway key a client may present.
type Key struct {
	Name      string `yaml:"name"`
	Key       Secret `yaml:"key"`        // the key itself; or
	KeySHA256 string `yaml:"key_sha256"` // its SHA-256, hex, so the file need not hold the key
}

// Provider types.
const (
	TypeAnthropic = "anthropic"
	TypeOpenAI    = "openai"
	TypeSimulator = "simulator"
)

// Auth header styles for Anthropic-format upstreams.
const (
	AuthXAPIKey = "x-api-key"
	AuthBearer  = "bearer"
)

// Provider is one upstream service.
type Provider struct {
	Name      string            `yaml:"name"`
	Type      string            `yaml:"type"`      // anthropic | openai | simulator
	Profile   string            `yaml:"profile"`   // openai: the vendor profile (openai, zhipu, dashscope, qianfan, deepseek, moonshot, vllm, ollama, generic)
	BaseURLs  []string          `yaml:"base_urls"` // nodes, tried in order; anthropic default https://api.anthropic.com, openai: the profile's
	APIKey    Secret            `yaml:"api_key"`   // the provider's credential (optional for vllm, ollama, generic)
	Auth      string            `yaml:"auth"`      // anthropic: x-api-key (default) | bearer; openai always sends a bearer token
	Headers   map[string]string `yaml:"headers"`   // extra static headers sent upstream
	Timeouts  Timeouts          `yaml:"timeouts"`
	Simulator Simulator         `yaml:"simulator"` // simulator settings

	Policy      string      `yaml:"policy"`       // how a node is chosen: priority (default) | weighted | least_latency | least_inflight
	NodeWeights []int       `yaml:"node_weights"` // weighted: one weight per base_url
	NodeNames   []string    `yaml:"node_names"`   // optional: one name per base_url for logs, metrics, X-Ferry-Node (default host:port)
	Retry       Retry       `yaml:"retry"`        // retries of failed attempts
	Breaker     Breaker     `yaml:"breaker"`      // per-node circuit breaker
	HealthCheck HealthCheck `yaml:"health_check"` // active health checks
	Bulkhead    Bulkhead    `yaml:"bulkhead"`     // cap on in-flight requests
	// ForwardHeaders are client headers passed upstream as they are
	// (policy.go); Params is the parameter policy.
	ForwardHeaders []string `yaml:"forward_headers"`
	Params         Params   `yaml:"params"`
	// CAFile adds a PEM CA bundle to the system roots for this provider;
	// PinSHA256 pins its certificates by SPKI SHA-256 (base64).
	CAFile    string   `yaml:"ca_file"`
	PinSHA256 []string `yaml:"pin_sha256"`
}

// Timeouts bound each phase of an upstream call.
type Timeouts struct {
	Connect        time.Duration `yaml:"connect"`         // TCP connect, default 10s
	TLSHandshake   time.Duration `yaml:"tls_handshake"`   // default 10s
	ResponseHeader time.Duration `yaml:"response_header"` // until the response headers, default 10m (a non-streaming answer arrives whole)
	StreamIdle     time.Duration `yaml:"stream_idle"`     // longest silence between stream events, default 5m
	NodeDown       time.Duration `yaml:"node_down"`       // how long a node that refused a connection is skipped, default 10s
	Total          time.Duration `yaml:"total"`           // deadline for the whole request until its answer starts (retries included), and for a whole non-streaming answer; default 10m
}

// Simulator configures the built-in fake model.
type Simulator struct {
	Text            string        `yaml:"text"`              // the answer; default: a sentence quoting the last user message
	FirstToken      time.Duration `yaml:"first_token"`       // time to the first token
	TokensPerSecond float64       `yaml:"tokens_per_second"` // 0: as fast as possible
	Errors          SimErrors     `yaml:"errors"`            // shares of answers that are errors
	ToolUse         float64       `yaml:"tool_use"`          // share of answers (to requests with tools) that call a tool
	Seed            uint64        `yaml:"seed"`              // seeds the outcome sequence
}

// SimErrors are shares in [0,1] of simulated error answers; their sum is at most 1.
type SimErrors struct {
	RateLimit  float64 `yaml:"rate_limit"` // 429 rate_limit_error
	APIError   float64 `yaml:"api_error"`  // 500 api_error
	Overloaded float64 `yaml:"overloaded"` // 529 overloaded_error
}

// Route maps model names to targets.
type Route struct {
	Match    string        `yaml:"match"`    // exact name, "prefix*", "*suffix", or "*" (catch-all)
	Models   []string      `yaml:"models"`   // names to list in /v1/models besides an exact match
	Targets  []Target      `yaml:"targets"`  // tried in order (after the weighted pick, when weights are set)
	Guard    Guard         `yaml:"guard"`    // overrides the top-level guard section for this route
	Timeouts RouteTimeouts `yaml:"timeouts"` // overrides of the providers' timeouts
	Sticky   string        `yaml:"sticky"`   // weighted split: "" (random), "key" (per gateway key) or "header:NAME"
	Canary   CanaryGuard   `yaml:"canary"`   // automatic rollback of a canary target
	Shadow   RouteShadow   `yaml:"shadow"`   // mirror a share of requests to another target
	Cache    RouteCache    `yaml:"cache"`    // response cache, opt-in
	When     []RouteRule   `yaml:"when"`     // trait routing: rules tried in order before targets (policy.go)
}

// Target is one provider a route may use.
type Target struct {
	Provider string `yaml:"provider"`
	Model    string `yaml:"model"`  // rewrites the model name upstream; empty keeps the client's
	Weight   int    `yaml:"weight"` // share of first choices; when no target sets one, the first target always goes first
	Canary   bool   `yaml:"canary"` // guarded by the route's canary thresholds
	// Headers, ForwardHeaders and Params add to the provider's, and win
	// over them (policy.go).
	Headers        map[string]string `yaml:"headers"`
	ForwardHeaders []string          `yaml:"forward_headers"`
	Params         Params            `yaml:"params"`
}

// Limits bound what clients may send.
type Limits struct {
	MaxRequestBytes int64 `yaml:"max_request_bytes"` // default 32 MiB, Anthropic's own limit
	// BodyTimeout bounds the time a request body may take to arrive once
	// its headers are in (default 30s); a slower client gets a 408.
	BodyTimeout time.Duration `yaml:"body_timeout"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug | info (default) | warn | error
	Format string `yaml:"format"` // json (default) | text
}

// Secret is a string that never prints itself.
type Secret string

const redacted = "[redacted]"

// String redacts.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts.
func (s Secret) GoString() string { return s.String() }

// LogValue redacts.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts, so encoders (JSON, YAML) never print the secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret itself, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }
