package usage

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ferrygw/ferry/internal/store"
)

// dimensionNames are the names a report may group by.
const dimensionNames = "key, team, tag, provider, model, route, session, shadow, day"

// column is the ledger column of a report dimension; day is computed from
// at_us in the query's time zone.
func column(dim string) (string, bool) {
	switch dim {
	case "key":
		return "key_name", true
	case "team", "tag", "provider", "model", "route", "shadow":
		return dim, true
	case "session":
		return "session_id", true
	case "day":
		return "", true
	}
	return "", false
}

// Dimensions lists the names a report may group by.
func Dimensions() []string { return strings.Split(dimensionNames, ", ") }

// Query asks for a usage report.
type Query struct {
	From, To time.Time // [From, To)
	GroupBy  []string  // dimensions, in order; none: one total row
	Location *time.Location
	Currency string // convert every cost to it with USDToCNY; empty: a row per currency
	USDToCNY Micros
}

// ReportRow is one group's totals.
type ReportRow struct {
	Group      map[string]string `json:"group"`
	Requests   int64             `json:"requests"`
	Input      int64             `json:"input_tokens"`
	Output     int64             `json:"output_tokens"`
	CacheRead  int64             `json:"cache_read_tokens"`
	CacheWrite int64             `json:"cache_write_tokens"`
	Estimated  int64             `json:"estimated_requests"` // rows whose tokens were counted, not reported
	Cost       Micros            `json:"cost_micros"`
	Currency   string            `json:"currency"`
}

// Report is a query's answer: the groups and their totals.
type Report struct {
	GroupBy []string    `json:"group_by"`
	From    time.Time   `json:"from"`
	To      time.Time   `json:"to"`
	Rows    []ReportRow `json:"rows"`
	Totals  []ReportRow `json:"totals"` // one per currency
}

// Usage runs q on s's ledger.
func Usage(ctx context.Context, s *store.Store, q Query) (*Report, error) {
	if q.Location == nil {
		q.Location = time.UTC
	}
	cols := make([]string, 0, len(q.GroupBy))
	for _, g := range q.GroupBy {
		c, ok := column(g)
		if !ok {
			return nil, fmt.Errorf("usage: cannot group by %q: use %s", g, dimensionNames)
		}
		if g == "day" {
			_, off := q.From.In(q.Location).Zone()
			c = fmt.Sprintf("((at_us + %d) / 86400000000)", int64(off)*1_000_000)
		}
		cols = append(cols, c)
	}
	sel := append(slices.Clone(cols), "currency")
	query := `SELECT ` + strings.Join(sel, ", ") + `, COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens),
SUM(cache_write_tokens), SUM(estimated), SUM(cost_micros) FROM usage_ledger WHERE at_us >= ? AND at_us < ?
GROUP BY ` + strings.Join(sel, ", ") + ` ORDER BY ` + strings.Join(sel, ", ")
	rows, err := s.Query(ctx, nil, query, store.Micros(q.From), store.Micros(q.To))
	if err != nil {
		return nil, fmt.Errorf("usage: report: %w", err)
	}
	defer rows.Close()
	rep := &Report{GroupBy: q.GroupBy, From: q.From, To: q.To, Rows: []ReportRow{}}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, 0, len(cols)+8)
		for i := range vals {
			ptrs = append(ptrs, &vals[i])
		}
		var r ReportRow
		ptrs = append(ptrs, &r.Currency, &r.Requests, &r.Input, &r.Output, &r.CacheRead, &r.CacheWrite, &r.Estimated, &r.Cost)
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("usage: report row: %w", err)
		}
		r.Group = make(map[string]string, len(cols))
		for i, g := range q.GroupBy {
			r.Group[g] = groupValue(g, vals[i])
		}
		rep.Rows = append(rep.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("usage: report rows: %w", err)
	}
	if q.Currency != "" {
		rep.Rows = convertRows(rep.Rows, q.GroupBy, q.Currency, q.USDToCNY)
	}
	rep.Totals = convertRows(rep.Rows, nil, "", 0)
	return rep, nil
}

func groupValue(dim string, v any) string {
	var s string
	switch x := v.(type) {
	case []byte:
		s = string(x)
	case string:
		s = x
	case int64:
		s = strconv.FormatInt(x, 10)
	default:
		s = fmt.Sprint(x)
	}
	switch dim {
	case "day":
		days, _ := strconv.ParseInt(s, 10, 64)
		return time.Unix(days*86400, 0).UTC().Format(time.DateOnly)
	case "shadow":
		if s == "1" {
			return "shadow"
		}
		return "primary"
	}
	return s
}

// convertRows merges rows that differ only in currency, converting their
// costs to currency ("" keeps each currency apart), and keeps only the dims
// of groupBy (nil: one total row per currency).
func convertRows(rows []ReportRow, groupBy []string, currency string, rate Micros) []ReportRow {
	var out []ReportRow
	index := map[string]int{}
	for _, r := range rows {
		cur := r.Currency
		cost := r.Cost
		if currency != "" && cur != currency && rate > 0 {
			cost, cur = Convert(cost, cur, currency, rate), currency
		}
		parts := []string{cur}
		group := map[string]string{}
		for _, g := range groupBy {
			parts = append(parts, r.Group[g])
			group[g] = r.Group[g]
		}
		k := strings.Join(parts, "\x00")
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, ReportRow{Group: group, Currency: cur})
		}
		o := &out[i]
		o.Requests += r.Requests
		o.Input += r.Input
		o.Output += r.Output
		o.CacheRead += r.CacheRead
		o.CacheWrite += r.CacheWrite
		o.Estimated += r.Estimated
		o.Cost += cost
	}
	if out == nil {
		out = []ReportRow{}
	}
	return out
}

// header is the table's and CSV's columns after the group's.
func header() []string {
	return []string{"requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost", "currency"}
}

func (r ReportRow) cells(groupBy []string) []string {
	out := make([]string, 0, len(groupBy)+len(header()))
	for _, g := range groupBy {
		out = append(out, r.Group[g])
	}
	return append(out, strconv.FormatInt(r.Requests, 10), strconv.FormatInt(r.Input, 10), strconv.FormatInt(r.Output, 10),
		strconv.FormatInt(r.CacheRead, 10), strconv.FormatInt(r.CacheWrite, 10), r.Cost.String(), r.Currency)
}

// WriteCSV writes rep as CSV with a header line; totals are not repeated.
func (rep *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(append(slices.Clone(rep.GroupBy), header()...))
	for _, r := range rep.Rows {
		cw.Write(r.cells(rep.GroupBy))
	}
	cw.Flush()
	return cw.Error()
}

// WriteTable writes rep as an aligned text table ending in its totals.
func (rep *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	line := func(cells []string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	line(append(slices.Clone(rep.GroupBy), header()...))
	for _, r := range rep.Rows {
		line(r.cells(rep.GroupBy))
	}
	for _, t := range rep.Totals {
		cells := t.cells(nil)
		pad := make([]string, len(rep.GroupBy))
		if len(pad) > 0 {
			pad[0] = "TOTAL"
		} else {
			cells[0] = cells[0] + " (total)"
		}
		line(append(pad, cells...))
	}
	return tw.Flush()
}
