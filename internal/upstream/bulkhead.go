package upstream

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
)

// overloadRetryAfter is the retry-after a client is given when the
// provider is at capacity: long enough not to hammer, short enough that
// the slot it wanted has likely freed.
const overloadRetryAfter = time.Second

// Causes of an Overloaded error from Acquire, for logs.
var (
	ErrQueueFull    = errors.New("bulkhead queue full")
	ErrQueueTimeout = errors.New("bulkhead queue timeout")
)

// bulkhead caps a provider's in-flight requests so that one slow provider
// cannot hold every goroutine and connection of the gateway. The slots are
// a buffered channel: a send takes one, and blocked senders are served in
// arrival order.
type bulkhead struct {
	sem     chan struct{} // nil: unlimited
	queue   int64
	timeout time.Duration
	waiting atomic.Int64
}

func (b *bulkhead) init(c config.Bulkhead) {
	if c.MaxInflight > 0 {
		b.sem = make(chan struct{}, c.MaxInflight)
	}
	b.queue = int64(c.Queue)
	b.timeout = c.QueueTimeout
}

func noRelease() {}

// Acquire takes one of the provider's in-flight slots, waiting for one
// when Queue allows (at most QueueTimeout). When the slots and the queue
// are full, or the wait times out, the error is an *apierr.Error of kind
// Overloaded (529) with a retry-after; when ctx ends first, ctx's error.
// With no cap (MaxInflight 0) it returns at once. release frees the slot
// and must be called exactly once (later calls do nothing).
func (p *Pool) Acquire(ctx context.Context) (release func(), err error) {
	b := &p.bulk
	if b.sem == nil {
		return noRelease, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case b.sem <- struct{}{}:
		return b.releaser(), nil
	default:
	}
	if b.waiting.Add(1) > b.queue {
		b.waiting.Add(-1)
		return nil, p.overloaded(ErrQueueFull)
	}
	defer b.waiting.Add(-1)
	timeout := p.after(b.timeout)
	select {
	case b.sem <- struct{}{}:
		return b.releaser(), nil
	case <-timeout:
		return nil, p.overloaded(ErrQueueTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *bulkhead) releaser() func() {
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			<-b.sem
		}
	}
}

func (p *Pool) overloaded(cause error) *apierr.Error {
	return &apierr.Error{
		Kind:       apierr.Overloaded,
		Public:     "upstream " + p.provider + " is at capacity",
		Err:        cause,
		RetryAfter: overloadRetryAfter,
	}
}
