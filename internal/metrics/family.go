package metrics

import "github.com/prometheus/client_golang/prometheus"

// The constructors every collector of the gateway is built with (here and
// in the packages that own metrics of their own, such as shadow): a name, a
// help text and the label names, so that a definition reads as one line.

// NewCounterVec is a counter family with the given labels.
func NewCounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// NewGaugeVec is a gauge family with the given labels.
func NewGaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
}

// NewHistogramVec is a histogram family with the given buckets and labels.
func NewHistogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
}
