package config

import (
	"fmt"
	"net/url"
	"strings"
)

// DefaultTagHeader is the request header naming a request's traffic tag
// (rate_limits.tag_header) when the config names none.
const DefaultTagHeader = "X-Biz-Type"

// Metrics configures what /metrics labels.
type Metrics struct {
	// Tags are the traffic tags that label metrics as themselves; any other
	// tag counts as "other", so a client cannot create series at will.
	Tags []string `yaml:"tags"`
}

// Tracing configures OpenTelemetry tracing.
type Tracing struct {
	// OTLPEndpoint is an OTLP/HTTP collector's base URL, e.g.
	// http://127.0.0.1:4318 (spans go to /v1/traces); empty: no tracing.
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	// Sample is the share of requests traced, 0 to 1 (default 1 when an
	// endpoint is set). A client's sampled traceparent is always followed.
	Sample *float64 `yaml:"sample"`
}

// Enabled reports whether spans are exported.
func (t Tracing) Enabled() bool { return t.OTLPEndpoint != "" }

func (c *Config) observeDefaults() {
	setDefault(&c.RateLimits.TagHeader, DefaultTagHeader)
	if c.Tracing.Enabled() && c.Tracing.Sample == nil {
		one := 1.0
		c.Tracing.Sample = &one
	}
}

func (v *validator) observe(c *Config) {
	seen := map[string]bool{}
	for i, t := range c.Metrics.Tags {
		p := fmt.Sprintf("metrics.tags[%d]", i)
		switch {
		case t == "":
			v.add(p, "is empty")
		case t == "other" || t == "none":
			v.addf(p, "%q is reserved: it labels unknown tags and requests without one", t)
		case seen[t]:
			v.addf(p, "%q is listed twice", t)
		}
		seen[t] = true
	}
	if e := c.Tracing.OTLPEndpoint; e != "" {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(u.Path, "?#") {
			v.addf("tracing.otlp_endpoint", "%q is not an http(s) URL, e.g. http://127.0.0.1:4318", e)
		}
	}
	if s := c.Tracing.Sample; s != nil {
		v.share("tracing.sample", *s)
	}
}
