package relay

// Shadow traffic: after the primary answer, a sampled share of a route's
// requests is sent once more to the route's shadow provider, off the
// request's path, and the two answers are compared (package shadow).

import (
	"context"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/convert"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/shadow"
	"github.com/ferrygw/ferry/internal/sse"
	"github.com/ferrygw/ferry/internal/upstream"
)

// routeShadow is a route's shadow target, resolved.
type routeShadow struct {
	cfg    config.RouteShadow
	target shadow.Target
	b      *backend
}

// mirror decides whether this request is mirrored and, when it is, taps
// the primary answer resp (in Anthropic's format, before any translation
// for an OpenAI client) so that its Outcome, once the server has read it
// all, is queued with a job that makes the shadow call. The client's
// latency never depends on the shadow: the tap only records, Submit never
// blocks, and the call runs on the mirror's workers.
func (r *Relay) mirror(ctx context.Context, req *Request, st *route, conv *converted, resp *provider.Response, translated bool, primary string, start time.Time) {
	sh := st.shadow
	if sh == nil || r.shadow == nil || req.Op != provider.OpMessages {
		return
	}
	if req.Format == provider.FormatOpenAI && !translated {
		return // an OpenAI answer passed through as is: the recorder reads Anthropic answers only
	}
	if !r.shadow.Sample(sh.cfg.Sample) {
		return
	}
	body, peek := req.Body, req.Peek
	if req.Format == provider.FormatOpenAI {
		body, peek = conv.body, conv.peek
	}
	model := sh.cfg.Model
	if model == "" {
		model = req.Peek.Model
	}
	// The job outlives the request: it keeps its own copy of what it sends.
	sbody := peek.WithModel(append([]byte(nil), body...), model)
	call := provider.Call{
		Op:         provider.OpMessages,
		Format:     provider.FormatAnthropic,
		Body:       sbody,
		Model:      model,
		Stream:     peek.Stream,
		Query:      req.Query,
		Header:     req.Header.Clone(),
		FirstByte:  sh.b.t.ResponseHeader,
		StreamIdle: sh.b.t.StreamIdle,
	}
	job := shadow.Job{
		Target:          sh.target,
		RequestModel:    req.Peek.Model,
		PrimaryProvider: primary,
		Bytes:           int64(len(sbody)),
		Run:             func(ctx context.Context) (shadow.Outcome, error) { return r.shadowCall(ctx, sh.b, &call) },
	}
	rec := shadow.NewRecorderAt(start, r.now)
	rec.StatusAt(resp.Status, r.now())
	done := func(o shadow.Outcome) {
		if ctx.Err() != nil {
			return // the client left: there is no complete primary answer to compare
		}
		job.Primary = o
		r.shadow.Submit(job)
	}
	if resp.Events != nil {
		resp.Events = &tapped{StreamBase: provider.StreamBase{Src: resp.Events}, tap: shadow.TapEvents(resp.Events, rec, done)}
	} else if resp.Body != nil {
		resp.Body = shadow.TapBody(resp.Body, rec, done)
	}
}

// shadowCall makes the shadow call: one attempt on one node, no retry and
// no fallback. It stays out of the pool's breakers, latency and in-flight
// figures, so shadow traffic can never change how primary traffic is
// routed.
func (r *Relay) shadowCall(ctx context.Context, b *backend, call *provider.Call) (shadow.Outcome, error) {
	n := shadowNode(b.pool)
	if n == nil {
		return shadow.Outcome{}, errNoShadowNode
	}
	call.Node = n.Index()
	prepare(b.p, call) // on the mirror's worker, not the client's path
	rec := shadow.NewRecorder(r.now)
	resp, err := convert.Do(ctx, b.p, call)
	if err != nil {
		return shadow.Outcome{}, err
	}
	defer resp.Close()
	rec.Status(resp.Status)
	return rec.Drain(resp.Body, resp.Events), nil
}

type shadowError string

func (e shadowError) Error() string { return string(e) }

const errNoShadowNode = shadowError("shadow provider has no available node")

// shadowTarget resolves a route's shadow config.
func (r *Relay) shadowTarget(rc config.Route) *routeShadow {
	if rc.Shadow.Provider == "" {
		return nil
	}
	return &routeShadow{
		cfg:    rc.Shadow,
		target: shadow.Target{Route: rc.Match, Provider: rc.Shadow.Provider, Model: rc.Shadow.Model},
		b:      r.backends[rc.Shadow.Provider],
	}
}

// shadowNode is the first node whose breaker is closed and whose health
// check is not failing, or nil. Pool.Pick is not used: on a half-open node
// it would take the one probe slot that primary traffic needs to close the
// breaker.
func shadowNode(p *upstream.Pool) *upstream.Node {
	for i := range p.Len() {
		n := p.Node(i)
		if n.Breaker().State() == upstream.Closed && n.Health() != upstream.HealthFailing {
			return n
		}
	}
	return nil
}

// tapped is a stream the shadow tap reads on the way: its events and its
// Close go through the tap, the rest is the stream's.
type tapped struct {
	provider.StreamBase
	tap sse.Source
}

func (t *tapped) Next() (sse.Event, error) { return t.tap.Next() }

func (t *tapped) Close() error { return t.tap.Close() }
