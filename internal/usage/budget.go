package usage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/store"
)

// Budget scopes: what a budget limits the spend of.
const (
	ScopeKey      = "key"
	ScopeTeam     = "team"
	ScopeProvider = "provider"
	ScopeModel    = "model"
	ScopeTag      = "tag"
)

// Budget is one spending limit per period.
type Budget struct {
	Name     string
	Scope    string // key | team | provider | model | tag
	Match    string // the scope's value; empty: every value has a budget of its own
	Period   Period
	Currency string
	Limit    Micros
	// AllowOverrun admits requests past the limit (alerts still go out):
	// an admin's choice for traffic that must not stop.
	AllowOverrun bool
	Percents     []int // alert thresholds; nil: DefaultAlertPercents
}

// Request is what the budgets know of a request at entry.
type Request struct {
	Key, Team, Tag  string
	Provider, Model string // the upstream that will serve it, for pricing and the provider and model scopes
	InputTokens     int64  // counted input
	MaxTokens       int64  // the request's max_tokens
	At              time.Time
	Extra           []Budget // budgets the request's key carries (managed keys), besides the configured ones
}

func (r Request) value(scope string) string {
	switch scope {
	case ScopeKey:
		return r.Key
	case ScopeTeam:
		return r.Team
	case ScopeProvider:
		return r.Provider
	case ScopeModel:
		return r.Model
	case ScopeTag:
		return r.Tag
	}
	return ""
}

// Crossing is a budget threshold reached by a settled request.
type Crossing struct {
	Budget  Budget
	Subject string // the scope's value
	Percent int
	Window  Window
	Spent   Micros
	Tokens  int64 // the crossing request's tokens
	At      time.Time
}

// Notifier hears of thresholds crossed; the app passes alerts to webhooks.
type Notifier interface {
	BudgetCrossed(ctx context.Context, c Crossing)
}

// BudgetOptions configure Budgets.
type BudgetOptions struct {
	Store    *store.Store
	Budgets  []Budget
	Prices   *Table
	Location *time.Location // periods' time zone; nil: Asia/Shanghai
	USDToCNY Micros         // to charge a budget in one currency for a price in the other; 0: such prices are not charged
	Notifier Notifier
	Logger   *slog.Logger
	Now      func() time.Time
}

// Budgets enforces budgets exactly across instances: each request reserves
// its estimate in the shared store at entry with one conditional UPDATE
// (admitted only while spent + reserved is under the limit), and settles to
// its real cost at the end. Concurrent requests on any number of instances
// therefore overshoot a limit by less than one request's estimate.
type Budgets struct {
	o     BudgetOptions
	rows  sync.Map     // budget id + window key -> the window's end: rows known to exist, so the INSERT is skipped
	swept atomic.Int64 // unix seconds of the last sweep of rows whose window ended
}

// NewBudgets validates o.
func NewBudgets(o BudgetOptions) (*Budgets, error) {
	if o.Store == nil || o.Prices == nil {
		return nil, errors.New("usage: budgets need a store and a price table")
	}
	if o.Location == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			loc = beijing
		}
		o.Location = loc
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	for i, b := range o.Budgets {
		if !b.Period.Valid() || !ValidCurrency(b.Currency) || b.Limit <= 0 || b.Name == "" {
			return nil, fmt.Errorf("usage: budget %d (%s): needs a name, a period, a currency and a limit above 0", i, b.Name)
		}
		if b.Percents == nil {
			o.Budgets[i].Percents = DefaultAlertPercents()
		}
	}
	return &Budgets{o: o}, nil
}

// hold is one budget's share of a reservation.
type hold struct {
	budget  *Budget
	subject string
	id      string // the budget row's key: name, or name/subject
	window  Window
	amount  Micros // in the budget's currency
}

// Reservation is what a request holds from entry to Settle.
type Reservation struct {
	price   Price
	priced  bool
	at      time.Time
	holds   []hold
	settled bool
}

// Price is the price the reservation was made at, and whether the model
// had one.
func (r *Reservation) Price() (Price, bool) { return r.price, r.priced }

