package upstream

import (
	"math"
	"sync/atomic"
	"time"
)

// ewmaAlpha weighs a new latency sample against the node's history.
//
// The average is per sample, not time-decayed: a time-decayed EWMA needs a
// value to decay towards, and "unknown" is not a latency. Staleness is the
// selection's job instead: least_latency explores another node on about 5%
// of picks, so a node that is not chosen still gets fresh samples and a
// recovered node is noticed. 0.3 lets one bad sample move the average a
// third of the way, so a node that went from 0.6s to 3s loses its place
// after a single slow answer, while one outlier among fast answers fades
// within a few requests.
const ewmaAlpha = 0.3

// Health is the outcome of a node's active health checks.
type Health uint32

// Health values.
const (
	HealthUnknown Health = iota // no check has run (or checks are off): the node is usable
	HealthOK
	HealthFailing // the last check failed: the node is skipped until one passes
)

var healthNames = [...]string{HealthUnknown: "unknown", HealthOK: "ok", HealthFailing: "failing"}

func (h Health) String() string { return enumName(healthNames[:], uint32(h)) }

// MarshalText makes a Health a JSON string in snapshots.
func (h Health) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// Node is one base URL of a provider, with its breaker, latency average and
// in-flight count.
type Node struct {
	index   int
	label   string
	breaker *Breaker

	inflight atomic.Int64
	ewma     atomic.Uint64 // math.Float64bits of nanoseconds; 0 = no sample yet
	health   atomic.Uint32
	lastErr  atomic.Pointer[string]
	requests atomic.Uint64 // finished attempts, any result
	failures atomic.Uint64
}

// Outcome is how an attempt on a node ended.
type Outcome struct {
	Result Result
	// TTFB is the time to the first byte (or headers) when known. For a
	// failure the caller passes the elapsed time, so that a node that times
	// out looks slow and not merely unlucky. Ignored for Neutral results: a
	// client that hung up early says nothing about the node's speed.
	TTFB time.Duration
	// Repeat marks a failure on a node this request already failed on: it
	// counts in the node's statistics, but not a second time in its
	// breaker. The retries of one client request are one failure toward
	// consecutive_failures, so that two unlucky requests cannot open it.
	Repeat bool
}

// Index is the node's position in the pool.
func (n *Node) Index() int { return n.index }

// Label names the node (its host) in logs and snapshots.
func (n *Node) Label() string { return n.label }

// Breaker is the node's circuit breaker.
func (n *Node) Breaker() *Breaker { return n.breaker }

// Inflight is the number of attempts on the node not finished yet.
func (n *Node) Inflight() int64 { return n.inflight.Load() }

// Latency is the node's TTFB average; 0 before the first sample.
func (n *Node) Latency() time.Duration {
	return time.Duration(math.Float64frombits(n.ewma.Load()))
}

// Health is the node's active health-check state.
func (n *Node) Health() Health { return Health(n.health.Load()) }

// Start marks an attempt in flight on n. The returned func finishes it
// with its outcome and must be called exactly once. An attempt on a node
// Pick chose holds the node's probe reservation when its breaker is
// half-open; finishing releases it.
func (n *Node) Start() (finish func(Outcome)) {
	n.inflight.Add(1)
	gen := n.breaker.gen.Load()
	return func(o Outcome) { n.finish(gen, o) }
}

// Hold marks a stream in flight on n once its attempt was finished at the
// headers (so that a half-open probe slot is not held for a whole stream).
// The returned func ends it, exactly once: failed records a stream that
// broke in the breaker and the node's failure count, without counting a
// second request.
func (n *Node) Hold() (end func(failed bool)) {
	n.inflight.Add(1)
	gen := n.breaker.gen.Load()
	return func(failed bool) {
		n.inflight.Add(-1)
		if failed {
			n.failures.Add(1)
			n.breaker.record(gen, Failure)
		}
	}
}

func (n *Node) finish(gen uint64, o Outcome) {
	n.inflight.Add(-1)
	n.requests.Add(1)
	if o.Result == Failure {
		n.failures.Add(1)
	}
	if o.Result != Neutral && o.TTFB > 0 {
		// A half-open probe measures the node as it is after an outage;
		// the average so far describes the outage (timeouts fed in as
		// samples), so the probe replaces it instead of blending in.
		// Otherwise a recovered node would need several exploration
		// picks just to work off its failures before regaining traffic.
		d := o.TTFB
		probe := State(n.breaker.state.Load()) == HalfOpen && n.breaker.gen.Load() == gen
		if o.Result == Failure {
			// A failure counts at least twice the node's average: a node
			// that answers 529 in 5 ms must not look like the fastest
			// node and keep drawing traffic. Nor does a failed probe
			// replace the average.
			if avg := n.Latency(); d < 2*avg {
				d = 2 * avg
			}
			probe = false
		}
		n.observe(d, probe)
	}
	r := o.Result
	if o.Repeat && r == Failure {
		r = Neutral
	}
	n.breaker.record(gen, r)
}

// observe folds a latency sample into the average, or makes it the
// average when fresh.
func (n *Node) observe(d time.Duration, fresh bool) {
	s := float64(d)
	for {
		old := n.ewma.Load()
		v := s
		if old != 0 && !fresh {
			prev := math.Float64frombits(old)
			v = prev + ewmaAlpha*(s-prev)
		}
		if n.ewma.CompareAndSwap(old, math.Float64bits(v)) {
			return
		}
	}
}

// available reports, without reserving anything, whether Pick may choose n.
func (n *Node) available() bool {
	return Health(n.health.Load()) != HealthFailing && n.breaker.available()
}

// latencyKey orders nodes for least_latency: a node without a sample sorts
// first so it gets explored.
func (n *Node) latencyKey() float64 { return math.Float64frombits(n.ewma.Load()) }
