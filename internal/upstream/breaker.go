package upstream

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

// State is a circuit breaker's state.
type State uint32

// Breaker states.
const (
	Closed   State = iota // requests flow; outcomes are counted
	Open                  // requests are refused until the open time has passed
	HalfOpen              // a bounded number of probes test the node
)

var stateNames = [...]string{Closed: "closed", Open: "open", HalfOpen: "half_open"}

func (s State) String() string { return enumName(stateNames[:], uint32(s)) }

// enumName is the String of the package's small enumerations: names[i],
// or "unknown" for a value without a name.
func enumName(names []string, i uint32) string {
	if i < uint32(len(names)) {
		return names[i]
	}
	return "unknown"
}

// MarshalText makes a State a JSON string in snapshots.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Result is how an attempt ended, as far as the node's health goes.
type Result uint8

// Results. The zero value is Neutral so that a forgotten outcome neither
// trips nor heals a breaker.
const (
	Neutral Result = iota // client cancel, a 4xx the client caused: counts nothing
	Success
	Failure // counts against the breaker
)

var resultNames = [...]string{Neutral: "neutral", Success: "success", Failure: "failure"}

func (r Result) String() string { return enumName(resultNames[:], uint32(r)) }

// maxProbes bounds the concurrent requests a half-open breaker admits: a
// node that just failed gets one request at a time until it has shown
// HalfOpenProbes successes in a row.
const maxProbes = 1

// Breaker is a circuit breaker over a rolling window. It opens when the
// window holds at least MinRequests and the failure share is above
// ErrorRate, or after ConsecutiveFailures failures in a row; it stays open
// for OpenTime, doubled on each reopening up to MaxOpenTime; then it is
// half-open and admits probes: HalfOpenProbes successes close it, one
// failure reopens it.
//
// The closed state, where a healthy node spends its life, is lock-free:
// Allow is one atomic load and Record a few atomic adds. Transitions and
// the open and half-open states take a mutex.
//
// Every transition bumps a generation. Results are recorded against the
// generation their request was admitted in, so a slow request admitted
// while closed and finishing after the breaker opened (or while it is
// half-open) is ignored: it neither takes a probe's place nor reopens the
// breaker with stale news.
type Breaker struct {
	cfg config.Breaker
	now func() time.Time

	requests, failures ring
	consecutive        atomic.Int64
	state              atomic.Uint32
	gen                atomic.Uint64
	openUntil          atomic.Int64 // unix nanoseconds, while open

	mu        sync.Mutex
	openFor   time.Duration // the current open period
	opens     int64
	probes    int // probes in flight
	successes int // successful probes since half-open
	onChange  func(from, to State)
}

// NewBreaker returns a closed breaker. Zero fields of cfg take the config
// defaults (config.Config.ApplyDefaults), as an unconfigured provider's
// would; now nil means time.Now.
func NewBreaker(cfg config.Breaker, now func() time.Time) *Breaker {
	if now == nil {
		now = time.Now
	}
	b := &Breaker{cfg: breakerDefaults(cfg), now: now}
	if b.cfg.MaxOpenTime < b.cfg.OpenTime {
		b.cfg.MaxOpenTime = b.cfg.OpenTime
	}
	b.requests.init(b.cfg.Window)
	b.failures.init(b.cfg.Window)
	b.openFor = b.cfg.OpenTime
	return b
}

func (b *Breaker) nanos() int64 { return b.now().UnixNano() }

