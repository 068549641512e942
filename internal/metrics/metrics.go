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
		Registry: r,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_requests_total", Help: "Requests answered, by endpoint, route, provider, node, model (configured routes; others: other), traffic tag (configured tags; others: other), status code and class, and error type (empty on success).",
		}, []string{"endpoint", "route", "provider", "node", "model", "tag", "code", "class", "error_type"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ferry_request_duration_seconds", Help: "Time from request to the end of the response.", Buckets: latency,
		}, []string{"endpoint", "provider"}),
		FirstByte: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ferry_upstream_first_byte_seconds", Help: "Time until the upstream's response headers.", Buckets: latency,
		}, []string{"provider"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_errors_total", Help: "Errors answered by the gateway itself, by endpoint and kind.",
		}, []string{"endpoint", "kind"}),
		UpstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_upstream_errors_total", Help: "Upstream attempts that produced no answer, by provider and kind.",
		}, []string{"provider", "kind"}),
		StreamBreaks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_stream_breaks_total", Help: "Streams that ended without message_stop, by provider and reason.",
		}, []string{"provider", "reason"}),
		Tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_tokens_total", Help: "Tokens reported by upstreams, by provider, model (configured routes; others: other), traffic tag and type.",
		}, []string{"provider", "model", "tag", "type"}),
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
