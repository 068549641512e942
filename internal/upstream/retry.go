package upstream

import (
	"sync"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

// budget caps retries at a share of recent requests, so that retries
// cannot multiply the load on a provider that is already failing (the
// "retry storm"): with budget 0.2 a total outage costs at most 1.2 times
// the traffic, not max_attempts times. MinRetries keeps a quiet provider
// able to retry at all.
type budget struct {
	share    float64
	min      int64
	requests ring // counted without a lock: once per request
	mu       sync.Mutex
	retries  ring // decided under mu, so concurrent retries cannot overshoot
}

func (b *budget) init(r config.Retry) {
	b.share = r.Budget
	b.min = int64(r.MinRetries)
	b.requests.init(r.BudgetWindow)
	b.retries.init(r.BudgetWindow)
}

// CountRequest counts a request towards the retry budget; call it once per
// request, at its first attempt on this provider.
func (p *Pool) CountRequest() { p.budget.requests.add(p.now().UnixNano()) }

// AllowRetry reports whether the budget allows one more retry: the retries
// over the last BudgetWindow are fewer than max(MinRetries, Budget × the
// requests over it). A yes is counted as a retry.
func (p *Pool) AllowRetry() bool {
	b := &p.budget
	now := p.now().UnixNano()
	b.mu.Lock()
	defer b.mu.Unlock()
	limit := max(float64(b.min), b.share*float64(b.requests.sum(now)))
	if float64(b.retries.sum(now)) >= limit {
		return false
	}
	b.retries.add(now)
	return true
}

// Backoff is the wait before retry number retry (0 for the first retry).
// Without retryAfter it is full jitter: uniform in [0, min(MaxDelay,
// BaseDelay·2^retry)), which spreads the retries of many clients instead
// of synchronising them. When the upstream said retry-after (> 0), that is
// the wait, if it is at most MaxDelay; a longer one returns ok=false: do
// not retry on this provider.
func (p *Pool) Backoff(retry int, retryAfter time.Duration) (d time.Duration, ok bool) {
	if retryAfter > 0 {
		if retryAfter > p.retry.MaxDelay {
			return 0, false
		}
		return retryAfter, true
	}
	ceiling := p.retry.MaxDelay
	if retry < 0 {
		retry = 0
	}
	// BaseDelay << retry overflows past 62 shifts; compare before shifting.
	if base := p.retry.BaseDelay; retry < 62 && base <= ceiling>>uint(retry) {
		ceiling = base << uint(retry)
	}
	return time.Duration(p.rand() * float64(ceiling)), true
}
