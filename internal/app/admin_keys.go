package app

// The admin API's access control and its key routes.
//
//	POST  /admin/keys               create a key: the answer holds it, once ("key"); with "signing": true its signing secret too ("signing_secret")
//	GET   /admin/keys               every key (never the key itself)
//	GET   /admin/keys/{ref}         one key, by id or name
//	PATCH /admin/keys/{ref}         change fields (name, role, team, tag, models, routes, limits, budgets, metadata, expires_at, enabled)
//	POST  /admin/keys/{ref}/rotate  a new key, returned once; the old one works for {"grace":"24h"} (the default);
//	                                a key that signs gets a new signing secret likewise ({"signing": true}: a first one)
//	POST  /admin/keys/{ref}/revoke  the key stops working, on every instance within keys_refresh
//	GET   /admin/audit              the newest admin actions (?limit=, default 100, at most 1000)
//
// Every admin route names the role it needs: reads of status need viewer,
// everything else admin; a user key may not use the admin API. A caller
// authenticates with admin.token, admin_key or a managed key, as a bearer
// token or x-api-key. Every change, and every refusal, is written to the
// audit log (who, what, when, from where) once the store is open.

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/auth"
	"github.com/ferrygw/ferry/internal/canary"
	"github.com/ferrygw/ferry/internal/keys"
)

// adminRoute is one admin API route and the role it needs.
type adminRoute struct {
	pattern string // "METHOD /path"
	need    auth.Role
	h       http.Handler
}

// adminRoutes is every admin API route: the one table access control,
// audit and their test read.
func (a *App) adminRoutes() []adminRoute {
	return append([]adminRoute{
		{"GET /admin/upstreams", auth.RoleViewer, http.HandlerFunc(a.adminUpstreams)},
		{"GET /admin/routes", auth.RoleViewer, http.HandlerFunc(a.adminRoutesList)},
		{"POST /admin/routes/{match}/promote", auth.RoleAdmin, a.adminSplit("promote", (*canary.Split).Promote)},
		{"POST /admin/routes/{match}/rollback", auth.RoleAdmin, a.adminSplit("rollback", (*canary.Split).Rollback)},
		{"GET /admin/shadow", auth.RoleViewer, a.mirror.Handler()},
		{"POST /admin/keys", auth.RoleAdmin, http.HandlerFunc(a.adminKeyCreate)},
		{"GET /admin/keys", auth.RoleAdmin, http.HandlerFunc(a.adminKeyList)},
		{"GET /admin/keys/{ref}", auth.RoleAdmin, http.HandlerFunc(a.adminKeyShow)},
		{"PATCH /admin/keys/{ref}", auth.RoleAdmin, http.HandlerFunc(a.adminKeyUpdate)},
		{"POST /admin/keys/{ref}/rotate", auth.RoleAdmin, http.HandlerFunc(a.adminKeyRotate)},
		{"POST /admin/keys/{ref}/revoke", auth.RoleAdmin, http.HandlerFunc(a.adminKeyRevoke)},
		{"GET /admin/audit", auth.RoleAdmin, http.HandlerFunc(a.adminAudit)},
		{"POST /admin/reload", auth.RoleAdmin, http.HandlerFunc(a.adminReload)},
		{"GET /debug/pprof/", auth.RoleAdmin, pprofHandler()}, // and every profile below it
		{"POST /debug/pprof/symbol", auth.RoleAdmin, pprofHandler()},
	}, a.consoleRoutes()...)
}

// adminGuard authenticates the caller, checks rt's role and audits.
func (a *App) adminGuard(rt adminRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, err := a.adminCaller(r)
		if err == nil && !who.Role.Allows(rt.need) {
			err = apierr.New(apierr.Permission, "this key's role (%s) may not use %s: it needs the %s role", who.Role, rt.pattern, rt.need)
		}
		if err != nil {
			e := apierr.From(err)
			if e.Kind == apierr.Authentication {
				w.Header().Set("WWW-Authenticate", `Bearer realm="ferry admin"`)
			}
			adminFail(w, e)
			a.audit(r, who, rt.pattern, e.Kind.Status())
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		rt.h.ServeHTTP(rec, r)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			a.audit(r, who, rt.pattern, rec.status)
		}
	})
}

