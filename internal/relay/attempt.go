package relay

// One attempt on one node, and its bookkeeping: attempt calls the node and
// classifies what came back into one attemptResult; record writes that
// result, whatever it was, to the node's breaker and latency, the pool's
// failure note, the metrics and the request's list of attempts.

import (
	"context"
	"errors"
	"time"

	"github.com/ferrygw/ferry/internal/convert"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/upstream"
)

// attemptResult is one attempt's outcome. Its verdict says how it counts:
// resp is a success (success true) or an error answer, buffered; err the
// failure when there was no usable answer.
type attemptResult struct {
	verdict
	at         Attempt
	ttfb       time.Duration
	retryAfter time.Duration // the answer's retry hint
	success    bool
	answered   bool // resp replaces the target's last answer (resp may be nil: judged away)
	gone       bool // the client left: no answer is kept
}

// attempt calls node n once and classifies the outcome. A success's
// whole answer is read here, under tctx's deadline, and checked: a 200
// whose JSON is cut short (a proxy that gave up) is a failure to retry,
// never an answer. An error answer is read whole (it is small), so that
// the connection is free and the answer can wait for the client while
// other attempts run.
func (r *Relay) attempt(ctx, tctx context.Context, b *backend, n *upstream.Node, call *provider.Call) attemptResult {
	call.Node = n.Index()
	a0 := r.now()
	resp, err := convert.Do(tctx, b.p, call) // translated back when prepare translated the call
	a := attemptResult{at: Attempt{Provider: b.name, Node: n.Label()}, ttfb: r.now().Sub(a0)}
	if err == nil {
		a.at.Status = resp.Status
	}
	if err == nil && resp.Status >= 200 && resp.Status <= 299 {
		if resp.Events != nil {
			a.resp, a.success, a.result = resp, true, upstream.Success
			return a
		}
		if err = r.readAnswer(tctx, resp); err == nil {
			a.resp, a.success, a.result = resp, true, upstream.Success
			return a
		}
		a.at.Status, resp = 0, nil
	}
	if err == nil {
		a.retryAfter = parseRetryAfter(resp.Header, r.now())
		a.noRetry = resp.Header.Get("X-Should-Retry") == "false"
		if rerr := buffer(resp); rerr != nil {
			a.at.Status, resp, err = 0, nil, provider.Classify(tctx, rerr)
		}
	}
	if err != nil {
		r.failed(ctx, tctx, b, n, err, &a)
		return a
	}
	if resp.Local {
		// The gateway's own answer (a count_tokens estimate it could
		// not make): no upstream to blame or to try again.
		a.resp, a.answered, a.result, a.final = resp, true, upstream.Neutral, true
		return a
	}
	noRetry := a.noRetry
	a.verdict = r.judge(ctx, b, n, resp, a.retryAfter)
	a.noRetry = a.noRetry || noRetry
	a.answered, a.at.Err = true, a.err
	return a
}

// failed classifies an attempt that had no answer.
func (r *Relay) failed(ctx, tctx context.Context, b *backend, n *upstream.Node, err error, a *attemptResult) {
	a.at.Reason, a.at.Err, a.err, a.result = provider.Reason(err), err, err, upstream.Neutral
	var f *provider.Failure
	switch {
	case ctx.Err() != nil:
		// The client left (or the server is shutting down): not the
		// node's fault, and nothing more to try.
		a.gone, a.final = true, true
	case !errors.As(err, &f):
		// Not a transport failure: the provider refused the call itself
		// (an operation it does not support). Another target may take
		// it; this one would refuse again.
		a.noRetry = true
	case errors.Is(context.Cause(tctx), provider.ErrDeadline):
		// The request's own deadline ended the attempt, perhaps with
		// little time left after earlier failures and backoffs: that
		// says nothing about this node.
	case f.Reason == ReasonTooLarge:
		// The node answered, in full and at length: another attempt
		// would be another billed completion of the same size.
		a.final = true
	default:
		a.result = upstream.Failure
		if provider.NeverSent(err) {
			b.pool.MarkDown(n.Index())
		}
	}
}

// record is an attempt's bookkeeping, the one place for it. finish is the
// node's in-flight mark (upstream.Node.Start); repeat marks a failure on a
// node this request already failed on. A local answer (a count_tokens
// estimate) called no upstream: it says nothing of the node's speed or
// health.
func (r *Relay) record(b *backend, n *upstream.Node, finish func(upstream.Outcome), a *attemptResult, repeat bool, res *Result) {
	local := a.resp != nil && a.resp.Local
	switch {
	case a.success && local:
		finish(upstream.Outcome{})
	case a.success:
		b.pool.MarkUp(n.Index())
		finish(upstream.Outcome{Result: upstream.Success, TTFB: a.ttfb})
	default:
		finish(upstream.Outcome{Result: a.result, TTFB: a.ttfb, Repeat: repeat})
		if a.result == upstream.Failure || a.elsewhere {
			b.pool.NoteFailure(a.at.label())
		}
	}
	if !(a.success && local) {
		b.ttfb[n.Index()].Set(n.Latency().Seconds())
	}
	if a.success {
		b.successes.Inc()
		a.resp.Node = n.Label()
	} else {
		r.m.Attempts.WithLabelValues(b.name, a.at.label()).Inc()
	}
	res.Attempts = append(res.Attempts, a.at)
}

// refused records an attempt refused before a node was chosen (a full
// bulkhead, no node available).
func (r *Relay) refused(b *backend, reason string, err error, res *Result) {
	res.Attempts = append(res.Attempts, Attempt{Provider: b.name, Reason: reason, Err: err})
	r.m.Attempts.WithLabelValues(b.name, reason).Inc()
}
