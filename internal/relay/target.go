package relay

// One target's attempts: the bulkhead, node choice, the attempt, its
// classification, and the decision to retry.

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/upstream"
)

// Reasons of attempts refused before a node was called.
const (
	ReasonBulkheadFull = "bulkhead_full"     // the provider's in-flight cap and queue were full
	ReasonNoNode       = "no_available_node" // every node's breaker open, or failing its health check
)

// outcomeSuccess labels a 2xx attempt in attempts_total.
const outcomeSuccess = "success"

// targetOutcome is how a target ended.
type targetOutcome struct {
	resp    *provider.Response // the success (success true), or the last error answer, buffered
	err     error              // when no attempt got an answer
	success bool
	final   bool // the loop ends here: a 4xx the client caused, or the client left
	skipped bool // the target was not tried: the request's deadline had passed
	noNode  bool // no node was available for the first attempt: nothing was called
	// result and latency are the target's outcome for its canary split:
	// Neutral when the client, not the target, decided it.
	result  upstream.Result
	latency time.Duration
}

// target runs the attempts on one target. The deadline is the route's
// total, or the provider's, from the request's start: it bounds the waits
// for headers and the backoffs, and the body of a non-streaming answer;
// a stream that started has no deadline, only its idle timeout.
//
// force is route-level panic routing: no target of the route had an
// available node, so this one calls a node whose breaker is open.
func (r *Relay) target(ctx context.Context, b *backend, st *route, call *provider.Call, start time.Time, res *Result, force bool) targetOutcome {
	t0 := r.now()
	tctx, dl, ok := r.bound(ctx, st, b, start, t0)
	if !ok {
		return targetOutcome{skipped: true, err: provider.Classify(deadlineContext(), provider.ErrDeadline)}
	}
	b.pool.CountRequest()
	release, err := b.pool.Acquire(tctx)
	if err != nil {
		dl.stop()
		return r.bulkheadRefused(ctx, tctx, b, err, res)
	}

	call.FirstByte, call.StreamIdle = st.firstByte, st.idle
	var (
		tried, failed uint64             // nodes this request tried, and failed on
		lastResp      *provider.Response // the last error answer, buffered
		lastErr       error
		result        = upstream.Neutral // of the last attempt
		final, noNode bool
		spent         bool // the retry budget refused a retry
	)
	n, _, pnc, ok := b.pick(0, force)
	if !ok {
		err := r.noNodeError(b)
		r.refused(b, ReasonNoNode, err, res)
		lastErr, result, noNode = err, upstream.Failure, true
	}
	for attempt := 0; ok; attempt++ {
		if pnc {
			r.panicked(ctx, b, n)
		}
		bit := uint64(1) << n.Index()
		tried |= bit
		finish := n.Start()
		a := r.tracedAttempt(ctx, tctx, b, n, call)
		r.record(b, n, finish, &a, failed&bit != 0, res)
		if a.success {
			return r.succeeded(ctx, b, n, call.Format, &a, dl, release, t0)
		}
		if a.result == upstream.Failure {
			failed |= bit
		}
		switch {
		case a.gone:
			lastResp = nil
		case a.answered:
			lastResp = a.resp
		}
		if a.err != nil {
			lastErr = a.err
		}
		result, final = a.result, a.final

		next, npnc, wait, why := r.tryAgain(tctx, b, &a, attempt, tried, dl.deadline, force)
		if why == stopSpent {
			r.m.RetryBudgetExhausted.WithLabelValues(b.name).Inc()
			spent = true
		}
		if why != stopNone {
			break
		}
		r.m.Retries.WithLabelValues(b.name, a.at.label()).Inc()
		if wait > 0 {
			res.Attempts[len(res.Attempts)-1].Backoff = wait
			if err := r.sleep(tctx, wait); err != nil {
				abandon(next)
				if ctx.Err() != nil {
					lastResp, lastErr, result, final = nil, provider.Classify(ctx, err), upstream.Neutral, true
				}
				break
			}
		}
		n, pnc = next, npnc
	}
	release()
	dl.stop()
	out := targetOutcome{resp: lastResp, result: result, final: final, noNode: noNode, latency: r.now().Sub(t0)}
	if lastResp == nil {
		out.err = lastErr
	}
	if spent {
		// The provider is failing and its retries are spent: a client
		// that retried too would only add to the load.
		out.markNoRetry()
	}
	return out
}

// succeeded hands a success over. A whole answer was read already: the
// slot and the deadline are freed now. A stream holds its slot and its
// node's in-flight mark until it is consumed, and has no total deadline:
// the breaker learned of the success at the headers (record), so that a
// half-open node's one probe slot is not held for the whole of a long
// stream, and a break later in it is recorded then.
func (r *Relay) succeeded(ctx context.Context, b *backend, n *upstream.Node, f provider.Format, a *attemptResult, dl *deadline, release func(), t0 time.Time) targetOutcome {
	if a.resp.Events != nil {
		dl.disarm()
		wrap(a.resp, f, &settle{end: n.Hold(), release: release, dl: dl, client: ctx, node: n, gauge: b.ttfb[n.Index()]})
	} else {
		release()
		dl.stop()
	}
	return targetOutcome{resp: a.resp, success: true, result: upstream.Success, latency: r.now().Sub(t0)}
}

// Why the loop stops after an attempt (tryAgain).
const (
	stopNone    = iota // it goes on: try again
	stopDone           // the attempt needs no retry, or none is allowed
	stopNoNode         // no node available now: the next target
	stopBackoff        // the backoff would pass the deadline, or the policy said no
	stopSpent          // the retry budget refused
)

