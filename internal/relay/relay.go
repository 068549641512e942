// Package relay carries one request from the server to an upstream: it maps
// the model to a route, orders the route's targets (weights, canary,
// stickiness), and runs the one retry-and-fallback loop. Per target: the
// provider's bulkhead, then attempts on nodes its pool chooses, bounded by
// the retry policy and budget and by the request's total deadline; a
// target that is exhausted (or has no node available) hands over to the
// next, which may speak another protocol. Everything happens before the
// first byte reaches the client: once an answer is handed to the server it
// is never retried.
package relay

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/canary"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/metrics"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/routing"
	"github.com/ferrygw/ferry/internal/shadow"
	"github.com/ferrygw/ferry/internal/tracing"
	"github.com/ferrygw/ferry/internal/upstream"
)

// Provider sends a call to one node of one upstream, once. An error means
// no answer was had (see provider.Failure for its reason); an HTTP error
// from the upstream is a Response with that status. Nodes are the labels of
// its nodes, which Call.Node indexes.
type Provider interface {
	Do(ctx context.Context, c *provider.Call) (*provider.Response, error)
	Nodes() []string
}

// Prober is a Provider that can check a node's health.
type Prober interface {
	Probe(ctx context.Context, node int) error
}

// Relay routes calls to providers.
type Relay struct {
	table    *routing.Table
	routes   map[string]*route   // by match
	backends map[string]*backend // by provider name
	pools    []*upstream.Pool
	splits   []*canary.Split
	m        *metrics.Metrics
	log      *slog.Logger
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	shadow   *shadow.Mirror  // nil: no shadow traffic
	bufs     sync.Pool       // *[]byte for whole answers
	maxWhole int64           // bound of a whole answer (Options.MaxAnswerBytes)
	tracer   *tracing.Tracer // nil: no spans (trace.go)
}

// Request is what the server hands the relay.
type Request struct {
	Op     provider.Op
	Format provider.Format // the client's format; the answer comes back in it
	Body   []byte
	Peek   anthropic.Peek
	Header http.Header
	Query  string
	// KeyName is the gateway key's name ("" without keys): the sticky key
	// of routes with sticky: key.
	KeyName string
	// Route is the model's route as this relay's Lookup found it, so that
	// a request looks its route up once; nil: Do looks it up.
	Route *routing.Route
}

// Result is the answer plus where it came from, for logs and headers.
type Result struct {
	*provider.Response
	Route    string // the route's match pattern
	Rule     int    // the index of the routes[].when rule that chose the targets; -1: none
	Provider string
	Model    string // the model name the upstream saw
	Attempts []Attempt

	attempt [1]Attempt    // Attempts' backing while there is one
	call    provider.Call // the first target's call: no allocation of its own
}

// Attempt records one try: on a node, or refused before one was chosen
// (Node "": a full bulkhead, no node available).
type Attempt struct {
	Provider string
	Node     string
	Status   int           // the upstream's answer; 0: none
	Reason   string        // why there was no answer, when Status is 0
	Backoff  time.Duration // the wait after this attempt, before the next
	Err      error
}

// Outcome is the attempt's status code, or the reason it had none.
func (a Attempt) Outcome() string {
	if a.Status != 0 {
		return strconv.Itoa(a.Status)
	}
	return a.Reason
}

// String is the attempt for the access log: provider@node:outcome, and the
// backoff that followed it, e.g. "anthropic@10.0.0.1:529 backoff=87ms".
func (a Attempt) String() string {
	var b strings.Builder
	b.WriteString(a.Provider)
	b.WriteByte('@')
	if a.Node == "" {
		b.WriteByte('-')
	}
	b.WriteString(a.Node)
	b.WriteByte(':')
	b.WriteString(a.Outcome())
	if a.Backoff > 0 {
		b.WriteString(" backoff=")
		b.WriteString(strconv.FormatInt(a.Backoff.Milliseconds(), 10))
		b.WriteString("ms")
	}
	return b.String()
}

// Lookup reports the route for a model, for callers that need to decide
// before sending (e.g. to answer 404 early).
func (r *Relay) Lookup(model string) (*routing.Route, bool) { return r.table.Lookup(model) }

