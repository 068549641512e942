package usage

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/store"
)

// ReportHandler serves GET /admin/usage: a report of the ledger. Query
// parameters: from and to (RFC 3339 or YYYY-MM-DD in loc; default the last
// 24 hours), group_by (comma-separated dimensions), currency (CNY or USD:
// convert at usdToCNY), format (json, the default; csv; table). It does no
// authentication: mount it behind the admin listener's.
func ReportHandler(s *store.Store, loc *time.Location, usdToCNY Micros, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, format, err := parseQuery(r, loc, usdToCNY, now())
		if err != nil {
			apierr.WriteAdmin(w, apierr.Wrap(apierr.InvalidRequest, err, err.Error()))
			return
		}
		rep, err := Usage(r.Context(), s, q)
		if err != nil {
			apierr.WriteAdmin(w, apierr.Wrap(apierr.Internal, err, "usage report failed"))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		switch format {
		case "csv":
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			rep.WriteCSV(w)
		case "table":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			rep.WriteTable(w)
		default:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(rep)
		}
	})
}

func parseQuery(r *http.Request, loc *time.Location, rate Micros, now time.Time) (Query, string, error) {
	v := r.URL.Query()
	q := Query{From: now.Add(-24 * time.Hour), To: now, Location: loc, Currency: v.Get("currency"), USDToCNY: rate}
	for name, t := range map[string]*time.Time{"from": &q.From, "to": &q.To} {
		s := v.Get(name)
		if s == "" {
			continue
		}
		parsed, err := time.Parse(time.RFC3339, s)
		if err != nil {
			if parsed, err = time.ParseInLocation(time.DateOnly, s, loc); err != nil {
				return q, "", fmt.Errorf("%s %q: write RFC 3339 (2026-12-06T08:00:00+08:00) or a date (2026-12-06)", name, s)
			}
		}
		*t = parsed
	}
	if g := v.Get("group_by"); g != "" {
		q.GroupBy = strings.Split(g, ",")
		for _, d := range q.GroupBy {
			if _, ok := column(d); !ok {
				return q, "", fmt.Errorf("group_by %q: use %s", d, dimensionNames)
			}
		}
	}
	if q.Currency != "" && !ValidCurrency(q.Currency) {
		return q, "", fmt.Errorf("currency %q: use CNY or USD", q.Currency)
	}
	format := v.Get("format")
	switch format {
	case "", "json", "csv", "table":
	default:
		return q, "", fmt.Errorf("format %q: use json, csv or table", format)
	}
	return q, format, nil
}
