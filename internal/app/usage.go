package app

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/ferrygw/ferry/internal/alert"
	"github.com/ferrygw/ferry/internal/auth"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider/openaicompat"
	"github.com/ferrygw/ferry/internal/shadow"
	"github.com/ferrygw/ferry/internal/store"
	"github.com/ferrygw/ferry/internal/usage"
)

// money is the ledger, budgets, alerts and reports, built when the app has
// a store (Options.Store). What a reload may change (prices, budgets, rate
// alerts) is a spending, built per generation and swapped by the reload;
// the spend itself is in the store, so budgets carry it over.
type money struct {
	store    *store.Store
	loc      *time.Location
	rate     usage.Micros
	ledger   *usage.Ledger
	notifier *alert.Notifier
	spend    atomic.Pointer[spending] // the current generation's
	stop     context.CancelFunc
	done     chan struct{}
}

// spending is usage.prices, usage.budgets and usage.rate_alerts as built
// on the money's store.
type spending struct {
	prices   *usage.Table
	budgets  *usage.Budgets
	recorder *usage.Recorder
	watch    *usage.RateWatch
}

// buildMoney builds the money components on st from cfg.Usage and
// cfg.Alerts; the generation adds its spending (buildSpending).
func (a *App) buildMoney(st *store.Store) error {
	cu := a.cfg.Usage
	loc, err := time.LoadLocation(cu.TimeZone)
	if err != nil {
		return fmt.Errorf("usage.time_zone: %w", err)
	}
	rate, _ := usage.ParseMicros(cu.USDToCNY) // validated
	m := &money{store: st, loc: loc, rate: rate}
	if m.notifier, err = alert.New(alert.Options{Webhooks: webhooks(a.cfg.Alerts), Logger: a.log, Registerer: a.metrics.Registry,
		Claimer: &usage.Claims{Store: st}}); err != nil {
		return err
	}
	if m.ledger, err = usage.NewLedger(usage.LedgerOptions{Store: st, Buffer: cu.Buffer, Retention: cu.Retention,
		Logger: a.log, Registerer: a.metrics.Registry}); err != nil {
		return err
	}
	a.money = m
	return nil
}

func webhooks(c config.Alerts) []alert.Webhook {
	hooks := make([]alert.Webhook, len(c.Webhooks))
	for i, w := range c.Webhooks {
		hooks[i] = alert.Webhook{Name: w.Name, Kind: w.Type, URL: w.URL.Reveal(), Secret: w.Secret.Reveal(), Lang: w.Lang}
	}
	return hooks
}

// buildSpending builds cfg's prices, budgets and rate alerts on the
// money's store, or keeps prev's when they are unchanged (nil: no store).
func (a *App) buildSpending(cfg *config.Config, prev *generation) (*spending, error) {
	m := a.money
	if m == nil {
		return nil, nil
	}
	cu := cfg.Usage
	if prev != nil && reflect.DeepEqual(prev.cfg.Usage, cu) {
		return prev.spend, nil
	}
	prices := usage.NewTable(usage.DefaultPrices(), priceOverrides(cu.Prices))
	budgets, err := usage.NewBudgets(usage.BudgetOptions{Store: m.store, Budgets: budgetsOf(cu.Budgets), Prices: prices,
		Location: m.loc, USDToCNY: m.rate, Notifier: budgetAlerts{m.notifier}, Logger: a.log})
	if err != nil {
		return nil, err
	}
	sp := &spending{prices: prices, budgets: budgets}
	sp.recorder = &usage.Recorder{Prices: prices, Budgets: budgets, Ledger: m.ledger, USDToCNY: m.rate,
		// Answers without usage are counted with the embedded o200k_base tokenizer.
		CountInput: openaicompat.CountTokens, CountText: openaicompat.CountText}
	sp.watch = &usage.RateWatch{Store: m.store, Location: m.loc, USDToCNY: m.rate}
	for _, r := range cu.RateAlerts {
		per, _ := usage.ParseMicros(r.SpendPerMinute)
		sp.watch.Rules = append(sp.watch.Rules, usage.RateRule{Name: r.Name, Scope: r.Scope, Match: r.Match,
			Period: usage.Period(r.Period), Calls: r.Calls, PerMinute: per, Currency: r.Currency})
	}
	return sp, nil
}

// recorder is the spending's usage recorder (nil: no store).
func (sp *spending) usageRecorder() *usage.Recorder {
	if sp == nil {
		return nil
	}
	return sp.recorder
}

func priceOverrides(ps []config.Price) []usage.Price {
	out := make([]usage.Price, 0, len(ps))
	for _, p := range ps {
		in, _ := usage.ParseMicros(p.Input) // all validated
		o, _ := usage.ParseMicros(p.Output)
		cr, _ := usage.ParseMicros(p.CacheRead)
		cw, _ := usage.ParseMicros(p.CacheWrite)
		out = append(out, usage.Price{Provider: p.Provider, Model: p.Model, Currency: p.Currency,
			Rates: usage.Rates{Input: in, Output: o, CacheRead: cr, CacheWrite: cw}, Taken: p.Taken, Source: p.Source})
	}
	return out
}