// adminCaller is who calls: admin.token and admin_key are admins; a
// managed key has its role. With neither admin.token nor admin_key set (the
// config allows that on a loopback admin.listen only), a caller without
// credentials from a loopback address is an anonymous admin, as before keys
// had roles; from any other address (a listener the config check did not
// see, a proxy in front) it is refused.
func (a *App) adminCaller(r *http.Request) (*auth.Identity, error) {
	presented := auth.Presented(r.Header)
	g := a.current() // admin.token, admin_key and keys reload
	token := g.cfg.Admin.Token.Reveal()
	if presented == "" {
		if token == "" && g.cfg.AdminKey == "" {
			if !loopbackRemote(r.RemoteAddr) {
				return nil, apierr.New(apierr.Authentication, "the admin API without admin.token or admin_key answers loopback callers only")
			}
			return &auth.Identity{Name: "anonymous", Role: auth.RoleAdmin}, nil
		}
		return nil, apierr.New(apierr.Authentication, "a valid admin token is required")
	}
	if token != "" {
		want, got := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(presented))
		if subtle.ConstantTimeCompare(want[:], got[:]) == 1 {
			return &auth.Identity{Name: "admin_token", Role: auth.RoleAdmin}, nil
		}
	}
	id, err := g.keys.Identify(presented)
	if err != nil {
		return nil, apierr.Wrap(apierr.Authentication, err, "a valid admin token is required")
	}
	return id, nil
}

