package app

// The web console (internal/console) and the two admin routes written for it:
//
//	GET /console/        the console's page and assets (no data: they hold no secret)
//	GET /admin/stats     the last minutes of traffic, per second, for the live charts (?window=120)
//	GET /admin/config    the running config, every secret as "***", and the last reload's result
//
// The console calls the admin API with the operator's key as a bearer
// token, so its pages show only what that key's role may read.

import (
	"encoding"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/auth"
	"github.com/ferrygw/ferry/internal/config"
)

// consoleRoutes are the admin routes the console adds to adminRoutes().
func (a *App) consoleRoutes() []adminRoute {
	return []adminRoute{
		{"GET /admin/stats", auth.RoleViewer, http.HandlerFunc(a.adminStats)},
		{"GET /admin/config", auth.RoleViewer, http.HandlerFunc(a.adminConfig)},
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
	adminJSON(w, http.StatusOK, map[string]any{
		"config":    maskedConfig(reflect.ValueOf(a.current().cfg).Elem(), ""),
		"loaded_at": a.started.UTC().Format(time.RFC3339),
		// Reload results go to the log and to POST /admin/reload's answer;
		// they are not kept here yet.
		"last_reload": nil,
	})
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
