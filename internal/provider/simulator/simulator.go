// Package simulator is a deterministic fake Anthropic model built into the
// gateway, for demos, tests and benchmarks. It answers Messages and
// count_tokens calls with the event sequence and JSON shapes of the real API
// (PROTOCOL.md §3-5), paced by a configurable time to first token and token
// rate, without starting a goroutine or touching the network.
//
// # Outcomes
//
// Each valid request takes the next number n from a counter; a splitmix64
// hash of (seed, n) decides whether the answer is an error (by the shares in
// config.SimErrors), whether it calls a tool, and every id and signature in
// it. The same seed and the same sequence of requests therefore give the same
// answers. Invalid requests get a 400 and take no number.
//
// # Forcing an outcome
//
// The request header X-Ferry-Simulate overrides the shares for one request:
//
//	X-Ferry-Simulate: error=429   429 rate_limit_error, with retry-after: 1
//	X-Ferry-Simulate: error=500   500 api_error
//	X-Ferry-Simulate: error=529   529 overloaded_error
//	X-Ferry-Simulate: tool_use    call a tool, if the request offers one and tool_choice is not "none"
//	X-Ferry-Simulate: text        answer with text, even when tool_choice asks for a tool
//
// Any other value is a 400 invalid_request_error. Errors apply to
// count_tokens too; tool_use and text do not change its answer.
//
// # Answers
//
// A thinking block comes first when the request enables thinking ("enabled"
// or "adaptive"). The text is config.Simulator.Text, or by default a sentence
// quoting the last user message. A tool call ("I'll use the X tool." and a
// tool_use block whose input is made from the tool's input_schema) happens
// when the request has custom tools, the last user turn holds no tool_result,
// and tool_choice is "any" or "tool", the header forces it, or the tool_use
// share says so. A last user turn with tool_result blocks gets
// "Tool result received: …" and end_turn, so an SDK tool round trip ends.
//
// Every word of text or thinking (with the spaces after it) is one output
// token and one delta; tool input is streamed in chunks of about 8 bytes, one
// token each. max_tokens cuts the answer after that many tokens (a tool call
// that does not fit whole is left out); a stop sequence in the text cuts it
// before the match.
package simulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/provider"
)

// HeaderSimulate is the request header that forces an outcome (see the
// package documentation).
const HeaderSimulate = "X-Ferry-Simulate"

// node is provider.Response.Node for every answer.
const node = "simulator"

// Options configure a Provider.
type Options struct {
	Name   string           // the provider's name, for error messages
	Config config.Simulator // behaviour
	// Sleep waits for d or until ctx is done, returning ctx's error then.
	// nil: a real timer. Tests inject a recorder.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Provider is the simulated model. It is safe for concurrent use.
type Provider struct {
	name  string
	cfg   config.Simulator
	sleep func(context.Context, time.Duration) error
	gap   time.Duration // between token deltas
	n     atomic.Uint64 // requests answered so far
}

// New validates o and returns a Provider.
func New(o Options) (*Provider, error) {
	c := o.Config
	var errs []error
	share := func(path string, v float64) {
		if !(v >= 0 && v <= 1) { // also rejects NaN
			errs = append(errs, fmt.Errorf("simulator.%s: must be in [0,1], got %v", path, v))
		}
	}
	share("errors.rate_limit", c.Errors.RateLimit)
	share("errors.api_error", c.Errors.APIError)
	share("errors.overloaded", c.Errors.Overloaded)
	share("tool_use", c.ToolUse)
	// A little slack so that 0.1+0.2+0.7 is accepted.
	if sum := c.Errors.RateLimit + c.Errors.APIError + c.Errors.Overloaded; sum > 1+1e-9 {
		errs = append(errs, fmt.Errorf("simulator.errors: shares sum to %v, more than 1", sum))
	}
	if !(c.TokensPerSecond >= 0) || math.IsInf(c.TokensPerSecond, 0) {
		errs = append(errs, fmt.Errorf("simulator.tokens_per_second: must be a finite number >= 0, got %v", c.TokensPerSecond))
	}
	if c.FirstToken < 0 {
		errs = append(errs, fmt.Errorf("simulator.first_token: must be >= 0, got %v", c.FirstToken))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("provider %q: %w", o.Name, err)
	}
	p := &Provider{name: o.Name, cfg: c, sleep: o.Sleep}
	if p.sleep == nil {
		p.sleep = sleepTimer
	}
	if c.TokensPerSecond > 0 {
		g := float64(time.Second) / c.TokensPerSecond
		p.gap = time.Duration(min(g, float64(time.Hour)))
	}
	return p, nil
}

// sleepTimer waits for d on a real timer, or until ctx is done.
func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// outcome is what one request gets.
type outcome uint8

const (
	outAuto       outcome = iota // decided by the shares
	outSuccess                   // success; a tool call only if the shares or tool_choice say so
	outRateLimit                 // 429
	outAPIError                  // 500
	outOverloaded                // 529
	outToolUse                   // success, calling a tool if one is offered
	outText                      // success, never calling a tool
)

// parseForce reads the X-Ferry-Simulate header.
func parseForce(v string) (outcome, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
		return outAuto, true
	case "error=429":
		return outRateLimit, true
	case "error=500":
		return outAPIError, true
	case "error=529":
		return outOverloaded, true
	case "tool_use":
		return outToolUse, true
	case "text":
		return outText, true
	}
	return outAuto, false
}

