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
		RateLimitRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_ratelimit_rejected_total",
			Help: "Requests refused by a rate limit, by scope (key, ip, route, tag) and limit (rpm, tpm, concurrency).",
		}, []string{"scope", "limit"}),
		RateLimitStoreErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_ratelimit_store_errors_total",
			Help: "Rate-limit decisions and settlements the shared store failed, by backend and on_store_failure mode (fail_open: decided in memory on this instance; fail_closed: refused with 503).",
		}, []string{"backend", "mode"}),
		RateLimitInstances: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ferry_ratelimit_live_instances",
			Help: "Live instances this instance counted in the rate-limit registry in Redis at its last heartbeat: while Redis fails, each enforces the limits divided by this.",
		}),
	}
	t.CacheRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_cache_requests_total",
		Help: "Requests the response cache was involved in, by result: hit, miss, bypass, dedup, coalesced, idempotent_replay, idempotent_conflict, idempotent_mismatch. Every result but miss used no upstream tokens of its own.",
	}, []string{"result"})
	t.CacheErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_cache_errors_total",
		Help: "Cache store operations that failed (get, put, idempotency, replay); the request went on without the cache.",
	}, []string{"op"})
	r.MustRegister(t.RateLimitRejected, t.RateLimitStoreErrors, t.RateLimitInstances, t.CacheRequests, t.CacheErrors)
	return t
}
