package metrics

import "github.com/prometheus/client_golang/prometheus"

// Traffic holds the metrics of rate limiting, the response cache,
// coalescing and duplicate suppression.
type Traffic struct {
	RateLimitRejected    *prometheus.CounterVec // scope, limit: requests refused with 429
	RateLimitStoreErrors *prometheus.CounterVec // backend, mode: decisions and settlements the store failed
	RateLimitInstances   prometheus.Gauge       // live instances counted in the rate-limit registry
	CacheRequests        *prometheus.CounterVec // result: how the response cache answered
	CacheErrors          *prometheus.CounterVec // op: cache store operations that failed
}

func newTraffic(r *prometheus.Registry) Traffic {
	t := Traffic{
		RateLimitRejected:    NewCounterVec("ferry_ratelimit_rejected_total", "Requests refused by a rate limit, by scope (key, ip, route, tag) and limit (rpm, tpm, concurrency).", "scope", "limit"),
		RateLimitStoreErrors: NewCounterVec("ferry_ratelimit_store_errors_total", "Rate-limit decisions and settlements the shared store failed, by backend and on_store_failure mode (fail_open: decided in memory on this instance; fail_closed: refused with 503).", "backend", "mode"),
		RateLimitInstances: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ferry_ratelimit_live_instances",
			Help: "Live instances this instance counted in the rate-limit registry in Redis at its last heartbeat: while Redis fails, each enforces the limits divided by this.",
		}),
	}
	t.CacheRequests = NewCounterVec("ferry_cache_requests_total", "Requests the response cache was involved in, by result: hit, miss, bypass, dedup, coalesced, idempotent_replay, idempotent_conflict, idempotent_mismatch. Every result but miss used no upstream tokens of its own.", "result")
	t.CacheErrors = NewCounterVec("ferry_cache_errors_total", "Cache store operations that failed (get, put, idempotency, replay); the request went on without the cache.", "op")
	r.MustRegister(t.RateLimitRejected, t.RateLimitStoreErrors, t.RateLimitInstances, t.CacheRequests, t.CacheErrors)
	return t
}
