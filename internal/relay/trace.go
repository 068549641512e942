package relay

// Spans of the relay's steps: the per-target translation and each upstream
// attempt. With tracing off (a nil tracer) each is one nil check.

import (
	"context"

	"go.opentelemetry.io/otel/attribute"

	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/routing"
	"github.com/ferrygw/ferry/internal/upstream"
)

// tracedCall is call inside a ferry.translate span.
func (r *Relay) tracedCall(ctx context.Context, req *Request, b *backend, t *routing.Target, model string, conv **converted, call *provider.Call) (*converted, error) {
	_, sp := r.tracer.Start(ctx, "ferry.translate")
	back, err := r.call(req, b, t, model, conv, call)
	if sp.Recording() {
		sp.Set(attribute.String("ferry.provider", b.name), attribute.Bool("ferry.translated", back != nil))
	}
	sp.Fail(err)
	sp.End()
	return back, err
}

// tracedAttempt is attempt inside a client span, ending when the answer's
// headers (a stream) or whole answer arrived. The span is the upstream
// request's context: the transport writes its traceparent.
func (r *Relay) tracedAttempt(ctx, tctx context.Context, b *backend, n *upstream.Node, call *provider.Call) attemptResult {
	sctx, sp := r.tracer.StartClient(tctx, "ferry.upstream.attempt")
	a := r.attempt(ctx, sctx, b, n, call)
	if sp.Recording() {
		sp.Set(attribute.String("ferry.provider", b.name), attribute.String("ferry.node", n.Label()),
			attribute.Int("http.response.status_code", a.at.Status), attribute.String("ferry.outcome", a.at.Outcome()))
	}
	if !a.success {
		sp.Fail(a.at.Err)
	}
	sp.End()
	return a
}
