package config

import "time"

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

// rateLimits validates rate_limits and, when a backend needs it, redis.
func (v *validator) rateLimits(c *Config) {
	_ = c // filled in with the rate-limit work
}

// cache validates cache and routes[].cache.
func (v *validator) cache(c *Config) {
	_ = c // filled in with the cache work
}
