package app

import (
	"reflect"
	"strings"

	"github.com/ferrygw/ferry/internal/config"
)

// restartOnly are the config settings a running gateway cannot change:
// they bind sockets, open stores or size queues at start. A reload that
// changes one is refused, naming it. Every other setting reloads
// (reloadable); TestEverySectionClassified keeps the two lists whole.
var restartOnly = []struct {
	name string
	of   func(*config.Config) any
}{
	{"listen", func(c *config.Config) any { return c.Listen }},
	{"admin.listen", func(c *config.Config) any { return c.Admin.Listen }},
	{"tls", func(c *config.Config) any { return c.TLS }}, // the certificate files themselves reload (tls.go)
	{"redis", func(c *config.Config) any { return c.Redis }},
	{"store", func(c *config.Config) any { return c.Store }},
	{"data_dir", func(c *config.Config) any { return c.DataDir }},
	{"rate_limits.backend", func(c *config.Config) any { return c.RateLimits.Backend }},
	{"cache.backend", func(c *config.Config) any { return c.Cache.Backend }},
	{"usage.time_zone", func(c *config.Config) any { return c.Usage.TimeZone }},
	{"usage.usd_to_cny", func(c *config.Config) any { return c.Usage.USDToCNY }},
	{"usage.retention", func(c *config.Config) any { return c.Usage.Retention }},
	{"usage.buffer", func(c *config.Config) any { return c.Usage.Buffer }},
	{"shadow", func(c *config.Config) any { return c.Shadow }},
	{"tracing", func(c *config.Config) any { return c.Tracing }},
	{"log.format", func(c *config.Config) any { return c.Log.Format }},
	{"keys_refresh", func(c *config.Config) any { return c.KeysRefresh }},
	// The key store hands out signing secrets derived from the master
	// secret it was opened with (keys.go).
	{"hmac.master_secret", func(c *config.Config) any { return c.HMAC.MasterSecret }},
}

// reloadable are the settings a reload puts in force, as the docs list
// them (docs/operations.md).
var reloadable = []string{
	"keys", "admin_key", "admin.token", "providers", "routes", "limits", "rate_limits", "cache", "guard",
	"usage", "alerts", "log.level", "metrics", "hmac", "base_path", "shutdown_timeout",
}

// restartSections names the restart-only settings cfg changes from the
// running config.
func restartSections(running, cfg *config.Config) []string {
	var out []string
	for _, s := range restartOnly {
		if !reflect.DeepEqual(s.of(running), s.of(cfg)) {
			out = append(out, s.name)
		}
	}
	return out
}

// changedSections names the top-level sections cfg changes from old, for
// the reload's log line.
func changedSections(old, cfg *config.Config) []string {
	var out []string
	a, b := reflect.ValueOf(old).Elem(), reflect.ValueOf(cfg).Elem()
	for i := range a.NumField() {
		if !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
			out = append(out, yamlName(a.Type().Field(i)))
		}
	}
	return out
}

// yamlName is a struct field's name in the config file.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}
