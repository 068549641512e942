// Package metrics defines the gateway's Prometheus metrics on a registry of
// its own (never the global one), built once by the app.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds every collector. Label values are bounded: endpoints,
// provider and route names come from the config, never from clients.
type Metrics struct {
	Registry *prometheus.Registry

	Requests        *prometheus.CounterVec   // endpoint, route, provider, node, model, tag, code, class, error_type
	Duration        *prometheus.HistogramVec // endpoint, provider
	FirstByte       *prometheus.HistogramVec // provider
	Errors          *prometheus.CounterVec   // endpoint, kind: errors the gateway itself answered
	UpstreamErrors  *prometheus.CounterVec   // provider, kind: failed attempts (no answer)
	StreamBreaks    *prometheus.CounterVec   // provider, reason: streams that ended without message_stop
	Tokens          *prometheus.CounterVec   // provider, model, tag, type
	InFlight        prometheus.Gauge
	StreamsInFlight prometheus.Gauge

	Resilience // retries, breakers, nodes, canaries, shadows (resilience.go)
	Traffic    // rate limits, cache, coalescing (traffic.go)
	Observe    // latency split, canary weights, usage hooks (observe.go)
}

// New registers every collector on a new registry.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	latency := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	m := &Metrics{
		Registry:       r,
		Requests:       NewCounterVec("ferry_requests_total", "Requests answered, by endpoint, route, provider, node, model (configured routes; others: other), traffic tag (configured tags; others: other), status code and class, and error type (empty on success).", "endpoint", "route", "provider", "node", "model", "tag", "code", "class", "error_type"),
		Duration:       NewHistogramVec("ferry_request_duration_seconds", "Time from request to the end of the response.", latency, "endpoint", "provider"),
		FirstByte:      NewHistogramVec("ferry_upstream_first_byte_seconds", "Time until the upstream's response headers.", latency, "provider"),
		Errors:         NewCounterVec("ferry_errors_total", "Errors answered by the gateway itself, by endpoint and kind.", "endpoint", "kind"),
		UpstreamErrors: NewCounterVec("ferry_upstream_errors_total", "Upstream attempts that produced no answer, by provider and kind.", "provider", "kind"),
		StreamBreaks:   NewCounterVec("ferry_stream_breaks_total", "Streams that ended without message_stop, by provider and reason.", "provider", "reason"),
		Tokens:         NewCounterVec("ferry_tokens_total", "Tokens reported by upstreams, by provider, model (configured routes; others: other), traffic tag and type.", "provider", "model", "tag", "type"),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ferry_requests_in_flight", Help: "Requests being served.",
		}),
		StreamsInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ferry_streams_in_flight", Help: "Event streams being relayed.",
		}),
	}
	r.MustRegister(m.Requests, m.Duration, m.FirstByte, m.Errors, m.UpstreamErrors, m.StreamBreaks, m.Tokens, m.InFlight, m.StreamsInFlight)
	m.Resilience = newResilience(r)
	m.Traffic = newTraffic(r)
	m.Observe = newObserve(r, latency)
	return m
}
