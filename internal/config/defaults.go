package config

import (
	"os"
	"strings"
	"time"
)

// Default values that ApplyDefaults fills in.
const (
	DefaultListen           = "127.0.0.1:8080"
	DefaultAdminListen      = "127.0.0.1:8081"
	DefaultAnthropicBaseURL = "https://api.anthropic.com"
	DefaultMaxRequestBytes  = 32 << 20 // Anthropic's own limit for a Messages request
	DefaultLogLevel         = "info"
	DefaultLogFormat        = "json"
	DefaultShutdownTimeout  = 30 * time.Second
	DefaultBodyTimeout      = 30 * time.Second
)

// DefaultTimeouts are the timeouts of every provider that sets none.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		Connect:        10 * time.Second,
		TLSHandshake:   10 * time.Second,
		ResponseHeader: 10 * time.Minute, // a non-streaming answer arrives whole, after all its tokens
		StreamIdle:     5 * time.Minute,
		NodeDown:       10 * time.Second,
		Total:          10 * time.Minute,
	}
}

// ApplyDefaults fills in every field left at its zero value that has a
// default. It is idempotent. Admin.Listen "off" is kept as it is.
func (c *Config) ApplyDefaults() {
	setDefault(&c.Listen, DefaultListen)
	setDefault(&c.Admin.Listen, DefaultAdminListen)
	c.Guard.guardDefaults()
	c.tlsDefaults()
	def := DefaultTimeouts()
	for i := range c.Providers {
		p := &c.Providers[i]
		if p.Type == TypeAnthropic {
			if len(p.BaseURLs) == 0 {
				p.BaseURLs = []string{DefaultAnthropicBaseURL}
			}
			setDefault(&p.Auth, AuthXAPIKey)
		}
		if p.Type == TypeOpenAI && len(p.BaseURLs) == 0 {
			if vp, ok := VendorProfileByName(p.Profile); ok && vp.DefaultBaseURL != "" {
				p.BaseURLs = []string{vp.DefaultBaseURL}
			}
		}
		setDefault(&p.Timeouts.Connect, def.Connect)
		setDefault(&p.Timeouts.TLSHandshake, def.TLSHandshake)
		setDefault(&p.Timeouts.ResponseHeader, def.ResponseHeader)
		setDefault(&p.Timeouts.StreamIdle, def.StreamIdle)
		setDefault(&p.Timeouts.NodeDown, def.NodeDown)
		setDefault(&p.Timeouts.Total, def.Total)
		p.resilienceDefaults()
	}
	for i := range c.Routes {
		c.Routes[i].resilienceDefaults()
	}
	c.trafficDefaults()
	c.moneyDefaults()
	setDefault(&c.Limits.MaxRequestBytes, DefaultMaxRequestBytes)
	setDefault(&c.Limits.BodyTimeout, DefaultBodyTimeout)
	setDefault(&c.Log.Level, DefaultLogLevel)
	setDefault(&c.Log.Format, DefaultLogFormat)
	setDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	c.storeFieldDefaults()
	c.observeDefaults()
}

// ClaudeRoutes map Claude Code's model names (claude-opus-*, claude-sonnet-*,
// claude-haiku-*, and the claude-3-* names of older clients) to a vendor's
// models: the embedded defaults use them when a vendor, not Anthropic, takes
// the catch-all, since the vendor knows no claude-* name. Every other
// claude-* goes to the main model.
func ClaudeRoutes(provider string, m ClaudeModels) []Route {
	to := func(match, model string) Route {
		return Route{Match: match, Targets: []Target{{Provider: provider, Model: model}}}
	}
	return []Route{
		to("claude-opus*", m.Flagship),
		to("claude-3-opus*", m.Flagship),
		to("claude-haiku*", m.Fast),
		to("claude-3-haiku*", m.Fast),
		to("claude-3-5-haiku*", m.Fast),
		to("claude-*", m.Main),
	}
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// DefaultModels are the model names the embedded defaults list in
// /v1/models. Every other name is routed too: the route is a catch-all.
func DefaultModels() []string {
	return []string{"claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5"}
}

// Defaults returns the configuration `ferry serve` runs without a config
// file, and a one-line notice saying which it chose, for the first log line.
//
// Every upstream whose credential is in the environment is enabled:
// ANTHROPIC_API_KEY for Anthropic (which also takes the catch-all), and each
// OpenAI-compatible vendor's key (VendorProfiles: OPENAI_API_KEY,
// ZHIPUAI_API_KEY, DASHSCOPE_API_KEY, QIANFAN_API_KEY, DEEPSEEK_API_KEY,
// MOONSHOT_API_KEY) with routes for its model prefixes. With none, every
// model is answered by the built-in simulator, so that Ferry works out of
// the box with no credential.
// The Config is defaulted and valid. env looks up environment variables; nil
// means os.LookupEnv.
//
// ANTHROPIC_BASE_URL is deliberately not read: users set it to point their
// clients at Ferry, and honouring it would make Ferry call itself.
func Defaults(env func(string) (string, bool)) (*Config, string) {
	if env == nil {
		env = os.LookupEnv
	}
	var (
		c      Config
		notice string
	)
	// Every upstream whose credential is in the environment is enabled.
	// Anthropic takes claude-* and, when present, the catch-all; each
	// OpenAI-compatible vendor takes its own model prefixes.
	var found []string
	if key, _ := env("ANTHROPIC_API_KEY"); key != "" {
		c.Providers = append(c.Providers, Provider{
			Name:     "anthropic",
			Type:     TypeAnthropic,
			BaseURLs: []string{DefaultAnthropicBaseURL},
			APIKey:   Secret(key),
		})
		found = append(found, "ANTHROPIC_API_KEY")
	}
	for _, vp := range VendorProfiles() {
		if vp.EnvKey == "" {
			continue
		}
		key, _ := env(vp.EnvKey)
		if key == "" {
			continue
		}
		c.Providers = append(c.Providers, Provider{Name: vp.Name, Type: TypeOpenAI, Profile: vp.Name, APIKey: Secret(key)})
		found = append(found, vp.EnvKey)
		for _, prefix := range vp.ModelPrefixes {
			c.Routes = append(c.Routes, Route{Match: prefix + "*", Targets: []Target{{Provider: vp.Name}}})
		}
	}
	switch {
	case len(c.Providers) == 0:
		c.Providers = []Provider{{Name: "simulator", Type: TypeSimulator}}
		notice = "no config file and no upstream credential in the environment: every model is answered by the built-in simulator"
	case c.Providers[0].Type == TypeAnthropic:
		notice = "no config file: embedded defaults with " + strings.Join(found, ", ") + "; every model not claimed by another vendor goes to Anthropic"
	default:
		first := c.Providers[0].Name
		vp, _ := VendorProfileByName(first)
		c.Routes = append(c.Routes, ClaudeRoutes(first, vp.Claude)...)
		notice = "no config file: embedded defaults with " + strings.Join(found, ", ") + "; models without a vendor prefix go to " + first +
			", Claude model names mapped: claude-opus-* -> " + vp.Claude.Flagship + ", claude-sonnet-* -> " + vp.Claude.Main + ", claude-haiku-* -> " + vp.Claude.Fast
	}
	c.Routes = append(c.Routes, Route{
		Match:   "*",
		Models:  DefaultModels(),
		Targets: []Target{{Provider: c.Providers[0].Name}},
	})
	c.storeDefaults(env)
	c.ApplyDefaults()
	return &c, notice
}
