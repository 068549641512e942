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
// "claude-*"). /admin/* needs "Authorization: Bearer <admin.token>" (or
// admin_key, or a managed key whose role allows the route: admin_keys.go)
// when a token or admin_key is configured (the config requires one off
// loopback); /metrics stays open, as scrapers expect.

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/canary"
	"github.com/ferrygw/ferry/internal/console"
	"github.com/ferrygw/ferry/internal/upstream"
)

func (a *App) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.Registry, promhttp.HandlerOpts{}))
	// The console's assets are open like /metrics: they hold no data, and
	// the page asks for a key before it calls the guarded API.
	mux.Handle("GET /console/", console.Handler("/console/"))
	mux.Handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
	// Every route is guarded by its role (admin_keys.go); the token is
	// compared as a digest, in constant time.
	for _, rt := range append(a.adminRoutes(), a.moneyRoutes()...) {
		mux.Handle(rt.pattern, a.adminGuard(rt))
	}
	return mux
}

func (a *App) adminUpstreams(w http.ResponseWriter, _ *http.Request) {
	out := snapshots(a.current().relay.Pools(), (*upstream.Pool).Snapshot)
	adminJSON(w, http.StatusOK, map[string]any{"upstreams": out})
}

func (a *App) adminRoutesList(w http.ResponseWriter, _ *http.Request) {
	out := snapshots(a.current().relay.Splits(), (*canary.Split).Snapshot)
	adminJSON(w, http.StatusOK, map[string]any{"routes": out})
}

// snapshots is the snapshot of each of xs, in order.
func snapshots[T, S any](xs []T, snapshot func(T) S) []S {
	out := make([]S, len(xs))
	for i, x := range xs {
		out[i] = snapshot(x)
	}
	return out
}

// adminSplit serves promote and rollback: 404 for an unknown route, 409
// for a route without a canary target.
func (a *App) adminSplit(action string, do func(*canary.Split) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		match := r.PathValue("match")
		if !a.current().relay.HasRoute(match) {
			adminFail(w, apierr.New(apierr.NotFound, "no route matches %s", match))
			return
		}
		split, ok := a.current().relay.Split(match)
		if !ok || !hasCanary(split) {
			adminFail(w, apierr.New(apierr.Conflict, "route %s has no canary target", match))
			return
		}
		if err := do(split); err != nil {
			adminFail(w, apierr.Wrap(apierr.Conflict, err, err.Error()))
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
		adminFail(w, apierr.Wrap(apierr.Internal, err, "the answer could not be encoded"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
