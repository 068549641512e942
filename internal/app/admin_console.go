package app

// The web console (internal/console) and the two admin routes written for it:
//
//	GET /console/        the console's page and assets (no data: they hold no secret)
//	GET /admin/stats     the last minutes of traffic, per second, for the live charts (?window=120)
//	GET /admin/config    the running config, every secret as "***", and the last reload's result
//	GET /admin/budgets   every configured budget with its spend and reservations in the current period
//
// The console calls the admin API with the operator's key as a bearer
// token, so its pages show only what that key's role may read.

import (
	"encoding"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/auth"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/usage"
)

// consoleRoutes are the admin routes the console adds to adminRoutes().
func (a *App) consoleRoutes() []adminRoute {
	return []adminRoute{
		{"GET /admin/stats", auth.RoleViewer, http.HandlerFunc(a.adminStats)},
		{"GET /admin/config", auth.RoleViewer, http.HandlerFunc(a.adminConfig)},
		{"GET /admin/budgets", auth.RoleViewer, http.HandlerFunc(a.adminBudgets)},
	}
}

func (a *App) adminStats(w http.ResponseWriter, r *http.Request) {
	window := 120
	if v := r.URL.Query().Get("window"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			adminFail(w, apierr.New(apierr.InvalidRequest, "window: want a number of seconds, 1 to 299"))
			return
		}
		window = n
	}
	snap := a.stats.Snapshot(window)
	for _, p := range a.current().relay.Pools() {
		snap.InFlight += p.Snapshot().Inflight
	}
	adminJSON(w, http.StatusOK, snap)
}

func (a *App) adminConfig(w http.ResponseWriter, _ *http.Request) {
	var last any // null until the first reload
	if r, ok := a.lastReload(); ok {
		last = r
	}
	g := a.current()
	adminJSON(w, http.StatusOK, map[string]any{
		"config":      maskedConfig(reflect.ValueOf(g.cfg).Elem(), ""),
		"loaded_at":   g.loaded.UTC().Format(time.RFC3339), // of the serving config: a reload's, not the start's
		"last_reload": last,
	})
}

// budgetJSON is one budget row of GET /admin/budgets; amounts are decimal
// strings in the budget's currency ("12.50").
type budgetJSON struct {
	Name           string  `json:"name"`
	Scope          string  `json:"scope"`
	Match          string  `json:"match"`
	Subject        string  `json:"subject"`
	Period         string  `json:"period"`
	Currency       string  `json:"currency"`
	Limit          string  `json:"limit"`
	Spent          string  `json:"spent"`
	Reserved       string  `json:"reserved"`
	Percent        float64 `json:"percent"` // spent / limit × 100
	LimitMicros    int64   `json:"limit_micros"`
	SpentMicros    int64   `json:"spent_micros"`
	ReservedMicros int64   `json:"reserved_micros"`
	PeriodStart    string  `json:"period_start"`
	PeriodEnd      string  `json:"period_end"`
}

// adminBudgets serves GET /admin/budgets: every budget of usage.budgets,
// and every active managed key's own, in its current period. Without a store there are no budgets: an empty list.
func (a *App) adminBudgets(w http.ResponseWriter, r *http.Request) {
	out := []budgetJSON{}
	if a.money != nil {
		// Managed keys' own budgets, for keys that can still spend.
		var extra []usage.Budget
		if repo := a.managed.opened(); repo != nil {
			list, err := repo.List(r.Context())
			if err != nil {
				keyFail(w, err)
				return
			}
			now := time.Now()
			for _, k := range list {
				if k.Status(now) != "active" {
					continue
				}
				for _, b := range k.Budgets {
					extra = append(extra, usage.KeyBudget(k.Name, b.Period, b.Currency, usage.Micros(b.LimitMicros), b.AllowOver))
				}
			}
		}
		st, err := a.money.spend.Load().budgets.Status(r.Context(), extra...)
		if err != nil {
			a.log.Error("admin budgets: store failed", slog.Any("error", err))
			adminFail(w, apierr.Wrap(apierr.Unavailable, err, "the usage store is unavailable"))
			return
		}
		for _, b := range st {
			pct := 0.0
			if b.Limit > 0 {
				pct = float64(b.Spent) * 100 / float64(b.Limit)
			}
			out = append(out, budgetJSON{Name: b.Name, Scope: b.Scope, Match: b.Match, Subject: b.Subject, Period: string(b.Period),
				Currency: b.Currency, Limit: b.Limit.String(), Spent: b.Spent.String(), Reserved: b.Reserved.String(), Percent: pct,
				LimitMicros: int64(b.Limit), SpentMicros: int64(b.Spent), ReservedMicros: int64(b.Reserved),
				PeriodStart: b.Window.Start.Format(time.RFC3339), PeriodEnd: b.Window.End.Format(time.RFC3339)})
		}
	}
	adminJSON(w, http.StatusOK, map[string]any{"budgets": out})
}

const masked = "***"

var (
	secretType   = reflect.TypeFor[config.Secret]()
	durationType = reflect.TypeFor[time.Duration]()
	textType     = reflect.TypeFor[encoding.TextMarshaler]()
)

// maskedConfig renders v with the config file's field names: secrets as
// "***" (empty ones as ""), every header value masked (an Authorization
// header is a secret in all but name), passwords and query strings of
// URLs masked, durations as "30s". name is the field v came from.
func maskedConfig(v reflect.Value, name string) any {
	switch {
	case v.Type() == secretType:
		if v.String() == "" {
			return ""
		}
		return masked
	case v.Type() == durationType:
		return time.Duration(v.Int()).String()
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return maskedConfig(v.Elem(), name)
	case reflect.Struct:
		if v.Type().Implements(textType) {
			b, _ := v.Interface().(encoding.TextMarshaler).MarshalText()
			return string(b)
		}
		out := map[string]any{}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || tag == "-" {
				continue
			}
			if tag == "" {
				tag = strings.ToLower(f.Name)
			}
			out[tag] = maskedConfig(v.Field(i), tag)
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return map[string]any{}
		}
		out := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			k := it.Key().String()
			if name == "headers" {
				out[k] = masked
				continue
			}
			out[k] = maskedConfig(it.Value(), k)
		}
		return out
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return []any{}
		}
		out := make([]any, v.Len())
		for i := range v.Len() {
			out[i] = maskedConfig(v.Index(i), name)
		}
		return out
	case reflect.String:
		return maskURL(v.String())
	}
	if v.CanInterface() {
		return v.Interface()
	}
	return nil
}

// maskURL masks a URL's password and query values (webhook tokens live in
// query strings); any other string is returned as it is.
func maskURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return masked
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), masked)
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{masked}
		}
		u.RawQuery = q.Encode()
	}
	s = u.String()
	return strings.ReplaceAll(s, url.QueryEscape(masked), masked)
}
