package usage

import (
	"context"
	"time"
)

// Target is one upstream a request may go to: a provider and its model.
type Target struct{ Provider, Model string }

// Entry is what the server knows of a request when it admits it.
type Entry struct {
	RequestID, SessionID string
	Endpoint             string // the API called (Row.Endpoint)
	Key, Team, Tag       string
	ClientModel          string
	Targets              []Target // the route's, in order; the dearest is reserved
	InputTokens          int64    // counted or estimated input
	MaxTokens            int64
	KeyBudgets           []Budget // the budgets the key itself carries
}

// Outcome is what the server knows of the request at its end.
type Outcome struct {
	Route, Provider, Node, Model string // the target that answered (or failed last)
	Tokens
	Estimated         bool // Tokens were counted, not reported by the upstream; a zero Input is then the entry's estimate
	Latency           time.Duration
	FirstToken        time.Duration
	Status            int // 499 for a client that hung up
	ErrorType         string
	Attempts          int
	Cached, Coalesced bool
	Shadow            bool
}

// Recorder is the server's one door to money: Reserve at entry (budgets),
// Finish at the end (cost, settlement, ledger row). Either of Budgets and
// Ledger may be nil.
type Recorder struct {
	Prices   *Table
	Budgets  *Budgets
	Ledger   *Ledger
	USDToCNY Micros
	Now      func() time.Time
	// CountInput and CountText count tokens with the embedded tokenizer
	// (the app passes openaicompat's o200k_base counters) for a request
	// whose upstream gave no usage: its body's input, a whole answer's
	// output text. nil: the byte-size estimate, and no output count.
	CountInput func(body []byte) (int64, error)
	CountText  func(text string) (int64, error)
}

// Ticket is a request's hold from Reserve to Finish.
type Ticket struct {
	entry Entry
	start time.Time
	res   *Reservation
}

// Reserve holds the request's estimate against its budgets. The error is
// an *apierr.Error (429 rate_limit_error naming the budget) when a budget
// is spent; the Ticket is returned then too, holding nothing, so that
// Finish records the refused request's ledger row. A nil Recorder admits
// everything.
func (r *Recorder) Reserve(ctx context.Context, e Entry) (*Ticket, error) {
	if r == nil {
		return nil, nil
	}
	t := &Ticket{entry: e, start: r.now()}
	if !r.Budgeted(&e) || len(e.Targets) == 0 {
		return t, nil
	}
	req := Request{Key: e.Key, Team: e.Team, Tag: e.Tag, InputTokens: e.InputTokens, MaxTokens: e.MaxTokens, At: t.start, Extra: e.KeyBudgets}
	req.Provider, req.Model = r.dearest(e).Provider, r.dearest(e).Model
	res, err := r.Budgets.Reserve(ctx, req)
	if err != nil {
		return t, err
	}
	t.res = res
	return t, nil
}

// Budgeted reports whether a request with e's key budgets can hold any
// budget: without one, Reserve holds nothing and needs no targets.
func (r *Recorder) Budgeted(e *Entry) bool {
	return r != nil && r.Budgets != nil && (len(r.Budgets.o.Budgets) > 0 || len(e.KeyBudgets) > 0)
}

// dearest is the target whose estimate is highest (in CNY), so that a
// fallback to a dearer target cannot overshoot a budget.
func (r *Recorder) dearest(e Entry) Target {
	best, bestCost := e.Targets[0], Micros(-1)
	for _, tg := range e.Targets {
		p, ok := r.Prices.Lookup(tg.Provider, tg.Model)
		if !ok {
			continue
		}
		c := Convert(p.Estimate(e.InputTokens, e.MaxTokens), p.Currency, CNY, r.USDToCNY)
		if c > bestCost {
			best, bestCost = tg, c
		}
	}
	return best
}

// Finish prices the request, settles its budgets and queues its ledger
// row. It runs after the response and ignores ctx's cancellation (only its
// values are used): a client that hangs up still pays.
func (r *Recorder) Finish(ctx context.Context, t *Ticket, o Outcome) (Micros, string) {
	if r == nil || t == nil {
		return 0, ""
	}
	e := t.entry
	if o.Estimated && o.Input == 0 {
		o.Input = e.InputTokens // the entry's estimate
	}
	row := Row{At: t.start, RequestID: e.RequestID, Key: e.Key, Team: e.Team, Tag: e.Tag, Route: o.Route, Provider: o.Provider,
		Node: o.Node, Model: o.Model, ClientModel: e.ClientModel, Tokens: o.Tokens, Estimated: o.Estimated,
		Latency: o.Latency, FirstToken: o.FirstToken, Status: o.Status, ErrorType: o.ErrorType, Attempts: o.Attempts,
		Cached: o.Cached, Coalesced: o.Coalesced, Shadow: o.Shadow, SessionID: e.SessionID, Endpoint: e.Endpoint}
	if row.Latency == 0 {
		row.Latency = r.now().Sub(t.start)
	}
	if p, ok := r.Prices.Lookup(o.Provider, o.Model); ok {
		row.Currency = p.Currency
		if !o.Cached { // a cached answer used no upstream tokens of its own
			row.Cost = p.Cost(o.Tokens, t.start)
		}
	}
	if r.Budgets != nil && t.res != nil {
		tokens := o.Input + o.Output + o.CacheRead + o.CacheWrite
		if err := r.Budgets.Settle(context.WithoutCancel(ctx), t.res, row.Cost, row.Currency, tokens); err != nil {
			r.Budgets.o.Logger.Warn("budget settle failed", "request_id", e.RequestID, "error", err)
		}
	}
	if r.Ledger != nil {
		r.Ledger.Record(row)
	}
	return row.Cost, row.Currency
}

// Record queues the ledger row of a request that held no budget: one
// refused before Reserve (authentication, rate limits, a bad body, a
// draining gateway) or a count_tokens call. It started at at. Nothing is
// priced without tokens, and no budget is settled.
func (r *Recorder) Record(ctx context.Context, e Entry, at time.Time, o Outcome) {
	if r == nil {
		return
	}
	r.Finish(ctx, &Ticket{entry: e, start: at}, o)
}

func (r *Recorder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