// State is the breaker's state now (an open breaker whose time is up
// reports, and becomes, half-open).
func (b *Breaker) State() State {
	if s := State(b.state.Load()); s == Closed || s == HalfOpen {
		return s
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advanceLocked(b.nanos())
	return State(b.state.Load())
}

// Allow reports whether a request may go to the node, and reserves a probe
// when the breaker is half-open: every Allow that returns true must be
// followed by one Record (Neutral releases a probe without counting it).
// A disabled breaker always allows.
func (b *Breaker) Allow() bool { return b.admit(true) }

// available is Allow without the reservation, for choosing among nodes.
func (b *Breaker) available() bool { return b.admit(false) }

// admit answers Allow (reserve: take a half-open probe slot) and available.
// Closed, and open before its time is up, are answered without the lock.
func (b *Breaker) admit(reserve bool) bool {
	if b.cfg.Disabled {
		return true
	}
	switch State(b.state.Load()) {
	case Closed:
		return true
	case Open:
		if b.nanos() < b.openUntil.Load() {
			return false
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advanceLocked(b.nanos())
	switch State(b.state.Load()) {
	case Closed:
		return true
	case HalfOpen:
		if b.probes < maxProbes {
			if reserve {
				b.probes++
			}
			return true
		}
	}
	return false
}

// Record counts the outcome of a request admitted by Allow.
func (b *Breaker) Record(r Result) { b.record(b.gen.Load(), r) }

// record counts r for a request admitted in generation gen.
func (b *Breaker) record(gen uint64, r Result) {
	if State(b.state.Load()) == Closed && b.gen.Load() == gen {
		if r == Neutral {
			return
		}
		now := b.nanos()
		b.requests.add(now)
		if r == Success {
			if b.consecutive.Load() != 0 {
				b.consecutive.Store(0)
			}
			return
		}
		b.failures.add(now)
		c := b.consecutive.Add(1)
		if !b.cfg.Disabled && b.tripped(c, now) {
			b.mu.Lock()
			if State(b.state.Load()) == Closed && b.gen.Load() == gen {
				b.openLocked(now, false)
			}
			b.mu.Unlock()
		}
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gen.Load() != gen || State(b.state.Load()) != HalfOpen {
		return // stale, or an open breaker: nothing to learn
	}
	if b.probes > 0 {
		b.probes--
	}
	switch r {
	case Success:
		b.successes++
		if b.successes >= b.cfg.HalfOpenProbes {
			b.requests.reset()
			b.failures.reset()
			b.consecutive.Store(0)
			b.openFor = b.cfg.OpenTime
			b.setLocked(Closed)
		}
	case Failure:
		b.openLocked(b.nanos(), true)
	}
}

// tripped reports whether c consecutive failures, or the window's failure
// share, open the breaker.
func (b *Breaker) tripped(c, now int64) bool {
	if b.cfg.ConsecutiveFailures > 0 && c >= int64(b.cfg.ConsecutiveFailures) {
		return true
	}
	reqs := b.requests.sum(now)
	if reqs == 0 || reqs < int64(b.cfg.MinRequests) {
		return false
	}
	return float64(b.failures.sum(now))/float64(reqs) > b.cfg.ErrorRate
}

// openLocked opens the breaker: for OpenTime from closed, for twice the
// last period (capped) when a probe failed.
func (b *Breaker) openLocked(now int64, reopen bool) {
	if reopen {
		b.openFor = min(2*b.openFor, b.cfg.MaxOpenTime)
	} else {
		b.openFor = b.cfg.OpenTime
	}
	b.openUntil.Store(now + int64(b.openFor))
	b.opens++
	b.setLocked(Open)
}

// advanceLocked turns an open breaker whose time is up half-open.
func (b *Breaker) advanceLocked(now int64) {
	if State(b.state.Load()) == Open && now >= b.openUntil.Load() {
		b.setLocked(HalfOpen)
	}
}

// setLocked moves to state to. The hook runs under the lock so that
// observers (a state gauge) see transitions in order; it must not call
// back into the breaker.
func (b *Breaker) setLocked(to State) {
	from := State(b.state.Load())
	b.gen.Add(1)
	b.state.Store(uint32(to))
	b.probes, b.successes = 0, 0
	if b.onChange != nil && from != to {
		b.onChange(from, to)
	}
}

// BreakerStats is a breaker's state for snapshots.
type BreakerStats struct {
	State               State
	WindowRequests      int64
	WindowFailures      int64
	ConsecutiveFailures int64
	OpenUntil           time.Time // zero unless open
	Opens               int64     // times opened
}

// ErrorRate is the window's failure share (0 with no requests).
func (s BreakerStats) ErrorRate() float64 {
	if s.WindowRequests == 0 {
		return 0
	}
	return float64(s.WindowFailures) / float64(s.WindowRequests)
}

// Stats returns the breaker's counters now.
func (b *Breaker) Stats() BreakerStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.nanos()
	b.advanceLocked(now)
	s := BreakerStats{
		State:               State(b.state.Load()),
		WindowRequests:      b.requests.sum(now),
		WindowFailures:      b.failures.sum(now),
		ConsecutiveFailures: b.consecutive.Load(),
		Opens:               b.opens,
	}
	if s.State == Open {
		s.OpenUntil = time.Unix(0, b.openUntil.Load())
	}
	return s
}

// breakerDefaults fills cfg's zero fields with the config defaults. The
// config package is the one place defaults live; a provider config run
// through ApplyDefaults yields them.
func breakerDefaults(cfg config.Breaker) config.Breaker {
	c := config.Config{Providers: []config.Provider{{Breaker: cfg}}}
	c.ApplyDefaults()
	return c.Providers[0].Breaker
}
