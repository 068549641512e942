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
		Attempts:             NewCounterVec("ferry_upstream_attempts_total", "Attempts on upstream nodes, by provider and outcome (success, upstream_<status> or a failure reason).", "provider", "outcome"),
		Retries:              NewCounterVec("ferry_upstream_retries_total", "Retries on the same provider, by provider and the reason of the attempt retried.", "provider", "reason"),
		Fallbacks:            NewCounterVec("ferry_route_fallbacks_total", "Requests that moved on to a route's next target, by route, from and to provider.", "route", "from", "to"),
		RetryBudgetExhausted: NewCounterVec("ferry_retry_budget_exhausted_total", "Retries refused because the provider's retry budget was spent.", "provider"),
		BreakerState:         NewGaugeVec("ferry_breaker_state", "Circuit breaker state per node: 0 closed, 1 half-open, 2 open.", "provider", "node"),
		BreakerTransitions:   NewCounterVec("ferry_breaker_transitions_total", "Circuit breaker transitions per node, by the state entered.", "provider", "node", "to"),
		BulkheadRejected:     NewCounterVec("ferry_bulkhead_rejected_total", "Requests refused by a provider's full bulkhead.", "provider"),
		CanaryRollbacks:      NewCounterVec("ferry_canary_rollbacks_total", "Automatic rollbacks of canary targets, by route and target.", "route", "target"),
		NodeTTFB:             NewGaugeVec("ferry_node_ttfb_ewma_seconds", "Moving average of each node's time to first byte.", "provider", "node"),
		PanicRouting:         NewCounterVec("ferry_panic_routing_total", "Attempts sent in panic routing: to a provider's nodes although their breakers are open (breaker.panic_threshold).", "provider"),
	}
	r.MustRegister(m.PanicRouting)
	r.MustRegister(m.Attempts, m.Retries, m.Fallbacks, m.RetryBudgetExhausted, m.BreakerState,
		m.BreakerTransitions, m.BulkheadRejected, m.CanaryRollbacks, m.NodeTTFB)
	return m
}
