// Package lifecycle is the start-once, close-once guard of a component
// that queues work for its own goroutines (the usage ledger, the alert
// notifier, the shadow mirror): Start and Close each act once, a Start
// after Close does nothing, and a sender never races the queue's close.
package lifecycle

import "sync"

// Gate guards a component's queue. Its zero value is open and not started.
type Gate struct {
	mu      sync.RWMutex
	started bool
	closed  bool
}

// Start runs start, holding the gate, unless Start or Close came first.
func (g *Gate) Start(start func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.started || g.closed {
		return
	}
	g.started = true
	start()
}

// Close runs stop, holding the gate, unless Close came first; started says
// whether Start ran (if not, stop must drain or flush the queue itself).
// After Close, Enter reports false and Start does nothing.
func (g *Gate) Close(stop func(started bool)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	g.closed = true
	stop(g.started)
}

// Enter holds the gate open for a send to the queue and reports true, or
// reports false when the gate is closed. After true, Leave must follow.
// Senders hold the gate together; Close waits for them.
func (g *Gate) Enter() bool {
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return false
	}
	return true
}

// Leave ends what Enter began.
func (g *Gate) Leave() { g.mu.RUnlock() }

// Offered is what Offer did with a value.
type Offered int

// What Offer did.
const (
	Sent   Offered = iota // queued
	Closed                // not queued: the gate is closed
	Full                  // not queued: the queue is full
)

// Offer queues v on q without blocking, unless g is closed. q must be
// closed only inside g.Close, which is what makes the send safe.
func Offer[T any](g *Gate, q chan<- T, v T) Offered {
	if !g.Enter() {
		return Closed
	}
	defer g.Leave()
	select {
	case q <- v:
		return Sent
	default:
		return Full
	}
}
