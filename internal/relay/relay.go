// Package relay carries one request from the server to an upstream: it maps
// the model to a route, picks a target and asks that target's provider.
package relay

import (
	"context"
	"fmt"
	"net/http"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/routing"
	"github.com/ferrygw/ferry/internal/translate"
)

// Provider sends a call to one upstream. An error means no answer was had
// (the upstream was unreachable, timed out, or failed before its headers);
// an HTTP error from the upstream is a Response with that status.
// Errors are *apierr.Error where the provider can classify them.
type Provider interface {
	Do(ctx context.Context, c *provider.Call) (*provider.Response, error)
}

// Relay routes calls to providers.
type Relay struct {
	routes    *routing.Table
	providers map[string]Provider
}

// New builds a Relay. Every provider a route names must be present.
func New(routes *routing.Table, providers map[string]Provider) (*Relay, error) {
	for _, rt := range routes.All() {
		for _, t := range rt.Targets {
			if providers[t.Provider] == nil {
				return nil, fmt.Errorf("relay: route %q: provider %q is not defined", rt.Match, t.Provider)
			}
		}
	}
	return &Relay{routes: routes, providers: providers}, nil
}

// Request is what the server hands the relay.
type Request struct {
	Op     provider.Op
	Format provider.Format // the client's format; the answer comes back in it
	Body   []byte
	Peek   anthropic.Peek
	Header http.Header
	Query  string
}

// Result is the answer plus where it came from, for logs and headers.
type Result struct {
	*provider.Response
	Route    string // the route's match pattern
	Provider string
	Model    string // the model name the upstream saw
	Attempts []Attempt
}

// Attempt records one try at one target.
type Attempt struct {
	Provider string
	Err      error
}

// Lookup reports the route for a model, for callers that need to decide
// before sending (e.g. to answer 404 early).
func (r *Relay) Lookup(model string) (*routing.Route, bool) { return r.routes.Lookup(model) }

// Do routes the request and tries the route's targets in order. A target is
// left for the next only when its provider produced no answer at all (every
// node unreachable); an answer, even an error status, is the client's.
// Fuller retry and fallback policy comes with the resilience work.
func (r *Relay) Do(ctx context.Context, req *Request) (*Result, error) {
	model := req.Peek.Model
	route, ok := r.routes.Lookup(model)
	if !ok {
		// The API's own wording for an unknown model.
		return nil, apierr.New(apierr.NotFound, "model: %s", model)
	}
	res := &Result{Route: route.Match}
	var (
		lastErr error
		conv    *converted // the request in Anthropic's format, made once if needed
	)
	for _, t := range route.Targets {
		up := t.UpstreamModel(model)
		p := r.providers[t.Provider]
		call := &provider.Call{
			Op:     req.Op,
			Format: req.Format,
			Model:  up,
			Stream: req.Peek.Stream,
			Header: req.Header,
			Query:  req.Query,
		}
		var oinfo *translate.OpenAIRequestInfo
		if speaks(p, req.Format) {
			call.Body = req.Peek.WithModel(req.Body, up)
		} else {
			// Only OpenAI clients reach here: the provider speaks
			// Anthropic, so the call goes as Anthropic and the answer
			// comes back translated.
			if conv == nil {
				c, err := convertOpenAI(req.Body)
				if err != nil {
					return res, err
				}
				conv = c
			}
			call.Format = provider.FormatAnthropic
			call.Body = conv.peek.WithModel(conv.body, up)
			call.Stream = conv.peek.Stream
			oinfo = conv.info
		}
		resp, err := p.Do(ctx, call)
		if err == nil && oinfo != nil {
			resp, err = toOpenAI(resp, oinfo)
		}
		res.Attempts = append(res.Attempts, Attempt{Provider: t.Provider, Err: err})
		if err == nil {
			res.Response, res.Provider, res.Model = resp, t.Provider, up
			return res, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return res, lastErr
}

// converted is an OpenAI request translated to Anthropic's format.
type converted struct {
	body []byte
	peek anthropic.Peek
	info *translate.OpenAIRequestInfo
}

func convertOpenAI(body []byte) (*converted, error) {
	ab, info, err := translate.FromOpenAIRequest(body)
	if err != nil {
		return nil, apierr.Wrap(apierr.InvalidRequest, err, err.Error())
	}
	peek, err := anthropic.Inspect(ab)
	if err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "request translation failed")
	}
	return &converted{body: ab, peek: peek, info: info}, nil
}
