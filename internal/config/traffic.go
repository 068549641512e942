package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Store backends.
const (
	BackendMemory = "memory"
	BackendRedis  = "redis"
)

// What the rate limiter does when its store fails.
const (
	FailOpen   = "fail_open"   // decide locally (in memory), logged and counted
	FailClosed = "fail_closed" // refuse the request, logged and counted
)

// Rate-limit scopes.
const (
	ScopeKey   = "key"   // per gateway key
	ScopeIP    = "ip"    // per client IP
	ScopeRoute = "route" // per route (its match pattern)
	ScopeTag   = "tag"   // per value of rate_limits.tag_header
)

// RateLimits configures rate limiting.
type RateLimits struct {
	Backend        string     `yaml:"backend"`          // memory (default) | redis
	OnStoreFailure string     `yaml:"on_store_failure"` // fail_open (default) | fail_closed
	TrustedProxies []string   `yaml:"trusted_proxies"`  // CIDRs or addresses whose X-Forwarded-For is believed
	TagHeader      string     `yaml:"tag_header"`       // request header naming the traffic tag, e.g. X-Biz-Type
	Rules          []RateRule `yaml:"rules"`
}

// RateRule is one limit on one scope.
type RateRule struct {
	Scope       string `yaml:"scope"`       // key | ip | route | tag
	Match       string `yaml:"match"`       // one value of the scope (a key name, route match, tag); empty: each value separately
	RPM         int64  `yaml:"rpm"`         // requests per minute; 0: none
	TPM         int64  `yaml:"tpm"`         // input+output tokens per minute; 0: none
	Concurrency int64  `yaml:"concurrency"` // requests in flight; 0: none
	// Burst makes rpm and tpm token buckets (a minute's worth at once, then
	// refilling) instead of the default sliding window, which admits no more
	// than the limit in any rolling minute. false (default): the window.
	Burst bool `yaml:"burst"`
}

// Cache configures the response cache, in-flight coalescing and duplicate
// suppression. Routes opt in to caching with routes[].cache.ttl.
type Cache struct {
	Backend        string        `yaml:"backend"`         // memory (default) | redis
	MaxBytes       int64         `yaml:"max_bytes"`       // memory: byte budget, default 256 MiB
	MaxEntryBytes  int64         `yaml:"max_entry_bytes"` // largest answer stored, default 4 MiB
	Coalesce       bool          `yaml:"coalesce"`        // identical concurrent requests share one upstream call
	DedupWindow    time.Duration `yaml:"dedup_window"`    // a repeat within this window gets the first answer; 0 (default): off
	IdempotencyTTL time.Duration `yaml:"idempotency_ttl"` // how long an Idempotency-Key's answer is kept, default 24h
}

// RouteCache opts a route in to the response cache.
type RouteCache struct {
	TTL time.Duration `yaml:"ttl"` // 0 (default): not cached
}

// Redis is the shared store for several instances.
type Redis struct {
	Addr        string        `yaml:"addr"` // host:port; empty: no Redis
	Password    Secret        `yaml:"password"`
	DB          int           `yaml:"db"`
	Prefix      string        `yaml:"prefix"`       // key prefix, default "ferry:"
	DialTimeout time.Duration `yaml:"dial_timeout"` // default 1s
	Timeout     time.Duration `yaml:"timeout"`      // per command, default 100ms
}

func (c *Config) trafficDefaults() {
	rl := &c.RateLimits
	setDefault(&rl.Backend, BackendMemory)
	setDefault(&rl.OnStoreFailure, FailOpen)
	ca := &c.Cache
	setDefault(&ca.Backend, BackendMemory)
	setDefault(&ca.MaxBytes, 256<<20)
	setDefault(&ca.MaxEntryBytes, 4<<20)
	setDefault(&ca.IdempotencyTTL, 24*time.Hour)
	rd := &c.Redis
	setDefault(&rd.Prefix, "ferry:")
	setDefault(&rd.DialTimeout, time.Second)
	setDefault(&rd.Timeout, 100*time.Millisecond)
	sh := &c.Shadow
	setDefault(&sh.Queue, 100)
	setDefault(&sh.Workers, 2)
	setDefault(&sh.Keep, 1000)
	setDefault(&sh.Timeout, 2*time.Minute)
}

// MaxRate is the largest rpm or tpm a rule may set. The limiter keeps a
// bucket's level as an integer count of token-milliseconds-per-minute in
// Redis's Lua numbers (doubles, exact to 2^53): 1e9 per minute keeps every
// level and refill far inside that.
const MaxRate = 1_000_000_000