func (a *App) audit(r *http.Request, who *auth.Identity, action string, status int) {
	e := keys.Entry{Action: action, Target: r.URL.Path, Remote: r.RemoteAddr, Status: status, Actor: "(unauthenticated)"}
	if who != nil {
		e.Actor, e.Role = who.Name, string(who.Role)
	}
	repo := a.managed.opened()
	if repo == nil {
		a.log.Info("admin action (store not open: not in the audit log)", slog.String("actor", e.Actor), slog.String("action", action), slog.Int("status", status), slog.String("remote", e.Remote))
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := repo.Audit(ctx, e); err != nil {
		a.log.Error("admin action not written to the audit log", slog.String("actor", e.Actor), slog.String("action", action), slog.Any("error", err))
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// adminFail writes e in Anthropic's error shape.
func adminFail(w http.ResponseWriter, e *apierr.Error) { apierr.WriteAdmin(w, e) }

// keyFail maps the keys package's errors.
func keyFail(w http.ResponseWriter, err error) {
	var inv *keys.InvalidError
	var taken *keys.NameTakenError
	switch {
	case errors.As(err, &taken):
		adminFail(w, apierr.New(apierr.Conflict, "%s", taken.Msg))
	case errors.As(err, &inv):
		adminFail(w, apierr.New(apierr.InvalidRequest, "%s", inv.Msg))
	case errors.Is(err, keys.ErrNotFound):
		adminFail(w, apierr.New(apierr.NotFound, "no such key"))
	default:
		adminFail(w, apierr.Wrap(apierr.Internal, err, "the store could not be used: see the gateway's log"))
	}
}

// repo opens the store if need be.
func (a *App) repo(w http.ResponseWriter, r *http.Request) *keys.Repo {
	repo, err := a.managed.open(r.Context())
	if err != nil {
		a.log.Error("store could not be opened", slog.Any("error", err))
		keyFail(w, err)
		return nil
	}
	return repo
}

// keyView is a key as the admin API shows it.
type keyView struct {
	keys.Key
	Status string `json:"status"`
	Secret string `json:"key,omitempty"` // only when just made
}

func view(k keys.Key, secret string) keyView {
	return keyView{Key: k, Status: k.Status(time.Now()), Secret: secret}
}

// changed makes this instance see a change at once (the others within
// keys_refresh).
func (a *App) changed(ctx context.Context) {
	if err := a.managed.cache.Refresh(ctx); err != nil {
		a.log.Warn("managed keys not reloaded after a change", slog.Any("error", err))
	}
}

// keyChanged answers a change to a key: err, or the key as it is now (with
// its new secret, shown this once) after this instance has seen the change.
func (a *App) keyChanged(w http.ResponseWriter, r *http.Request, status int, k keys.Key, secret string, err error) {
	if err != nil {
		keyFail(w, err)
		return
	}
	a.changed(r.Context())
	adminJSON(w, status, view(k, secret))
}

func decodeSpec(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		adminFail(w, apierr.New(apierr.InvalidRequest, "the body is not a valid key specification: %v", err))
		return false
	}
	return true
}

func (a *App) adminKeyCreate(w http.ResponseWriter, r *http.Request) {
	repo := a.repo(w, r)
	var spec keys.Spec
	if repo == nil || !decodeSpec(w, r, &spec) {
		return
	}
	k, secret, err := repo.Create(r.Context(), spec)
	a.keyChanged(w, r, http.StatusCreated, k, secret, err)
}

func (a *App) adminKeyList(w http.ResponseWriter, r *http.Request) {
	out := []keyView{}
	if repo := a.managed.opened(); repo != nil {
		list, err := repo.List(r.Context())
		if err != nil {
			keyFail(w, err)
			return
		}
		for _, k := range list {
			out = append(out, view(k, ""))
		}
	}
	adminJSON(w, http.StatusOK, map[string]any{"keys": out})
}

func (a *App) adminKeyShow(w http.ResponseWriter, r *http.Request) {
	repo := a.managed.opened()
	if repo == nil {
		keyFail(w, keys.ErrNotFound)
		return
	}
	k, err := repo.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		keyFail(w, err)
		return
	}
	adminJSON(w, http.StatusOK, view(k, ""))
}

func (a *App) adminKeyUpdate(w http.ResponseWriter, r *http.Request) {
	repo := a.repo(w, r)
	var spec keys.Spec
	if repo == nil || !decodeSpec(w, r, &spec) {
		return
	}
	k, err := repo.Update(r.Context(), r.PathValue("ref"), spec)
	a.keyChanged(w, r, http.StatusOK, k, "", err)
}

// DefaultRotateGrace is how long a rotated key's old secret keeps working
// unless the request says otherwise.
const DefaultRotateGrace = 24 * time.Hour

func (a *App) adminKeyRotate(w http.ResponseWriter, r *http.Request) {
	repo := a.repo(w, r)
	var body struct {
		Grace   string `json:"grace"`
		Signing bool   `json:"signing"`
	}
	if repo == nil || !decodeSpec(w, r, &body) {
		return
	}
	grace := DefaultRotateGrace
	if body.Grace != "" {
		d, err := time.ParseDuration(body.Grace)
		if err != nil || d < 0 {
			adminFail(w, apierr.New(apierr.InvalidRequest, "grace: %q is not a duration such as 24h or 0s", body.Grace))
			return
		}
		grace = d
	}
	k, secret, err := repo.Rotate(r.Context(), r.PathValue("ref"), grace, body.Signing)
	a.keyChanged(w, r, http.StatusOK, k, secret, err)
}

func (a *App) adminKeyRevoke(w http.ResponseWriter, r *http.Request) {
	repo := a.repo(w, r)
	if repo == nil {
		return
	}
	k, err := repo.Revoke(r.Context(), r.PathValue("ref"))
	a.keyChanged(w, r, http.StatusOK, k, "", err)
}

func (a *App) adminAudit(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			adminFail(w, apierr.New(apierr.InvalidRequest, "limit: %q is not a number from 1 to 1000", s))
			return
		}
		limit = n
	}
	out := []keys.Entry{}
	if repo := a.managed.opened(); repo != nil {
		var err error
		if out, err = repo.AuditLog(r.Context(), limit); err != nil {
			keyFail(w, err)
			return
		}
	}
	adminJSON(w, http.StatusOK, map[string]any{"entries": out})
}

// loopbackRemote reports whether a request's remote address is loopback.
func loopbackRemote(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}