// Nodes is the simulator's one node, "simulator": the relay's node pool
// (breaker, retries) applies to it like to any provider.
func (p *Provider) Nodes() []string { return []string{node} }

// Probe is a health check, which the simulator always passes.
func (p *Provider) Probe(ctx context.Context, _ int) error { return ctx.Err() }

// Do answers one call.
func (p *Provider) Do(ctx context.Context, c *provider.Call) (*provider.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.Op != provider.OpMessages && c.Op != provider.OpCountTokens {
		return nil, apierr.New(apierr.NotFound, "the simulator does not support %s", c.Op)
	}
	force, ok := parseForce(c.Header.Get(HeaderSimulate))
	if !ok {
		return invalidRequest(HeaderSimulate + ": unknown value; want error=429, error=500, error=529, tool_use or text"), nil
	}
	req, msg := decodeRequest(c.Body, c.Op)
	if msg != "" {
		return invalidRequest(msg), nil
	}

	n := p.n.Add(1) - 1
	outcomeRand := newRand(p.cfg.Seed, n, streamOutcome)
	u, v := outcomeRand.float(), outcomeRand.float()
	out := force
	if out == outAuto {
		out = p.band(u)
	}
	switch out {
	case outRateLimit:
		r := errorResponse(http.StatusTooManyRequests, "rate_limit_error",
			"Number of concurrent connections has exceeded your rate limit. Please try again later or contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.")
		r.Header.Set("Retry-After", "1")
		return r, nil
	case outAPIError:
		return errorResponse(http.StatusInternalServerError, "api_error", "Internal server error"), nil
	case outOverloaded:
		return errorResponse(529, "overloaded_error", "Overloaded"), nil
	}

	if c.Op == provider.OpCountTokens {
		b := make([]byte, 0, 32)
		b = append(b, `{"input_tokens":`...)
		b = appendInt(b, req.inputTokens())
		b = append(b, '}')
		return jsonResponse(http.StatusOK, b), nil
	}

	model := c.Model
	if model == "" {
		model = req.Model
	}
	ch := req.choice()
	wantTool := out == outToolUse || (out != outText && (v < p.cfg.ToolUse || ch == "any" || ch == "tool"))
	a := p.plan(req, model, wantTool, n)

	if c.Stream {
		h := http.Header{
			"Content-Type":  {"text/event-stream; charset=utf-8"},
			"Cache-Control": {"no-cache"},
		}
		return &provider.Response{Status: http.StatusOK, Header: h, Events: provider.Plain(p.newStream(ctx, a)), Node: node}, nil
	}

	// A non-streaming answer arrives whole, after as long as its stream
	// would have taken.
	if k := a.deltaTokens(); k > 0 {
		if d := p.cfg.FirstToken + time.Duration(k-1)*p.gap; d > 0 {
			if err := p.sleep(ctx, d); err != nil {
				return nil, err
			}
		}
	}
	return jsonResponse(http.StatusOK, appendMessage(make([]byte, 0, a.jsonSize()), a)), nil
}

// band maps a uniform u in [0,1) to an outcome by the error shares.
func (p *Provider) band(u float64) outcome {
	e := p.cfg.Errors
	switch {
	case u < e.RateLimit:
		return outRateLimit
	case u < e.RateLimit+e.APIError:
		return outAPIError
	case u < e.RateLimit+e.APIError+e.Overloaded:
		return outOverloaded
	}
	return outSuccess
}

// jsonResponse wraps a JSON body.
func jsonResponse(status int, b []byte) *provider.Response {
	return &provider.Response{
		Status: status,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(bytes.NewReader(b)),
		Node:   node,
	}
}

// errorResponse is an error the way the real API sends it (PROTOCOL.md §5).
func errorResponse(status int, typ, msg string) *provider.Response {
	b := make([]byte, 0, 48+len(typ)+len(msg))
	b = append(b, `{"type":"error","error":{"type":`...)
	b = jsonpeek.AppendString(b, typ)
	b = append(b, `,"message":`...)
	b = jsonpeek.AppendString(b, msg)
	b = append(b, "}}"...)
	return jsonResponse(status, b)
}

func invalidRequest(msg string) *provider.Response {
	return errorResponse(http.StatusBadRequest, "invalid_request_error", msg)
}
