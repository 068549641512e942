package metrics

import "github.com/prometheus/client_golang/prometheus"

// Resilience holds the metrics of retries, fallbacks, breakers, node
// selection, bulkheads and canaries. Labels: provider and node are config
// names and base-URL hosts, route a route's match, outcome and reason the
// relay's bounded vocabulary (a failure reason, or upstream_<status>).
type Resilience struct {
	Attempts             *prometheus.CounterVec // provider, outcome: every attempt on a node
	Retries              *prometheus.CounterVec // provider, reason: retries, by what failed
	Fallbacks            *prometheus.CounterVec // route, from, to: requests moved to the next target
	RetryBudgetExhausted *prometheus.CounterVec // provider: retries refused by the budget
	BreakerState         *prometheus.GaugeVec   // provider, node: 0 closed, 1 half-open, 2 open
	BreakerTransitions   *prometheus.CounterVec // provider, node, to
	BulkheadRejected     *prometheus.CounterVec // provider: requests refused by a full bulkhead
	CanaryRollbacks      *prometheus.CounterVec // route, target: automatic canary rollbacks
	NodeTTFB             *prometheus.GaugeVec   // provider, node: the node's TTFB average, seconds
	PanicRouting         *prometheus.CounterVec // provider: attempts sent to a node chosen in panic (breakers open)
}

// Breaker state values of BreakerState: worse is higher, so that max()
// over nodes reads naturally.
const (
	BreakerClosed   = 0
	BreakerHalfOpen = 1
	BreakerOpen     = 2
)

func newResilience(r *prometheus.Registry) Resilience {
	m := Resilience{
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_upstream_attempts_total", Help: "Attempts on upstream nodes, by provider and outcome (success, upstream_<status> or a failure reason).",
		}, []string{"provider", "outcome"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_upstream_retries_total", Help: "Retries on the same provider, by provider and the reason of the attempt retried.",
		}, []string{"provider", "reason"}),
		Fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_route_fallbacks_total", Help: "Requests that moved on to a route's next target, by route, from and to provider.",
		}, []string{"route", "from", "to"}),
		RetryBudgetExhausted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_retry_budget_exhausted_total", Help: "Retries refused because the provider's retry budget was spent.",
		}, []string{"provider"}),
		BreakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ferry_breaker_state", Help: "Circuit breaker state per node: 0 closed, 1 half-open, 2 open.",
		}, []string{"provider", "node"}),
		BreakerTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_breaker_transitions_total", Help: "Circuit breaker transitions per node, by the state entered.",
		}, []string{"provider", "node", "to"}),
		BulkheadRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_bulkhead_rejected_total", Help: "Requests refused by a provider's full bulkhead.",
		}, []string{"provider"}),
		CanaryRollbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_canary_rollbacks_total", Help: "Automatic rollbacks of canary targets, by route and target.",
		}, []string{"route", "target"}),
		NodeTTFB: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ferry_node_ttfb_ewma_seconds", Help: "Moving average of each node's time to first byte.",
		}, []string{"provider", "node"}),
		PanicRouting: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_panic_routing_total", Help: "Attempts sent in panic routing: to a provider's nodes although their breakers are open (breaker.panic_threshold).",
		}, []string{"provider"}),
	}
	r.MustRegister(m.PanicRouting)
	r.MustRegister(m.Attempts, m.Retries, m.Fallbacks, m.RetryBudgetExhausted, m.BreakerState,
		m.BreakerTransitions, m.BulkheadRejected, m.CanaryRollbacks, m.NodeTTFB)
	return m
}
