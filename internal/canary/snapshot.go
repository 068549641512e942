package canary

import "time"

// SplitSnapshot is a split's state for the admin API.
type SplitSnapshot struct {
	Route     string           `json:"route"`
	Targets   []TargetSnapshot `json:"targets"`
	LastEvent *Event           `json:"last_event,omitempty"`
}

// TargetSnapshot is one target's weights and window.
type TargetSnapshot struct {
	Name             string  `json:"name"`
	Weight           int     `json:"weight"`
	ConfiguredWeight int     `json:"configured_weight"`
	Canary           bool    `json:"canary"`
	WindowRequests   int64   `json:"window_requests"`
	ErrorRate        float64 `json:"error_rate"`
	P95Ms            float64 `json:"p95_ms"` // upper bound of the histogram bucket; 0: no samples
}

// Snapshot returns the split's state now.
func (s *Split) Snapshot() SplitSnapshot {
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table.Load()
	out := SplitSnapshot{Route: s.route, Targets: make([]TargetSnapshot, len(s.targets))}
	for i, tg := range s.targets {
		w := &s.stats[i]
		w.expire(now)
		out.Targets[i] = TargetSnapshot{
			Name:             tg.Name,
			Weight:           t.weights[i],
			ConfiguredWeight: tg.Weight,
			Canary:           tg.Canary,
			WindowRequests:   w.total.requests,
			ErrorRate:        w.total.errorRate(),
			P95Ms:            float64(w.total.p95()) / float64(time.Millisecond),
		}
	}
	if s.last != nil {
		e := *s.last
		out.LastEvent = &e
	}
	return out
}
