package upstream

import "time"

// PoolSnapshot is a pool's state for GET /admin/upstreams.
type PoolSnapshot struct {
	Provider    string           `json:"provider"`
	Policy      string           `json:"policy"`
	Inflight    int64            `json:"inflight"` // attempts in flight over all nodes
	Bulkhead    BulkheadSnapshot `json:"bulkhead"`
	RetryBudget BudgetSnapshot   `json:"retry_budget"`
	// Panic routing: the threshold, whether the pool is in panic now, and
	// how many nodes were chosen in panic since start.
	PanicThreshold float64        `json:"panic_threshold"`
	Panic          bool           `json:"panic"`
	PanicRouted    uint64         `json:"panic_routed"`
	LastFailure    string         `json:"last_failure,omitempty"` // the last failed attempt's reason
	Nodes          []NodeSnapshot `json:"nodes"`
}

// BulkheadSnapshot is the bulkhead's occupancy; Max 0 means no cap.
type BulkheadSnapshot struct {
	Max     int   `json:"max"`
	Held    int   `json:"held"`    // slots taken
	Waiting int64 `json:"waiting"` // requests queued for a slot
}

// BudgetSnapshot counts the retry budget's window.
type BudgetSnapshot struct {
	Requests int64 `json:"requests"`
	Retries  int64 `json:"retries"`
}

// NodeSnapshot is one node's state.
type NodeSnapshot struct {
	Label               string  `json:"label"`
	State               State   `json:"state"` // closed | open | half_open
	ErrorRate           float64 `json:"error_rate"`
	WindowRequests      int64   `json:"window_requests"`
	ConsecutiveFailures int64   `json:"consecutive_failures"`
	OpenUntil           string  `json:"open_until,omitempty"` // RFC 3339, while open
	Opens               int64   `json:"opens"`
	EWMATTFBMs          float64 `json:"ewma_ttfb_ms"` // 0: no sample yet
	Inflight            int64   `json:"inflight"`
	Health              Health  `json:"health"` // unknown | ok | failing
	LastError           string  `json:"last_error,omitempty"`
	Requests            uint64  `json:"requests"` // finished attempts since start
	Failures            uint64  `json:"failures"`
}

// openUntilLayout is RFC 3339 with milliseconds: open periods are seconds
// long, and a whole-second rounding would make a 5s period look like 4s.
const openUntilLayout = "2006-01-02T15:04:05.000Z07:00"

// Snapshot returns the pool's state now. It reads each counter atomically,
// not the pool as a whole: numbers of a busy pool may disagree by a
// request or two.
func (p *Pool) Snapshot() PoolSnapshot {
	now := p.now().UnixNano()
	s := PoolSnapshot{
		Provider: p.provider,
		Policy:   p.policyName,
		Bulkhead: BulkheadSnapshot{
			Max:     cap(p.bulk.sem),
			Held:    len(p.bulk.sem),
			Waiting: p.bulk.waiting.Load(),
		},
		RetryBudget: BudgetSnapshot{
			Requests: p.budget.requests.sum(now),
			Retries:  p.budget.retries.sum(now),
		},
		Nodes:          make([]NodeSnapshot, len(p.nodes)),
		PanicThreshold: p.panicAt,
		Panic:          p.Panicking(),
		PanicRouted:    p.panics.Load(),
		LastFailure:    p.LastFailure(),
	}
	for i, n := range p.nodes {
		bs := n.breaker.Stats()
		ns := NodeSnapshot{
			Label:               n.label,
			State:               bs.State,
			ErrorRate:           bs.ErrorRate(),
			WindowRequests:      bs.WindowRequests,
			ConsecutiveFailures: bs.ConsecutiveFailures,
			Opens:               bs.Opens,
			EWMATTFBMs:          float64(n.Latency()) / float64(time.Millisecond),
			Inflight:            n.inflight.Load(),
			Health:              n.Health(),
			Requests:            n.requests.Load(),
			Failures:            n.failures.Load(),
		}
		if !bs.OpenUntil.IsZero() {
			ns.OpenUntil = bs.OpenUntil.UTC().Format(openUntilLayout)
		}
		if e := n.lastErr.Load(); e != nil {
			ns.LastError = *e
		}
		s.Inflight += ns.Inflight
		s.Nodes[i] = ns
	}
	return s
}