// rateLimits validates rate_limits and, when a backend needs it, redis.
func (v *validator) rateLimits(c *Config) {
	rl := &c.RateLimits
	// Empty means the default, for a Config built in code without
	// ApplyDefaults.
	switch rl.Backend {
	case BackendMemory, "":
	case BackendRedis:
		if c.Redis.Addr == "" {
			v.addf("rate_limits.backend", "%q needs redis.addr", rl.Backend)
		}
	default:
		v.addf("rate_limits.backend", "%q is unknown: use memory or redis", rl.Backend)
	}
	switch rl.OnStoreFailure {
	case FailOpen, FailClosed, "":
	default:
		v.addf("rate_limits.on_store_failure", "%q is unknown: use fail_open or fail_closed", rl.OnStoreFailure)
	}
	for i, p := range rl.TrustedProxies {
		if _, ok := ParseTrustedProxy(p); !ok {
			v.addf(fmt.Sprintf("rate_limits.trusted_proxies[%d]", i), "%q is not an IP address or CIDR prefix (e.g. 10.0.0.0/8)", p)
		}
	}
	if rl.TagHeader != "" && !validHeaderName(rl.TagHeader) {
		v.addf("rate_limits.tag_header", "%q is not a valid header name", rl.TagHeader)
	}
	keys := map[string]bool{}
	for _, k := range c.Keys {
		keys[k.Name] = true
	}
	routes := map[string]bool{}
	for _, r := range c.Routes {
		routes[r.Match] = true
	}
	type scopeMatch struct{ scope, match string }
	seen := map[scopeMatch]int{}
	for i, r := range rl.Rules {
		p := fmt.Sprintf("rate_limits.rules[%d]", i)
		scopeOK := true
		switch r.Scope {
		case ScopeKey:
			switch {
			case len(c.Keys) == 0:
				v.add(p+".scope", `"key" needs gateway keys: without keys no request has one`)
			case r.Match != "" && !keys[r.Match]:
				v.addf(p+".match", "%q is not the name of a key", r.Match)
			}
		case ScopeIP:
			if r.Match != "" {
				if a, err := netip.ParseAddr(r.Match); err != nil || a.Zone() != "" {
					v.addf(p+".match", "%q is not an IP address", r.Match)
				} else if a.Unmap().String() != r.Match {
					v.addf(p+".match", "%q is not written the canonical way: use %q", r.Match, a.Unmap().String())
				}
			}
		case ScopeRoute:
			if r.Match != "" && !routes[r.Match] {
				v.addf(p+".match", "%q is not the match of a route", r.Match)
			}
		case ScopeTag:
			if rl.TagHeader == "" {
				v.add(p+".scope", `"tag" needs rate_limits.tag_header`)
			}
		case "":
			scopeOK = false
			v.add(p+".scope", "is required (key, ip, route or tag)")
		default:
			scopeOK = false
			v.addf(p+".scope", "%q is unknown: use key, ip, route or tag", r.Scope)
		}
		if scopeOK {
			sm := scopeMatch{r.Scope, r.Match}
			if first, dup := seen[sm]; dup {
				v.addf(p, ": the same scope and match as rate_limits.rules[%d]", first)
			} else {
				seen[sm] = i
			}
		}
		for _, f := range [...]struct {
			name string
			n    int64
		}{{"rpm", r.RPM}, {"tpm", r.TPM}, {"concurrency", r.Concurrency}} {
			if f.n < 0 || f.n > MaxRate {
				v.addf(p+"."+f.name, "%d is out of range: it must be 0 (no limit) to %d", f.n, MaxRate)
			}
		}
		if r.RPM == 0 && r.TPM == 0 && r.Concurrency == 0 {
			v.add(p, ": set at least one of rpm, tpm and concurrency")
		}
	}
	if c.Redis.Addr != "" || rl.Backend == BackendRedis {
		v.redis(&c.Redis)
	}
}

// redis validates the redis section, which is set (or needed).
func (v *validator) redis(r *Redis) {
	if r.Addr != "" && !validHostPort(r.Addr) {
		v.addf("redis.addr", "%q is not host:port with a numeric port (e.g. 127.0.0.1:6379)", r.Addr)
	}
	if r.DB < 0 {
		v.add("redis.db", "must not be negative")
	}
	if r.DialTimeout <= 0 {
		v.add("redis.dial_timeout", "must be more than 0")
	}
	if r.Timeout <= 0 {
		v.add("redis.timeout", "must be more than 0")
	}
}

// ParseTrustedProxy reads one rate_limits.trusted_proxies entry: an IP
// address (a single host) or a CIDR prefix. IPv4-mapped IPv6 forms are
// read as IPv4, as client addresses are.
func ParseTrustedProxy(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// cache validates cache and routes[].cache. Zero values and an empty
// backend mean the defaults, for a Config built in code without
// ApplyDefaults.
func (v *validator) cache(c *Config) {
	ca := &c.Cache
	memory := false
	switch ca.Backend {
	case BackendMemory, "":
		memory = true
	case BackendRedis:
		if c.Redis.Addr == "" {
			v.addf("cache.backend", "%q needs redis.addr", ca.Backend)
		}
	default:
		v.addf("cache.backend", "%q is unknown: use memory or redis", ca.Backend)
	}
	if ca.MaxBytes < 0 {
		v.addf("cache.max_bytes", "%d must be more than 0", ca.MaxBytes)
	}
	switch {
	case ca.MaxEntryBytes < 0:
		v.addf("cache.max_entry_bytes", "%d must be more than 0", ca.MaxEntryBytes)
	case memory && ca.MaxBytes > 0 && ca.MaxEntryBytes > ca.MaxBytes:
		v.addf("cache.max_entry_bytes", "%d is more than cache.max_bytes (%d): no answer that large could be kept", ca.MaxEntryBytes, ca.MaxBytes)
	}
	v.nonNegative("cache.dedup_window", ca.DedupWindow)
	if ca.IdempotencyTTL < 0 {
		v.add("cache.idempotency_ttl", "must be more than 0")
	}
	for i, r := range c.Routes {
		v.nonNegative(fmt.Sprintf("routes[%d].cache.ttl", i), r.Cache.TTL)
	}
}
