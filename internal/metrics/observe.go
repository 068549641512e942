package metrics

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// Observe holds the metrics of issue 13 beside the request counters:
// where a request's time went, canary weights, and the hooks the usage
// ledger and budgets (internal/usage) count into. Labels stay bounded:
// model and tag go through Labels, never raw from the client.
type Observe struct {
	FirstToken    *prometheus.HistogramVec // endpoint, provider: streams' time to the first byte written to the client
	UpstreamWait  *prometheus.HistogramVec // provider: time spent waiting on upstreams (every attempt, backoffs, reading the answer)
	Overhead      *prometheus.HistogramVec // endpoint: total time minus upstream wait
	CanaryWeight  *prometheus.GaugeVec     // route, target: the target's share weight; 0 once rolled back
	BudgetRefused *prometheus.CounterVec   // scope: requests refused by a spent budget (hook for internal/usage)
	Cost          *prometheus.CounterVec   // model, team, tag, currency: cost in micro-units (hook for internal/usage)
}

func newObserve(r *prometheus.Registry, latency []float64) Observe {
	o := Observe{
		FirstToken:    NewHistogramVec("ferry_time_to_first_token_seconds", "Streams: time from the request to the first byte written to the client.", latency, "endpoint", "provider"),
		UpstreamWait:  NewHistogramVec("ferry_upstream_wait_seconds", "Time a request waited on upstreams: every attempt and backoff until the answer's headers, then reading the answer.", latency, "provider"),
		Overhead:      NewHistogramVec("ferry_gateway_overhead_seconds", "Time the gateway itself added: total duration minus upstream wait.", []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}, "endpoint"),
		CanaryWeight:  NewGaugeVec("ferry_canary_weight", "Weighted route targets' configured weight; 0 after a rollback.", "route", "target"),
		BudgetRefused: NewCounterVec("ferry_budget_refused_total", "Requests refused because a budget was spent, by scope (key, team, tag).", "scope"),
		Cost:          NewCounterVec("ferry_cost_micros_total", "Cost of answered requests in micro-units of the currency, by model, team and tag.", "model", "team", "tag", "currency"),
	}
	r.MustRegister(o.FirstToken, o.UpstreamWait, o.Overhead, o.CanaryWeight, o.BudgetRefused, o.Cost)
	return o
}

// Label values folded from client input.
const (
	Other  = "other" // a tag or model not in the config
	NoTag  = "none"  // a request without a tag
	classX = "xxx"
)

// Labels folds client-chosen strings into bounded label values: a tag
// outside the configured list becomes "other", so a client cannot grow
// the series without bound.
type Labels struct {
	tags []string // sorted
}

// NewLabels takes the configured traffic tags.
func NewLabels(tags []string) *Labels {
	t := slices.Clone(tags)
	slices.Sort(t)
	return &Labels{tags: t}
}

// Tag is tag as a label value: itself when configured, none when empty,
// other otherwise. A nil Labels knows no tags.
func (l *Labels) Tag(tag string) string {
	if tag == "" {
		return NoTag
	}
	if l != nil {
		if _, ok := slices.BinarySearch(l.tags, tag); ok {
			return tag
		}
	}
	return Other
}

// Model is a client's model name as a label value: itself when a
// configured route names it exactly (route is the route's match, empty
// without one), other otherwise.
func Model(model, route string) string {
	if model != "" && model == route {
		return model
	}
	return Other
}

// Class is an HTTP status's class: 2xx, 4xx, 5xx.
func Class(status int) string {
	if status < 100 || status > 599 {
		return classX
	}
	return [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}[status/100-1]
}
