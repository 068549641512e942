package relay

// One target's attempts: the bulkhead, node choice, the attempt, its
// classification, and the decision to retry.

import (
	"context"
	"errors"
	"net/http"
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
	total := st.total
	if total <= 0 {
		total = b.t.Total
	}
	var deadline time.Time
	t0 := r.now()
	tctx, cancel := context.WithCancelCause(ctx)
	var timer *time.Timer
	if total > 0 {
		deadline = start.Add(total)
		left := deadline.Sub(t0)
		if left <= 0 {
			cancel(nil)
			return targetOutcome{skipped: true, err: provider.Classify(deadlineContext(), provider.ErrDeadline)}
		}
		timer = time.AfterFunc(left, func() { cancel(provider.ErrDeadline) })
	}
	stop := func() {
		if timer != nil {
			timer.Stop()
		}
		cancel(nil)
	}

	b.pool.CountRequest()
	release, err := b.pool.Acquire(tctx)
	if err != nil {
		reason := ReasonBulkheadFull
		var ae *apierr.Error
		if errors.As(err, &ae) {
			r.m.BulkheadRejected.WithLabelValues(b.name).Inc()
			e := *ae // the 529 and its retry-after, named for logs and metrics
			e.Err = &provider.Failure{Reason: ReasonBulkheadFull, Err: ae.Err}
			err = &e
		} else {
			err = provider.Classify(tctx, err)
			reason = provider.Reason(err)
		}
		stop()
		res.Attempts = append(res.Attempts, Attempt{Provider: b.name, Reason: reason, Err: err})
		r.m.Attempts.WithLabelValues(b.name, reason).Inc()
		return targetOutcome{err: err, final: ctx.Err() != nil, result: upstream.Neutral}
	}

	call.FirstByte, call.StreamIdle = st.firstByte, st.idle
	var (
		tried, failed uint64             // nodes this request tried, and failed on
		lastResp      *provider.Response // the last error answer, buffered
		lastErr       error
		result        = upstream.Neutral // of the last attempt
		final, noNode bool
		spent         bool // the retry budget refused a retry
		n, _, pnc, ok = b.pick(0, force)
	)
	for attempt := 0; ; attempt++ {
		if !ok {
			err := r.noNodeError(b)
			res.Attempts = append(res.Attempts, Attempt{Provider: b.name, Reason: ReasonNoNode, Err: err})
			r.m.Attempts.WithLabelValues(b.name, ReasonNoNode).Inc()
			lastErr, result, noNode = err, upstream.Failure, attempt == 0
			break
		}
		if pnc {
			r.panicked(ctx, b, n)
		}
		bit := uint64(1) << n.Index()
		tried |= bit
		call.Node = n.Index()
		finish := n.Start()
		a0 := r.now()
		resp, err := b.p.Do(tctx, call)
		ttfb := r.now().Sub(a0)
		at := Attempt{Provider: b.name, Node: n.Label()}
		if err == nil {
			at.Status = resp.Status
		}

		if err == nil && resp.Status >= 200 && resp.Status <= 299 {
			// A local answer (a count_tokens estimate) called no
			// upstream: it says nothing of the node's speed or health.
			health := upstream.Outcome{Result: upstream.Success, TTFB: ttfb}
			if resp.Local {
				health = upstream.Outcome{}
			}
			if resp.Events != nil {
				b.pool.MarkUp(n.Index())
				b.successes.Inc()
				res.Attempts = append(res.Attempts, at)
				resp.Node = n.Label()
				if timer != nil {
					// A stream that started has no total deadline.
					timer.Stop()
				}
				// The breaker learns of the success at the headers: a
				// half-open node's one probe slot must not be held for
				// the whole of a long stream, keeping every other request
				// off a recovered node. The stream keeps its own in-flight
				// mark, and a break later in it is recorded then.
				finish(health)
				b.ttfb[n.Index()].Set(n.Latency().Seconds())
				wrap(resp, &settle{end: n.Hold(), release: release, stop: stop, client: ctx, node: n, gauge: b.ttfb[n.Index()]})
				return targetOutcome{resp: resp, success: true, result: upstream.Success, latency: r.now().Sub(t0)}
			}
			// A whole answer is read here, under the deadline, and checked:
			// a 200 whose JSON is cut short (a proxy that gave up) is a
			// failure to retry, never an answer.
			if err = r.readAnswer(tctx, resp); err == nil {
				if !resp.Local {
					b.pool.MarkUp(n.Index())
					b.ttfb[n.Index()].Set(n.Latency().Seconds())
				}
				b.successes.Inc()
				finish(health)
				res.Attempts = append(res.Attempts, at)
				resp.Node = n.Label()
				release()
				stop()
				return targetOutcome{resp: resp, success: true, result: upstream.Success, latency: r.now().Sub(t0)}
			}
			at.Status, resp = 0, nil
		}

		var (
			retryAfter time.Duration
			noRetry    bool
			elsewhere  bool // a 429 or 3xx: retried on another node only, at once
		)
		if err == nil {
			// An error answer: read whole (it is small), so that the
			// connection is free and the answer can wait for the client
			// while other attempts run.
			retryAfter = parseRetryAfter(resp.Header, r.now())
			noRetry = resp.Header.Get("X-Should-Retry") == "false"
			if rerr := buffer(resp); rerr != nil {
				at.Status, resp, err = 0, nil, provider.Classify(tctx, rerr)
			}
		}
		var f *provider.Failure
		switch {
		case err != nil && ctx.Err() != nil:
			// The client left (or the server is shutting down): not the
			// node's fault, and nothing more to try.
			at.Reason, at.Err = provider.Reason(err), err
			lastResp, lastErr, result, final = nil, err, upstream.Neutral, true
		case err != nil && !errors.As(err, &f):
			// Not a transport failure: the provider refused the call
			// itself (an operation it does not support). Another target
			// may take it; this one would refuse again.
			at.Reason, at.Err = provider.Reason(err), err
			lastErr, result, noRetry = err, upstream.Neutral, true
		case err != nil && errors.Is(context.Cause(tctx), provider.ErrDeadline):
			// The request's own deadline ended the attempt, perhaps with
			// little time left after earlier failures and backoffs: that
			// says nothing about this node.
			at.Reason, at.Err = f.Reason, err
			lastErr, result = err, upstream.Neutral
		case err != nil && f.Reason == ReasonTooLarge:
			// The node answered, in full and at length: another attempt
			// would be another billed completion of the same size.
			at.Reason, at.Err = f.Reason, err
			lastErr, result, final = err, upstream.Neutral, true
		case err != nil:
			at.Reason, at.Err = f.Reason, err
			lastErr, result = err, upstream.Failure
			if provider.NeverSent(err) {
				b.pool.MarkDown(n.Index())
			}
		case resp.Local:
			// The gateway's own answer (a count_tokens estimate it could
			// not make): no upstream to blame or to try again.
			lastResp, result, final = resp, upstream.Neutral, true
		default:
			v := r.judge(ctx, b, n, resp, retryAfter)
			lastResp, result, final, elsewhere = v.resp, v.result, v.final, v.elsewhere
			noRetry = noRetry || v.noRetry
			if v.err != nil {
				lastErr, at.Err = v.err, v.err
			}
		}
		finish(upstream.Outcome{Result: result, TTFB: ttfb, Repeat: failed&bit != 0})
		if result == upstream.Failure {
			failed |= bit
		}
		if result == upstream.Failure || elsewhere {
			b.pool.NoteFailure(at.label())
		}
		b.ttfb[n.Index()].Set(n.Latency().Seconds())
		res.Attempts = append(res.Attempts, at)
		r.m.Attempts.WithLabelValues(b.name, at.label()).Inc()

		// Retry? Only a failure, a 429 or a 3xx, while attempts remain, the
		// upstream did not say no, and the deadline has not passed.
		if (result != upstream.Failure && !elsewhere) || final || noRetry || attempt+1 >= b.maxAttempts || tctx.Err() != nil {
			break
		}
		next, untried, npnc, nok := b.pick(tried, force)
		if !nok {
			break // no node available now: the next target
		}
		if elsewhere && !untried {
			// A 429 is the vendor's answer for now, a 3xx the node's
			// setup: the same node would say it again. With no other
			// node, the next target serves, or the client gets the 429
			// at once, retry-after and all.
			abandon(next)
			break
		}
		var wait time.Duration
		if !(err != nil && provider.NeverSent(err) && untried) {
			// A request that never left, tried on a node not tried yet,
			// costs the upstream nothing: no budget, no wait. Anything
			// else is load on a failing upstream, which the budget bounds
			// and the backoff spreads. A 429's retry goes to another node
			// at once: its retry-after is about the node that said it.
			d, bok := time.Duration(0), true
			if !elsewhere {
				d, bok = b.pool.Backoff(attempt, retryAfter)
			}
			if !bok || (!deadline.IsZero() && r.now().Add(d).After(deadline)) {
				abandon(next)
				break
			}
			if !b.pool.AllowRetry() {
				r.m.RetryBudgetExhausted.WithLabelValues(b.name).Inc()
				spent = true
				abandon(next)
				break
			}
			wait = d
		}
		r.m.Retries.WithLabelValues(b.name, at.label()).Inc()
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
		n, pnc, ok = next, npnc, true
	}
	release()
	stop()
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
