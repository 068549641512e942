package metrics

import "github.com/prometheus/client_golang/prometheus"

// Guard holds the guardrails' metrics (internal/guard, wired by the server).
type Guard struct {
	Matches *prometheus.CounterVec // category, action: detected values and listed words
}

// NewGuard registers the guardrails' collectors on r. It is separate from
// New so that a gateway without a guard section shows no guard series.
func NewGuard(r prometheus.Registerer) *Guard {
	g := &Guard{
		Matches: NewCounterVec("ferry_guard_matches_total", "Values the guard detected in requests (and listed words in requests and answers), by category (id_card, bank_card, phone, landline, email, passport, secret, words, or a custom name) and the action taken (log_only, redact, pseudonymize, block, mask, refuse).", "category", "action"),
	}
	r.MustRegister(g.Matches)
	return g
}
