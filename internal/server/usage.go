package server

import (
	"context"
	"net/http"

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
		return nil, true
	}
	e := usage.Entry{RequestID: x.id, SessionID: r.Header.Get(sessionHeader), Key: x.key, ClientModel: peek.Model,
		InputTokens: int64(bodyLen) / bytesPerToken, MaxTokens: peek.MaxTokens}
	if s.limiter != nil {
		if h := s.limiter.TagHeader(); h != "" {
			e.Tag = r.Header.Get(h)
		}
	}
	if id := x.ident; id != nil {
		e.Team = id.Team
		if id.Tag != "" {
			e.Tag = id.Tag // the key's traffic tag over the header's
		}
		for _, b := range id.Budgets {
			e.KeyBudgets = append(e.KeyBudgets, usage.Budget{Name: "key " + id.Name + " " + b.Period, Scope: usage.ScopeKey,
				Match: id.Name, Period: usage.Period(b.Period), Currency: b.Currency, Limit: usage.Micros(b.LimitMicros), AllowOverrun: b.AllowOver})
		}
	}
	if rt, ok := s.relay.Lookup(peek.Model); ok {
		for _, tg := range rt.Targets {
			e.Targets = append(e.Targets, usage.Target{Provider: tg.Provider, Model: tg.UpstreamModel(peek.Model)})
		}
	}
	t, err := s.usage.Reserve(r.Context(), e)
	if err != nil {
		s.fail(x, err)
		return t, false
	}
	return t, true
}

// finishUsage prices and records the request once its answer is written.
func (s *Server) finishUsage(x *exchange, r *http.Request, t *usage.Ticket) {
	if t == nil {
		return
	}
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
		// An answer without usage: the input as estimated at entry, the
		// output counted from the text relayed; the row says so.
		o.Estimated, o.Output = true, x.relayed.tokens()
	}
	if x.err != nil {
		o.ErrorType = x.err.Kind.Type()
	}
	if x.cache != nil {
		o.Cached = x.cache.free && x.cache.result != cacheCoalesced
		o.Coalesced = x.cache.result == cacheCoalesced
	}
	s.usage.Finish(context.WithoutCancel(r.Context()), t, o)
}