func budgetsOf(bs []config.Budget) []usage.Budget {
	out := make([]usage.Budget, 0, len(bs))
	for _, b := range bs {
		limit, _ := usage.ParseMicros(b.Limit) // validated
		out = append(out, usage.Budget{Name: b.Name, Scope: b.Scope, Match: b.Match, Period: usage.Period(b.Period),
			Currency: b.Currency, Limit: limit, AllowOverrun: b.AllowOverrun, Percents: b.AlertPercents})
	}
	return out
}

// budgetAlerts turns budget thresholds into alerts.
type budgetAlerts struct{ n *alert.Notifier }

func (b budgetAlerts) BudgetCrossed(ctx context.Context, c usage.Crossing) {
	b.n.Notify(ctx, alert.Alert{Kind: alert.KindBudget, Scope: c.Budget.Scope, Subject: c.Subject, Budget: c.Budget.Name,
		Percent: c.Percent, Period: c.Budget.Period, Window: c.Window, Spent: c.Spent, Limit: c.Budget.Limit,
		Currency: c.Budget.Currency, Tokens: c.Tokens, At: c.At})
}

// recordShadow puts a finished shadow call in the ledger, priced, flagged
// shadow: reports show what a candidate would have cost in money.
func (m *money) recordShadow(j *shadow.Job, o *shadow.Outcome) {
	model := j.Target.Model
	if model == "" {
		model = j.RequestModel
	}
	row := usage.Row{At: time.Now().Add(-o.Latency), Route: j.Target.Route, Provider: j.Target.Provider, Model: model,
		ClientModel: j.RequestModel, Tokens: usage.Tokens{Input: o.InputTokens, Output: o.OutputTokens,
			CacheRead: o.CacheReadTokens, CacheWrite: o.CacheCreationTokens},
		Latency: o.Latency, FirstToken: o.TTFB, Status: o.Status, ErrorType: o.ErrorType, Attempts: 1, Shadow: true}
	if p, ok := m.spend.Load().prices.Lookup(row.Provider, model); ok {
		row.Cost, row.Currency = p.Cost(row.Tokens, row.At), p.Currency
	}
	m.ledger.Record(row)
}

// start runs the ledger writer, the alert sender and the rate-alert check
// (once a minute).
func (m *money) start(log *slog.Logger) {
	m.ledger.Start()
	m.notifier.Start()
	ctx, stop := context.WithCancel(context.Background())
	m.stop, m.done = stop, make(chan struct{})
	go func() {
		defer close(m.done)
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				m.checkRates(ctx, now, log)
			}
		}
	}()
}

func (m *money) checkRates(ctx context.Context, now time.Time, log *slog.Logger) {
	watch := m.spend.Load().watch
	if len(watch.Rules) == 0 {
		return
	}
	hits, err := watch.Check(ctx, now)
	if err != nil {
		log.Warn("rate alerts not checked", slog.Any("error", err))
		return
	}
	for _, h := range hits {
		a := alert.Alert{Kind: alert.KindCalls, Scope: h.Rule.Scope, Subject: h.Subject, Budget: h.Rule.Name, Period: h.Rule.Period,
			Window: h.Window, Spent: h.Spent, Limit: usage.Micros(h.Rule.Calls), Currency: h.Rule.Currency, Tokens: h.Tokens, Calls: h.Calls, At: now}
		if h.Spend {
			a.Kind, a.Limit = alert.KindSpendRate, h.Rule.PerMinute
		}
		m.notifier.Notify(ctx, a)
	}
}

// close writes every ledger row and sends every queued alert, within ctx.
func (m *money) close(ctx context.Context, log *slog.Logger) {
	if m.stop != nil {
		m.stop()
		<-m.done
	}
	if err := m.ledger.Close(ctx); err != nil {
		log.Error("usage ledger not flushed", slog.Any("error", err), slog.Int64("dropped", m.ledger.Dropped()))
	}
	if err := m.notifier.Close(ctx); err != nil {
		log.Warn("alerts not all sent", slog.Any("error", err))
	}
}

// moneyRoutes are /admin/usage and /admin/alerts (viewer: read usage and
// status), when there is a store.
func (a *App) moneyRoutes() []adminRoute {
	if a.money == nil {
		return nil
	}
	return []adminRoute{
		{"GET /admin/usage", auth.RoleViewer, usage.ReportHandler(a.money.store, a.money.loc, a.money.rate, time.Now)},
		{"GET /admin/alerts", auth.RoleViewer, a.money.notifier.Handler()},
	}
}