// Reserve holds req's estimate against every budget that applies. A budget
// that is spent (and does not allow overrun) refuses the request with an
// *apierr.Error of kind RateLimit naming the budget, with RetryAfter at its
// period's end; nothing stays held then. A store failure admits the
// request (logged): a budget never takes a route down because the
// database did.
func (b *Budgets) Reserve(ctx context.Context, req Request) (*Reservation, error) {
	at := req.At
	if at.IsZero() {
		at = b.o.Now()
	}
	res := &Reservation{at: at}
	res.price, res.priced = b.o.Prices.Lookup(req.Provider, req.Model)
	if !res.priced {
		return res, nil
	}
	est := res.price.Estimate(req.InputTokens, req.MaxTokens)
	all := b.o.Budgets
	if len(req.Extra) > 0 {
		all = append(slices.Clone(all), req.Extra...)
	}
	for i := range all {
		bu := &all[i]
		if bu.Percents == nil {
			bu.Percents = DefaultAlertPercents()
		}
		subject := req.value(bu.Scope)
		if subject == "" || (bu.Match != "" && bu.Match != subject) {
			continue
		}
		amount, ok := b.convert(est, res.price.Currency, bu.Currency)
		if !ok {
			continue
		}
		h := hold{budget: bu, subject: subject, id: bu.Name, window: bu.Period.Window(at, b.o.Location), amount: amount}
		if bu.Match == "" {
			h.id = bu.Name + "/" + subject
		}
		admitted, err := b.hold(ctx, h)
		if err != nil {
			b.o.Logger.Warn("budget store failed; request admitted", slog.String("budget", bu.Name), slog.Any("error", err))
			continue
		}
		if !admitted {
			b.release(ctx, res.holds)
			return nil, &apierr.Error{
				Kind: apierr.RateLimit,
				Public: fmt.Sprintf("budget %q (%s, %s %s) is spent for this period; it starts over at %s",
					bu.Name, bu.Period, bu.Currency, bu.Limit, h.window.End.Format("2006-01-02 15:04 MST")),
				RetryAfter: h.window.RetryAfter(b.o.Now()),
				Err:        &Refused{Budget: bu.Name, Scope: bu.Scope},
			}
		}
		res.holds = append(res.holds, h)
	}
	return res, nil
}

// Refused is the cause inside a budget's 429: which budget, of which
// scope (for metrics; the client reads the public message).
type Refused struct{ Budget, Scope string }

func (e *Refused) Error() string { return "budget " + e.Budget + " (" + e.Scope + ") spent" }

func (b *Budgets) convert(m Micros, from, to string) (Micros, bool) {
	if from == to {
		return m, true
	}
	if b.o.USDToCNY <= 0 {
		return 0, false
	}
	return Convert(m, from, to, b.o.USDToCNY), true
}

// hold reserves h.amount in one statement: admitted only while the
// window's spent + reserved is under the limit, unless overrun is allowed.
func (b *Budgets) hold(ctx context.Context, h hold) (bool, error) {
	s := b.o.Store
	row := h.id + "\x00" + h.window.Key
	if _, known := b.rows.Load(row); !known {
		if _, err := s.Exec(ctx, nil, `INSERT INTO usage_budget_spend (budget, window_key, spent, reserved, window_end_us) VALUES (?, ?, 0, 0, ?)
ON CONFLICT (budget, window_key) DO NOTHING`, h.id, h.window.Key, store.Micros(h.window.End)); err != nil {
			return false, fmt.Errorf("budget row: %w", err)
		}
		b.rows.Store(row, h.window.End)
		b.sweep()
	}
	return changedOne(ctx, s, "budget reserve", `UPDATE usage_budget_spend SET reserved = reserved + ?
WHERE budget = ? AND window_key = ? AND (? = 1 OR spent + reserved < ?)`,
		int64(h.amount), h.id, h.window.Key, flag(h.budget.AllowOverrun), int64(h.budget.Limit))
}

// sweep forgets, at most once a minute, the rows of windows that ended, so
// that per-value budgets do not grow the map period after period.
func (b *Budgets) sweep() {
	now := b.o.Now()
	last := b.swept.Load()
	if now.Unix()-last < 60 || !b.swept.CompareAndSwap(last, now.Unix()) {
		return
	}
	b.rows.Range(func(k, v any) bool {
		if end, ok := v.(time.Time); ok && !end.After(now) {
			b.rows.Delete(k)
		}
		return true
	})
}

func (b *Budgets) release(ctx context.Context, holds []hold) {
	for _, h := range holds {
		if _, err := b.o.Store.Exec(ctx, nil, `UPDATE usage_budget_spend SET reserved = reserved - ? WHERE budget = ? AND window_key = ?`,
			int64(h.amount), h.id, h.window.Key); err != nil {
			b.o.Logger.Warn("budget release failed", slog.String("budget", h.budget.Name), slog.Any("error", err))
		}
	}
}

