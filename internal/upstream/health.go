package upstream

import (
	"context"
	"sync"
	"time"
)

// MarkHealth records the outcome of an active health check of node i: a
// node whose last check failed is not picked until a check passes.
func (p *Pool) MarkHealth(i int, err error) {
	n := p.nodes[i]
	if err == nil {
		n.health.Store(uint32(HealthOK))
		n.lastErr.Store(nil)
		return
	}
	msg := err.Error()
	n.lastErr.Store(&msg)
	n.health.Store(uint32(HealthFailing))
}

// RunHealthChecks probes every node once per interval, the first round at
// once, until ctx ends. The nodes of a round are probed concurrently, each
// bounded by timeout (<= 0: by the interval); the next round starts an
// interval after the previous one started, or at once if the round took
// longer. A probe cut short because ctx ended marks nothing. An interval
// <= 0 means checks are off: it returns at once.
func (p *Pool) RunHealthChecks(ctx context.Context, interval, timeout time.Duration, probe func(ctx context.Context, node int) error) {
	if interval <= 0 {
		return
	}
	if timeout <= 0 {
		timeout = interval
	}
	for ctx.Err() == nil {
		start := p.now()
		var wg sync.WaitGroup
		for i := range p.nodes {
			wg.Go(func() {
				pctx, cancel := context.WithTimeout(ctx, timeout)
				err := probe(pctx, i)
				cancel()
				if ctx.Err() == nil {
					p.MarkHealth(i, err)
				}
			})
		}
		wg.Wait()
		wait := interval - p.now().Sub(start)
		if wait < 0 {
			wait = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-p.after(wait):
		}
	}
}
