package metrics

import "github.com/prometheus/client_golang/prometheus"

// Resilience holds the metrics of retries, fallbacks, breakers, node
// selection, bulkheads, canaries and shadow traffic.
type Resilience struct {
}

func newResilience(r *prometheus.Registry) Resilience {
	_ = r
	return Resilience{}
}
