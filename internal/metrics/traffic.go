package metrics

import "github.com/prometheus/client_golang/prometheus"

// Traffic holds the metrics of rate limiting, the response cache,
// coalescing and duplicate suppression.
type Traffic struct {
}

func newTraffic(r *prometheus.Registry) Traffic {
	_ = r
	return Traffic{}
}