// tryAgain is the retry decision. Only a failure, a 429 or a 3xx is
// retried, while attempts remain, the upstream did not say no, and the
// deadline has not passed; then on the next node, after the wait it
// returns. A 429 or 3xx goes to another node only, at once: the same node
// would say it again.
func (r *Relay) tryAgain(tctx context.Context, b *backend, a *attemptResult, attempt int, tried uint64, deadline time.Time, force bool) (next *upstream.Node, panicked bool, wait time.Duration, why int) {
	if (a.result != upstream.Failure && !a.elsewhere) || a.final || a.noRetry || attempt+1 >= b.maxAttempts || tctx.Err() != nil {
		return nil, false, 0, stopDone
	}
	next, untried, panicked, ok := b.pick(tried, force)
	if !ok {
		return nil, false, 0, stopNoNode
	}
	if a.elsewhere && !untried {
		// With no other node, the next target serves, or the client gets
		// the 429 at once, retry-after and all.
		abandon(next)
		return nil, false, 0, stopDone
	}
	if a.err != nil && provider.NeverSent(a.err) && untried {
		// A request that never left, tried on a node not tried yet, costs
		// the upstream nothing: no budget, no wait.
		return next, panicked, 0, stopNone
	}
	// Anything else is load on a failing upstream, which the budget
	// bounds and the backoff spreads. A 429's retry goes to another node
	// at once: its retry-after is about the node that said it.
	d, ok := time.Duration(0), true
	if !a.elsewhere {
		d, ok = b.pool.Backoff(attempt, a.retryAfter)
	}
	if !ok || (!deadline.IsZero() && r.now().Add(d).After(deadline)) {
		abandon(next)
		return nil, false, 0, stopBackoff
	}
	if !b.pool.AllowRetry() {
		abandon(next)
		return nil, false, 0, stopSpent
	}
	return next, panicked, d, stopNone
}

// bulkheadRefused is the outcome of a target whose bulkhead refused the
// request: full (a 529 and its retry-after, named for logs and metrics),
// or the wait ended.
func (r *Relay) bulkheadRefused(ctx, tctx context.Context, b *backend, err error, res *Result) targetOutcome {
	reason := ReasonBulkheadFull
	var ae *apierr.Error
	if errors.As(err, &ae) {
		r.m.BulkheadRejected.WithLabelValues(b.name).Inc()
		e := *ae
		e.Err = &provider.Failure{Reason: ReasonBulkheadFull, Err: ae.Err}
		err = &e
	} else {
		err = provider.Classify(tctx, err)
		reason = provider.Reason(err)
	}
	r.refused(b, reason, err, res)
	return targetOutcome{err: err, final: ctx.Err() != nil, result: upstream.Neutral}
}

// deadline is a target's total deadline: tctx ends with provider.ErrDeadline
// when it passes. Deadlines are pooled with their timer: a request's target
// takes one, arms its timer with Reset, and gives it back at stop, so that
// the timer and its function are made once per pooled deadline, not once
// per request (three allocations a request). A deadline whose timer fired
// (or may be firing: Stop said false) is left to the GC, its function
// perhaps still running.
type deadline struct {
	deadline time.Time // zero: none
	timer    *time.Timer
	cancel   context.CancelCauseFunc
	armed    bool // the timer is set for this use
	reusable bool // the timer's function did not run for this use
}

var deadlines = sync.Pool{New: func() any { return new(deadline) }}

// bound starts the target's deadline: the route's total, or the
// provider's, from the request's start. ok is false when it has passed
// already.
func (r *Relay) bound(ctx context.Context, st *route, b *backend, start, now time.Time) (context.Context, *deadline, bool) {
	total := st.total
	if total <= 0 {
		total = b.t.Total
	}
	tctx, cancel := context.WithCancelCause(ctx)
	dl := deadlines.Get().(*deadline)
	dl.deadline, dl.cancel, dl.reusable = time.Time{}, cancel, true
	if total > 0 {
		dl.deadline = start.Add(total)
		left := dl.deadline.Sub(now)
		if left <= 0 {
			dl.stop()
			return nil, nil, false
		}
		dl.armed = true
		if dl.timer == nil {
			dl.timer = time.AfterFunc(left, dl.expire)
		} else {
			dl.timer.Reset(left) // stopped, and its function not run, when it was pooled
		}
	}
	return tctx, dl, true
}

// expire ends the target's context when the deadline passes.
func (d *deadline) expire() { d.cancel(provider.ErrDeadline) }

// disarm stops the timer: a stream that started has no total deadline.
func (d *deadline) disarm() {
	if d.armed {
		d.armed = false
		d.reusable = d.timer.Stop()
	}
}

// stop ends the deadline and the target's context, once; d is not used
// after.
func (d *deadline) stop() {
	d.disarm()
	d.cancel(nil)
	if d.reusable {
		d.cancel = nil
		deadlines.Put(d)
	}
}

// label is the attempt's outcome as a metric label: upstream_<status>, or
// the failure reason.
func (a *Attempt) label() string {
	if a.Status != 0 {
		return provider.HTTPReason(a.Status)
	}
	return a.Reason
}

// failing reports whether an answer's status counts against the node and
// is worth retrying: a timeout, a rate limit, a server error, an overload
// (openaicompat maps vendors' own rate-limit and overload codes onto these
// statuses). Every other 4xx is the request's own fault.
func failing(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// abandon gives back a node that was picked but will not be called (its
// half-open probe slot, if it held one).
func abandon(n *upstream.Node) {
	n.Start()(upstream.Outcome{Result: upstream.Neutral})
}

// deadlineContext is a context already ended by the total deadline, to
// classify a target skipped for it.
func deadlineContext() context.Context {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(provider.ErrDeadline)
	return ctx
}