// Settle replaces r's estimate with the request's real cost (in currency)
// in every budget it held, in the period it was admitted in, and tells the
// Notifier of thresholds crossed. Settling twice does nothing.
func (b *Budgets) Settle(ctx context.Context, r *Reservation, cost Micros, currency string, tokens int64) error {
	if r == nil || r.settled {
		return nil
	}
	r.settled = true
	var errs []error
	for _, h := range r.holds {
		add, ok := b.convert(cost, currency, h.budget.Currency)
		if !ok {
			add = 0
		}
		var after int64
		err := b.o.Store.QueryRow(ctx, nil, `UPDATE usage_budget_spend SET reserved = reserved - ?, spent = spent + ?
WHERE budget = ? AND window_key = ? RETURNING spent`, int64(h.amount), int64(add), h.id, h.window.Key).Scan(&after)
		if err != nil {
			errs = append(errs, fmt.Errorf("settle budget %s: %w", h.budget.Name, err))
			continue
		}
		if b.o.Notifier == nil {
			continue
		}
		for _, pct := range Crossed(Micros(after)-add, Micros(after), h.budget.Limit, h.budget.Percents) {
			b.o.Notifier.BudgetCrossed(ctx, Crossing{Budget: *h.budget, Subject: h.subject, Percent: pct, Window: h.window,
				Spent: Micros(after), Tokens: tokens, At: b.o.Now()})
		}
	}
	return errors.Join(errs...)
}

// Spent is a budget row's spend and reservations in its current window, for
// reports and tests. subject is the scope's value for per-value budgets.
func (b *Budgets) Spent(ctx context.Context, name, subject string) (spent, reserved Micros, err error) {
	for _, bu := range b.o.Budgets {
		if bu.Name != name {
			continue
		}
		id := bu.Name
		if bu.Match == "" {
			id += "/" + subject
		}
		w := bu.Period.Window(b.o.Now(), b.o.Location)
		err = b.o.Store.QueryRow(ctx, nil, `SELECT spent, reserved FROM usage_budget_spend WHERE budget = ? AND window_key = ?`, id, w.Key).Scan(&spent, &reserved)
		if err != nil {
			return 0, 0, fmt.Errorf("usage: budget %s: %w", name, err)
		}
		return spent, reserved, nil
	}
	return 0, 0, fmt.Errorf("usage: no budget %q", name)
}

// BudgetStatus is one budget row's state in its current period, for the
// admin API: per-value budgets (empty Match) have one per value seen in
// the period, with Subject set.
type BudgetStatus struct {
	Name     string
	Scope    string
	Match    string
	Subject  string
	Period   Period
	Currency string
	Limit    Micros
	Spent    Micros
	Reserved Micros
	Window   Window
}

// Status lists every configured budget with its spend and reservations in
// the current period. A budget with a Match and no traffic yet answers
// zeros; a per-value budget answers one row per value seen this period.
// extra are budgets from elsewhere (managed keys' own, KeyBudget), listed
// after the configured ones.
func (b *Budgets) Status(ctx context.Context, extra ...Budget) ([]BudgetStatus, error) {
	now := b.o.Now()
	var out []BudgetStatus
	for _, bu := range append(slices.Clone(b.o.Budgets), extra...) {
		w := bu.Period.Window(now, b.o.Location)
		st := BudgetStatus{Name: bu.Name, Scope: bu.Scope, Match: bu.Match, Period: bu.Period, Currency: bu.Currency,
			Limit: bu.Limit, Window: w}
		if bu.Match != "" {
			st.Subject = bu.Match
			err := b.o.Store.QueryRow(ctx, nil, `SELECT spent, reserved FROM usage_budget_spend WHERE budget = ? AND window_key = ?`,
				bu.Name, w.Key).Scan(&st.Spent, &st.Reserved)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("usage: budget %s: %w", bu.Name, err)
			}
			out = append(out, st)
			continue
		}
		rows, err := b.o.Store.Query(ctx, nil, `SELECT budget, spent, reserved FROM usage_budget_spend
WHERE window_key = ? AND budget > ? AND budget < ? ORDER BY budget`, w.Key, bu.Name+"/", bu.Name+"0")
		if err != nil {
			return nil, fmt.Errorf("usage: budget %s: %w", bu.Name, err)
		}
		n := 0
		for rows.Next() {
			row := st
			var id string
			if err := rows.Scan(&id, &row.Spent, &row.Reserved); err != nil {
				rows.Close()
				return nil, fmt.Errorf("usage: budget %s: %w", bu.Name, err)
			}
			row.Subject = id[len(bu.Name)+1:]
			out = append(out, row)
			n++
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("usage: budget %s: %w", bu.Name, err)
		}
		if n == 0 {
			out = append(out, st) // no value has spent yet
		}
	}
	return out, nil
}

// KeyBudget is the budget a managed key named key carries of its own, as
// Reserve holds it (Request.Extra) and GET /admin/budgets lists it.
func KeyBudget(key, period, currency string, limit Micros, allowOverrun bool) Budget {
	return Budget{Name: "key " + key + " " + period, Scope: ScopeKey, Match: key, Period: Period(period),
		Currency: currency, Limit: limit, AllowOverrun: allowOverrun}
}
