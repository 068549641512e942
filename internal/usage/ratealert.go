package usage

import (
	"context"
	"fmt"
	"time"

	"github.com/ferrygw/ferry/internal/store"
)

// RateRule is a call-volume or spend-rate alert: calls of a key or tag in
// a period above Calls, or spend in the last minute above PerMinute.
type RateRule struct {
	Name      string
	Scope     string // key | tag
	Match     string // empty: each value
	Period    Period
	Calls     int64  // 0: no call alert
	PerMinute Micros // 0: no spend-rate alert
	Currency  string
}

// RateHit is a rate rule's threshold passed by one subject.
type RateHit struct {
	Rule    RateRule
	Subject string
	Window  Window // the period (calls) or the minute (spend)
	Calls   int64
	Spent   Micros
	Tokens  int64
	Spend   bool // a spend-rate hit, else a call-volume one
}

// RateWatch finds rate rules' hits in the ledger, which every instance
// writes, so the counts are the fleet's. The app runs Check once a minute
// off the request path; the alert Notifier sends each hit once per window.
type RateWatch struct {
	Store    *store.Store
	Rules    []RateRule
	Location *time.Location
	USDToCNY Micros
}

// Check returns the hits at now.
func (w *RateWatch) Check(ctx context.Context, now time.Time) ([]RateHit, error) {
	var hits []RateHit
	for _, r := range w.Rules {
		col := "key_name"
		if r.Scope == ScopeTag {
			col = "tag"
		}
		if r.Calls > 0 {
			win := r.Period.Window(now, w.Location)
			hs, err := w.query(ctx, r, col, win, func(calls int64, _ Micros) bool { return calls > r.Calls })
			if err != nil {
				return nil, err
			}
			hits = append(hits, hs...)
		}
		if r.PerMinute > 0 {
			start := now.Truncate(time.Minute).Add(-time.Minute)
			win := Window{Start: start, End: start.Add(time.Minute), Key: "minute:" + start.UTC().Format("2006-01-02T15:04")}
			hs, err := w.query(ctx, r, col, win, func(_ int64, spent Micros) bool { return spent > r.PerMinute })
			if err != nil {
				return nil, err
			}
			for i := range hs {
				hs[i].Spend = true
			}
			hits = append(hits, hs...)
		}
	}
	return hits, nil
}

func (w *RateWatch) query(ctx context.Context, r RateRule, col string, win Window, over func(int64, Micros) bool) ([]RateHit, error) {
	q := `SELECT ` + col + `, currency, COUNT(*), SUM(cost_micros), SUM(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens)
FROM usage_ledger WHERE at_us >= ? AND at_us < ? AND shadow = 0`
	args := []any{store.Micros(win.Start), store.Micros(win.End)}
	if r.Match != "" {
		q += ` AND ` + col + ` = ?`
		args = append(args, r.Match)
	}
	rows, err := w.Store.Query(ctx, nil, q+` GROUP BY `+col+`, currency`, args...)
	if err != nil {
		return nil, fmt.Errorf("usage: rate alert %s: %w", r.Name, err)
	}
	defer rows.Close()
	bySubject := map[string]*RateHit{}
	var order []string
	for rows.Next() {
		var subject, cur string
		var calls, tokens int64
		var spent Micros
		if err := rows.Scan(&subject, &cur, &calls, &spent, &tokens); err != nil {
			return nil, fmt.Errorf("usage: rate alert %s: %w", r.Name, err)
		}
		if subject == "" {
			continue
		}
		h, ok := bySubject[subject]
		if !ok {
			h = &RateHit{Rule: r, Subject: subject, Window: win}
			bySubject[subject] = h
			order = append(order, subject)
		}
		h.Calls += calls
		h.Tokens += tokens
		if r.Currency == "" || cur == r.Currency {
			h.Spent += spent
		} else if w.USDToCNY > 0 {
			h.Spent += Convert(spent, cur, r.Currency, w.USDToCNY)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("usage: rate alert %s: %w", r.Name, err)
	}
	var out []RateHit
	for _, s := range order {
		if h := bySubject[s]; over(h.Calls, h.Spent) {
			out = append(out, *h)
		}
	}
	return out, nil
}
