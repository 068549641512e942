package app

// The admin listener: /metrics, and the admin API over the relay's node
// pools and canary splits.
//
//	GET  /admin/upstreams               every provider's pool: breakers, latency, health, bulkhead, retry budget
//	GET  /admin/routes                  every weighted route's split: weights, canary windows, last change
//	POST /admin/routes/{match}/promote  the route's canary takes all the weight
//	POST /admin/routes/{match}/rollback the route's canary gets none
//	GET  /admin/shadow                  shadow-traffic comparisons, summarised per route (?route=, ?recent=)
//	GET  /debug/pprof/...               Go's runtime profiles (pprof.go)
//
// {match} is the route's match pattern, URL-escaped ("claude-%2A" or
// "claude-*"). /admin/* and /debug/pprof/* need "Authorization: Bearer <admin.token>" when a
// token is configured (the config requires one off loopback); /metrics
// stays open, as scrapers expect.

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ferrygw/ferry/internal/canary"
	"github.com/ferrygw/ferry/internal/upstream"
)

func (a *App) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.Registry, promhttp.HandlerOpts{}))
	api := http.NewServeMux()
	api.HandleFunc("GET /admin/upstreams", a.adminUpstreams)
	api.HandleFunc("GET /admin/routes", a.adminRoutes)
	api.HandleFunc("POST /admin/routes/{match}/promote", a.adminSplit("promote", (*canary.Split).Promote))
	api.HandleFunc("POST /admin/routes/{match}/rollback", a.adminSplit("rollback", (*canary.Split).Rollback))
	api.Handle("GET /admin/shadow", a.mirror.Handler())
	mux.Handle("/admin/", adminAuth(a.cfg.Admin.Token.Reveal(), api))
	mux.Handle("/debug/pprof/", adminAuth(a.cfg.Admin.Token.Reveal(), pprofHandler()))
	return mux
}

// adminAuth requires the bearer token, when there is one. The comparison
// is of digests, in constant time: neither the token's bytes nor its
// length leak through timing.
func adminAuth(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ferry admin"`)
			adminError(w, http.StatusUnauthorized, "a valid admin token is required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *App) adminUpstreams(w http.ResponseWriter, _ *http.Request) {
	pools := a.relay.Pools()
	out := make([]upstream.PoolSnapshot, len(pools))
	for i, p := range pools {
		out[i] = p.Snapshot()
	}
	adminJSON(w, http.StatusOK, map[string]any{"upstreams": out})
}

func (a *App) adminRoutes(w http.ResponseWriter, _ *http.Request) {
	splits := a.relay.Splits()
	out := make([]canary.SplitSnapshot, len(splits))
	for i, s := range splits {
		out[i] = s.Snapshot()
	}
	adminJSON(w, http.StatusOK, map[string]any{"routes": out})
}

// adminSplit serves promote and rollback: 404 for an unknown route, 409
// for a route without a canary target.
func (a *App) adminSplit(action string, do func(*canary.Split) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		match := r.PathValue("match")
		if !a.relay.HasRoute(match) {
			adminError(w, http.StatusNotFound, "no route matches "+match)
			return
		}
		split, ok := a.relay.Split(match)
		if !ok || !hasCanary(split) {
			adminError(w, http.StatusConflict, "route "+match+" has no canary target")
			return
		}
		if err := do(split); err != nil {
			adminError(w, http.StatusConflict, err.Error())
			return
		}
		a.log.Warn("canary "+action+" by the admin API", slog.String("route", match), slog.String("remote", r.RemoteAddr))
		adminJSON(w, http.StatusOK, split.Snapshot())
	}
}

func hasCanary(s *canary.Split) bool {
	for _, t := range s.Snapshot().Targets {
		if t.Canary {
			return true
		}
	}
	return false
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"snapshot could not be encoded"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func adminError(w http.ResponseWriter, status int, msg string) {
	adminJSON(w, status, map[string]string{"error": msg})
}
