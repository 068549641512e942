package server

import (
	"errors"
	"net/http"
	"time"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/usage"
)

// The money hook: budgets reserved at entry, cost, settlement and the
// ledger row at the end, through usage.Recorder (nil: none). It sits beside
// the rate limiter's admit and settle in forward.

// sessionHeader is Claude Code's session id, kept in the ledger so that
// reports can group a coding session's spend.
const sessionHeader = "X-Claude-Code-Session-Id"

// reserveUsage holds the request's estimate against its budgets; a spent
// budget answers 429 rate_limit_error naming it, with retry-after at the
// period's end. The ticket comes back either way: finishUsage records the
// request, refused or not.
func (s *Server) reserveUsage(x *exchange, r *http.Request, op provider.Op, peek anthropic.Peek, bodyLen int) (*usage.Ticket, bool) {
	if s.usage == nil || op == provider.OpCountTokens {
		return nil, true // count_tokens: its row comes from recordUnfinished
	}
	e := s.usageEntry(x, r)
	e.ClientModel, e.InputTokens, e.MaxTokens = peek.Model, int64(bodyLen)/bytesPerToken, peek.MaxTokens
	if id := x.ident; id != nil {
		for _, b := range id.Budgets {
			e.KeyBudgets = append(e.KeyBudgets, usage.KeyBudget(id.Name, b.Period, b.Currency, usage.Micros(b.LimitMicros), b.AllowOver))
		}
	}
	if rt := x.rt; rt != nil && s.usage.Budgeted(&e) {
		for _, tg := range rt.Targets {
			e.Targets = append(e.Targets, usage.Target{Provider: tg.Provider, Model: tg.UpstreamModel(peek.Model)})
		}
	}
	t, err := s.usage.Reserve(r.Context(), e)
	if err != nil {
		var ref *usage.Refused
		if errors.As(err, &ref) {
			s.m.BudgetRefused.WithLabelValues(ref.Scope).Inc()
		}
		s.fail(x, err)
		return t, false
	}
	return t, true
}

// usageEntry is what every ledger row of x says of its caller.
func (s *Server) usageEntry(x *exchange, r *http.Request) usage.Entry {
	e := usage.Entry{RequestID: x.id, SessionID: r.Header.Get(sessionHeader), Endpoint: x.endpoint, Key: x.key, ClientModel: x.model}
	e.Tag = x.tag // the header's, else the managed key's (readTag)
	if id := x.ident; id != nil {
		e.Team = id.Team
	}
	return e
}

// recordUnfinished writes the ledger row of a model API request that
// finishUsage did not record: one refused before its budgets were asked
// (authentication 401/403, the rate limiter's 429, a draining gateway's
// 503, a bad body or max_tokens 400) or a count_tokens call. Every such
// request gets exactly one row, with its status and error type, no tokens
// and no cost. It runs from end, after the answer.
func (s *Server) recordUnfinished(x *exchange, r *http.Request) {
	if s.usage == nil || x.ledgered {
		return
	}
	switch x.endpoint {
	case epMessages, epCountTokens, epChat, epComplete:
	default:
		return
	}
	o := usage.Outcome{Route: x.route, Provider: x.provider, Node: x.node, Model: x.upstreamModel,
		Status: x.status, Attempts: len(x.attempts), Latency: time.Since(x.start)}
	if x.gone {
		o.Status = statusClientClosed
	}
	if x.err != nil {
		o.ErrorType = x.err.Kind.Type()
	}
	s.usage.Record(r.Context(), s.usageEntry(x, r), x.start, o)
}

// finishUsage prices and records the request once its answer is written.
// body is the request's, for counting its input when the answer had no
// usage.
func (s *Server) finishUsage(x *exchange, r *http.Request, t *usage.Ticket, body []byte) {
	if t == nil {
		return
	}
	x.ledgered = true
	status := x.status
	if x.gone {
		status = statusClientClosed
	}
	o := usage.Outcome{Route: x.route, Provider: x.provider, Node: x.node, Model: x.upstreamModel, Status: status,
		Attempts: len(x.attempts), FirstToken: x.firstByte}
	switch {
	case x.usageSeen:
		u := x.usage
		o.Tokens = usage.Tokens{Input: u.Input, Output: u.Output, CacheRead: u.CacheRead, CacheWrite: u.CacheCreation}
		if x.streamErr != nil {
			// Cut short: charge at least the output relayed (as settle does).
			o.Output = max(o.Output, x.relayed.tokens())
		}
	case x.provider != "" && status < 400:
		// An answer without usage: input and a whole answer's output
		// counted with the tokenizer, a stream's output from the text
		// relayed (the input as estimated at entry when the tokenizer is
		// not there); the row says so.
		o.Estimated, o.Output = true, x.relayed.tokens()
		s.countEstimated(&o, x, body)
	}
	if x.err != nil {
		o.ErrorType = x.err.Kind.Type()
	}
	if x.cache != nil {
		o.Cached = x.cache.free && x.cache.result != cacheCoalesced
		o.Coalesced = x.cache.result == cacheCoalesced
	}
	cost, currency := s.usage.Finish(r.Context(), t, o)
	if cost > 0 {
		model, tag := s.labels(x)
		team := ""
		if x.ident != nil {
			team = x.ident.Team // teams are made by admins: bounded
		}
		s.m.Cost.WithLabelValues(model, team, tag, currency).Add(float64(cost))
	}
}

// countEstimated counts with the tokenizer what an answer without usage
// used: the request's input and a whole answer's output text.
func (s *Server) countEstimated(o *usage.Outcome, x *exchange, body []byte) {
	if count := s.usage.CountInput; count != nil {
		if n, err := count(body); err == nil {
			o.Input = n
		}
	}
	if count := s.usage.CountText; count != nil && x.answerText != "" {
		if n, err := count(x.answerText); err == nil {
			o.Output = n
		}
	}
}