// Do routes the request and tries the route's targets in the split's order
// (see the package documentation). The client gets the first success; when
// none succeeds, the last answer the upstreams gave (as is), or, when none
// answered, the last error. A final answer (a 4xx the client caused) and a
// client's cancel end the loop at once.
func (r *Relay) Do(ctx context.Context, req *Request) (*Result, error) {
	if err := checkRequired(req); err != nil {
		return nil, err
	}
	model := req.Peek.Model
	rt, st := req.Route, (*route)(nil)
	if rt != nil {
		st = r.routes[rt.Match]
	}
	if st == nil {
		var ok bool
		if rt, ok = r.table.Lookup(model); !ok {
			// The API's own wording for an unknown model.
			return nil, apierr.New(apierr.NotFound, "model: %s", model)
		}
		st = r.routes[rt.Match]
	}
	res := &Result{Route: rt.Match, Rule: -1}
	res.Attempts = res.attempt[:0] // the usual one attempt: no allocation of its own
	var buf [8]int
	order := st.order(req, len(rt.Targets), buf[:0])
	plan := rt.Targets
	if len(rt.Rules) > 0 {
		if res.Rule = rt.Select(facts(req)); res.Rule >= 0 {
			plan, order = ruleFirst(rt.Rules[res.Rule].Targets, rt.Targets, order)
		}
	}
	var (
		start   = r.now()
		conv    *converted // the request in Anthropic's format, made once if needed
		kept    *keptAnswer
		lastErr error
		prev    string
		callBuf [8]targetCall
	)
	// Each target's call, by its place in order, built once: the second
	// pass tries the same targets again, their translations made already.
	calls := callBuf[:0]
	if len(order) > len(callBuf) {
		calls = make([]targetCall, len(order))
	}
	calls = calls[:len(order)]
	// Two passes at most: the second, panic routing, only when the first
	// found no available node on any target (every breaker open), so that
	// breakers move traffic but never leave a route with nothing to call.
	for pass := 0; pass < 2; pass++ {
		force, noNode := pass == 1, true
		if force {
			lastErr = nil
		}
		for pos, ti := range order {
			t := plan[ti]
			b := r.backends[t.Provider]
			if pos > 0 && prev != "" {
				r.m.Fallbacks.WithLabelValues(rt.Match, prev, t.Provider).Inc()
			}
			tc := &calls[pos]
			if tc.call == nil {
				dst := &res.call
				if pos > 0 {
					dst = new(provider.Call)
				}
				back, err := r.tracedCall(ctx, req, b, &t, model, &conv, dst)
				if err != nil {
					return res, err // an untranslatable request: the client's error
				}
				tc.call, tc.back = dst, back
			}
			call, back := tc.call, tc.back
			out := r.target(ctx, b, st, call, start, res, force)
			if out.skipped {
				noNode = false
				if lastErr == nil {
					lastErr = out.err
				}
				continue
			}
			noNode = noNode && out.noNode
			prev = t.Provider
			if pass == 0 && pos == 0 && res.Rule < 0 && st.split != nil && out.result != upstream.Neutral {
				st.split.Record(ti, out.result == upstream.Success, out.latency)
			}
			if out.success {
				resp := out.resp
				r.mirror(ctx, req, st, conv, resp, back != nil, t.Provider, start)
				if back != nil {
					var err error
					if resp, err = back.answer(resp); err != nil {
						out.resp.Close()
						return res, apierr.Wrap(apierr.BadGateway, err, "upstream answer could not be translated")
					}
				}
				res.Response, res.Provider, res.Model = resp, t.Provider, call.Model
				return res, nil
			}
			if out.resp != nil {
				kept = &keptAnswer{resp: out.resp, provider: t.Provider, model: call.Model, back: back}
			} else if lastErr == nil || !out.noNode {
				lastErr = out.err
			}
			if out.final || ctx.Err() != nil {
				noNode = false
				break
			}
		}
		if !noNode || kept != nil || ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil && lastErr != nil {
		return res, lastErr // the client is gone: no answer to give
	}
	if kept != nil {
		resp := kept.resp
		r.mirror(ctx, req, st, conv, resp, kept.back != nil, kept.provider, start)
		if kept.back != nil {
			var err error
			if resp, err = kept.back.answer(resp); err != nil {
				return res, apierr.Wrap(apierr.BadGateway, err, "upstream answer could not be translated")
			}
		}
		res.Response, res.Provider, res.Model = resp, kept.provider, kept.model
		return res, nil
	}
	if lastErr == nil {
		// Ferry's own 503: with a retry-after, as every refusal of its own.
		lastErr = &apierr.Error{Kind: apierr.Unavailable, Public: "no upstream available", RetryAfter: time.Second}
	}
	return res, lastErr
}

// targetCall is the call built for one target, and the request's
// translation when the answer must go back (see call).
type targetCall struct {
	call *provider.Call
	back *converted
}

// keptAnswer is the last error answer, buffered, given to the client when
// no later target succeeds.
type keptAnswer struct {
	resp     *provider.Response
	provider string
	model    string
	back     *converted // the request was translated: the answer goes back
}

// order is the order to try the route's n targets in.
func (st *route) order(req *Request, n int, dst []int) []int {
	if st.split == nil {
		for i := range n {
			dst = append(dst, i)
		}
		return dst
	}
	key := ""
	switch {
	case st.stickyKey:
		key = req.KeyName
	case st.stickyHeader != "":
		if v := req.Header[st.stickyHeader]; len(v) > 0 {
			key = v[0]
		}
	}
	return st.split.Order(key, dst)
}

// call builds the call to one target into call: the body with the
// target's model, in a format its provider speaks, with the route's
// timeouts. A translated request is translated once, for every target
// that needs it (conv), and returned as back: its answer must be
// translated back.
func (r *Relay) call(req *Request, b *backend, t *routing.Target, model string, conv **converted, call *provider.Call) (*converted, error) {
	up := t.UpstreamModel(model)
	*call = provider.Call{
		Op:        req.Op,
		Format:    req.Format,
		Model:     up,
		Stream:    req.Peek.Stream,
		Header:    req.Header,
		Query:     req.Query,
		SetHeader: policyHeaders(b, t, req.Header),
	}
	params := b.params.Merge(t.Params)
	if req.Op != provider.OpMessages {
		params = config.Params{} // count_tokens: nothing is generated
	}
	if speaks(b.p, req.Format) {
		call.Body = applyParams(req.Peek.WithModel(req.Body, up), req.Format, params)
		prepare(b.p, call)
		return nil, nil
	}
	// Only OpenAI clients reach here: the provider speaks Anthropic, so
	// the call goes as Anthropic and the answer comes back translated.
	if *conv == nil {
		c, err := convertOpenAI(req.Body)
		if err != nil {
			return nil, err
		}
		*conv = c
	}
	c := *conv
	call.Format = provider.FormatAnthropic
	call.Body = applyParams(c.peek.WithModel(c.body, up), provider.FormatAnthropic, params)
	call.Stream = c.peek.Stream
	prepare(b.p, call)
	return c, nil
}

// bytesPerToken turns a body's size into the input estimate that trait
// rules compare with tokens_over (the rate limiter's estimate too).
const bytesPerToken = 4

// facts gathers what trait rules look at: all of it read by Inspect in its
// one pass, or known already.
func facts(req *Request) *routing.Facts {
	return &routing.Facts{
		Model:    req.Peek.Model,
		Thinking: req.Peek.Thinking,
		Tools:    req.Peek.Tools,
		Tokens:   int64(len(req.Body) / bytesPerToken),
		Header:   req.Header,
	}
}

// ruleFirst returns the targets to try when a rule matched: the rule's, in
// order, then the route's in their usual order, less those the rule's
// already named (same provider and model), as fallbacks.
func ruleFirst(rule, route []routing.Target, order []int) ([]routing.Target, []int) {
	plan := make([]routing.Target, 0, len(rule)+len(route))
	plan = append(plan, rule...)
	idx := make([]int, 0, len(rule)+len(order))
	for i := range rule {
		idx = append(idx, i)
	}
outer:
	for _, ti := range order {
		t := route[ti]
		for _, rt := range rule {
			if rt.Provider == t.Provider && rt.Model == t.Model {
				continue outer
			}
		}
		idx = append(idx, len(plan))
		plan = append(plan, t)
	}
	return plan, idx
}
