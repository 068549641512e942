package shadow

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferrygw/ferry/internal/metrics"
)

// Reasons a job is dropped; values of the reason label.
const (
	dropQueueFull  = "queue_full"  // the queue holds Options.Queue jobs
	dropQueueBytes = "queue_bytes" // the queue holds Options.QueueBytes of requests
	dropClosed     = "closed"      // submitted after Close, or left queued when the drain gave up
	dropInvalid    = "invalid"     // a job without Run
)

// collectors are the mirror's metrics. Labels are config names (route,
// provider) and fixed sets (reason, result, type), never client input.
type collectors struct {
	submitted  *prometheus.CounterVec   // route
	dropped    *prometheus.CounterVec   // route, reason
	completed  *prometheus.CounterVec   // route, result
	tokens     *prometheus.CounterVec   // route, provider, type
	similarity *prometheus.HistogramVec // route
	latency    *prometheus.HistogramVec // route
}

func newMetrics(r prometheus.Registerer, queued func() float64) (*collectors, error) {
	m := &collectors{
		submitted:  metrics.NewCounterVec("ferry_shadow_submitted_total", "Requests mirrored to a shadow target (queued), by route.", "route"),
		dropped:    metrics.NewCounterVec("ferry_shadow_dropped_total", "Mirrored requests dropped without a shadow call, by route and reason.", "route", "reason"),
		completed:  metrics.NewCounterVec("ferry_shadow_completed_total", "Shadow calls compared with the primary answer, by route and result (agree, disagree, error).", "route", "result"),
		tokens:     metrics.NewCounterVec("ferry_shadow_tokens_total", "Tokens used by shadow calls (not in ferry_tokens_total), by route, shadow provider and type.", "route", "provider", "type"),
		similarity: metrics.NewHistogramVec("ferry_shadow_similarity", "Text similarity of shadow and primary 2xx answers, by route.", []float64{.1, .2, .3, .4, .5, .6, .7, .8, .9, .95, 1}, "route"),
		latency:    metrics.NewHistogramVec("ferry_shadow_latency_ratio", "Shadow latency over primary latency for 2xx pairs, by route.", []float64{.25, .5, .75, .9, 1, 1.1, 1.25, 1.5, 2, 3, 5}, "route"),
	}
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ferry_shadow_queue_length", Help: "Mirrored requests waiting for a shadow worker.",
	}, queued)
	var errs []error
	for _, c := range []prometheus.Collector{m.submitted, m.dropped, m.completed, m.tokens, m.similarity, m.latency, queue} {
		errs = append(errs, r.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// countTokens counts a shadow call's usage as shadow usage.
func (m *collectors) countTokens(t Target, o *Outcome) {
	for _, c := range [...]struct {
		typ string
		n   int64
	}{
		{"input", o.InputTokens},
		{"output", o.OutputTokens},
		{"cache_read", o.CacheReadTokens},
		{"cache_creation", o.CacheCreationTokens},
	} {
		if c.n > 0 {
			m.tokens.WithLabelValues(t.Route, t.Provider, c.typ).Add(float64(c.n))
		}
	}
}
