package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/server"
)

// A hot reload swaps the request path behind the listener: a generation
// (generation.go) built from the new config, holding the relay (routes,
// providers, pools), the keys, guards, cache settings, spending and signed
// request keys, and the server in front of them, replaces the old one in
// one atomic store. A request acquires the generation once, as it starts,
// and finishes on it. What a reload does not change survives it: the
// listeners, the rate limiter's counters, the cache's entries, the usage
// ledger and budget spend (in the store), the replay memory, the shadow
// queue and every open store connection are the same objects, and a
// provider whose config is unchanged keeps its connections and its pool
// (breakers, bulkhead, latency figures). The few components shared by
// every generation whose settings may change (the rate limiter's rules,
// the alert webhooks, the log level) are reconfigured in place at the
// swap.
//
// A config that does not validate is refused, and so is one that changes
// a section bound at start (restartSections, reload_sections.go): the
// refusal names those sections, and nothing of the rest is applied.
// Either way the old config stays and the refusal is logged.

// reloadState serialises reloads and keeps what Run's drain must wait for.
type reloadState struct {
	mu      sync.Mutex
	checks  context.Context // Run's health-check context; nil before Run
	retired []*generation   // replaced by reloads, with requests still in flight
	mtime   time.Time       // of the config file at the last load

	lastMu sync.Mutex
	last   *reloadResult // the last reload attempt; nil: none since start
}

// Reload sources, as GET /admin/config reports them.
const (
	ReloadBySignal = "signal" // SIGHUP
	ReloadByFile   = "file"   // the config file's modification time changed
	ReloadByAdmin  = "admin"  // POST /admin/reload
)

// reloadResult is the last reload attempt, for GET /admin/config. Result
// is "ok" or the refusal's reason, worded here: never an error's text,
// which may quote a config value (a secret).
type reloadResult struct {
	At     string `json:"at"`
	Source string `json:"source"`
	Result string `json:"result"`
}

// Refusal reasons kept as a reload's result.
const (
	refusedNoFile  = "refused: started without a config file"
	refusedInvalid = "refused: the config does not validate (details in the log)"
	refusedRestart = "refused: these sections need a restart: " // followed by their names
	refusedBuild   = "refused: the new config's components could not be built (details in the log)"
	refusedNames   = "refused: managed keys already have these names: " // followed by them, each with whose it is in the config
)

// reloadRefusal is a refused reload's error with its reason for the
// record.
type reloadRefusal struct {
	reason string
	err    error
}

func (e *reloadRefusal) Error() string { return e.err.Error() }
func (e *reloadRefusal) Unwrap() error { return e.err }

func (a *App) noteReload(source string, err error) {
	res := "ok"
	if err != nil {
		res = refusedInvalid
		var rr *reloadRefusal
		switch {
		case errors.Is(err, ErrNoConfigFile):
			res = refusedNoFile
		case errors.As(err, &rr):
			res = rr.reason
		}
	}
	a.reloads.lastMu.Lock()
	a.reloads.last = &reloadResult{At: time.Now().UTC().Format(time.RFC3339), Source: source, Result: res}
	a.reloads.lastMu.Unlock()
}

// lastReload is the last reload attempt since start, if any.
func (a *App) lastReload() (reloadResult, bool) {
	a.reloads.lastMu.Lock()
	defer a.reloads.lastMu.Unlock()
	if a.reloads.last == nil {
		return reloadResult{}, false
	}
	return *a.reloads.last, true
}

// serveCurrent serves r on the generation it acquires.
func (a *App) serveCurrent(w http.ResponseWriter, r *http.Request) {
	g := a.acquire()
	defer g.server.Done()
	g.server.ServeHTTP(w, r)
}

// acquire returns the current generation with one request counted in
// flight on its server. The request counts from before the check that the
// generation is still current: a reload that swaps it out after the check
// sees the request in flight and keeps the generation until it ends; one
// that swapped it out before makes the request let go and take the new
// one. So a generation is never released under a request.
func (a *App) acquire() *generation {
	for {
		g := a.gen.Load()
		g.server.Hold()
		if a.opts.afterHold != nil {
			a.opts.afterHold() // tests: a reload between the hold and the check
		}
		if a.gen.Load() == g {
			return g
		}
		g.server.Done() // may release g: it serves nothing
	}
}

// current is the generation requests start on.
func (a *App) current() *generation { return a.gen.Load() }

// ErrNoConfigFile is returned by ReloadFile when the app was started
// without a config file.
var ErrNoConfigFile = errors.New("reload: started without a config file (embedded defaults)")

// ReloadFile re-reads Options.ConfigPath and reloads it, on a SIGHUP.
func (a *App) ReloadFile() error { return a.ReloadFileBy(ReloadBySignal) }

// ReloadFileBy re-reads Options.ConfigPath and reloads it, and keeps the
// result as the last reload, from source (ReloadBySignal, ReloadByFile,
// ReloadByAdmin), for GET /admin/config.
func (a *App) ReloadFileBy(source string) error {
	err := a.reloadFile()
	a.noteReload(source, err)
	return err
}

func (a *App) reloadFile() error {
	if a.opts.ConfigPath == "" {
		a.log.Warn("reload refused: " + ErrNoConfigFile.Error())
		return ErrNoConfigFile
	}
	env := a.opts.Env
	if env == nil {
		env = os.LookupEnv
	}
	st, statErr := os.Stat(a.opts.ConfigPath)
	cfg, err := config.Load(a.opts.ConfigPath, env)
	if err != nil {
		a.log.Error("reload refused: the config does not validate; the old config stays", slog.String("file", a.opts.ConfigPath), slog.Any("error", err))
		return fmt.Errorf("reload: %w", &reloadRefusal{refusedInvalid, err})
	}
	if err := a.Reload(cfg); err != nil {
		return err
	}
	if statErr == nil {
		a.reloads.mu.Lock()
		a.reloads.mtime = st.ModTime()
		a.reloads.mu.Unlock()
	}
	return nil
}

// Reload validates cfg and swaps the request path to it. It refuses a
// config that does not validate, or that changes a section needing a
// restart (naming them); the old config then stays whole.
func (a *App) Reload(cfg *config.Config) error {
	a.reloads.mu.Lock()
	defer a.reloads.mu.Unlock()
	old := a.current()
	closers := len(a.closers)
	next, err := a.prepare(cfg)
	if err == nil {
		err = a.reconfigureShared(old.cfg, cfg)
	}
	if err != nil {
		// A refused reload keeps none of the providers it built in closers.
		clear(a.closers[closers:])
		a.closers = a.closers[:closers]
		reason := refusedInvalid
		if rr := (*reloadRefusal)(nil); errors.As(err, &rr) {
			reason = rr.reason
		}
		a.log.Error("reload refused; the old config stays", slog.String("reason", reason), slog.Any("error", err))
		return fmt.Errorf("reload: %w", err)
	}
	a.gen.Store(next)
	a.managed.reserve(cfg)
	if a.money != nil {
		a.money.spend.Store(next.spend)
	}
	if a.reloads.checks != nil {
		a.startChecks(next)
	}
	// The old generation's health checks stop now (the new one probes the
	// pools it kept); the idle connections of the providers the reload
	// replaced or removed are closed now and again when the generation is
	// released, which also closes those its last requests gave back.
	if old.stopChecks != nil {
		old.stopChecks()
		old.stopChecks = nil
	}
	for name, p := range old.impl {
		if next.impl[name] != p {
			old.replaced = append(old.replaced, p)
			closeIdle(p)
		}
	}
	// The old generation stays in retired (so that Run's drain waits for
	// it) until its server has no request in flight: at once when it has
	// none, else when its last one ends. Every request that acquired it
	// counts in flight (acquire), so none runs on it after the release.
	a.reloads.retired = append(a.reloads.retired, old)
	old.server.OnIdle(func() { a.release(old) })
	if old.server.InFlight() == 0 {
		a.releaseLocked(old)
	}
	a.log.Info("config reloaded", slog.Any("changed", changedSections(old.cfg, cfg)),
		slog.Int("providers", len(cfg.Providers)), slog.Int("routes", len(cfg.Routes)))
	return nil
}

// prepare validates cfg and builds its generation, or says why not.
func (a *App) prepare(cfg *config.Config) (*generation, error) {
	if err := cfg.Validate(); err != nil {
		return nil, &reloadRefusal{refusedInvalid, err}
	}
	if names := restartSections(a.cfg, cfg); len(names) > 0 {
		list := strings.Join(names, ", ")
		return nil, &reloadRefusal{refusedRestart + list,
			fmt.Errorf("these sections need a restart: %s; nothing was changed", list)}
	}
	if err := a.keyNamesFree(cfg); err != nil {
		return nil, err
	}
	next, err := a.buildGeneration(cfg, a.current())
	if err != nil {
		return nil, &reloadRefusal{refusedBuild, err}
	}
	return next, nil
}

// keyNamesFree refuses a config whose static keys (or hmac.keys ids) are
// named as managed keys: the rate limits, ledger and audit would take the
// two for one. It is the other side of what the key store does from start
// on, refusing a managed key a reserved name (managed.reserve).
func (a *App) keyNamesFree(cfg *config.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), keyNamesTimeout)
	defer cancel()
	taken := a.managed.taken(ctx, cfg)
	if len(taken) == 0 {
		return nil
	}
	names := strings.Join(taken, ", ")
	return &reloadRefusal{refusedNames + names,
		fmt.Errorf("keys: managed keys already have these names: %s; rename the config's keys (or the managed keys); nothing was changed", names)}
}

// keyNamesTimeout bounds the managed keys' refresh before a reload's name
// check: a store that does not answer leaves the last set read.
const keyNamesTimeout = 5 * time.Second

// reconfigureShared puts cfg's settings in force on the components every
// generation shares: the alert webhooks, the rate limiter's rules and the
// log level (Reload then points the money at the new spending). All or
// nothing: a step that fails undoes the ones before it.
func (a *App) reconfigureShared(old, cfg *config.Config) error {
	refuse := func(err error) error { return &reloadRefusal{refusedBuild, err} }
	hooksChanged := a.money != nil && !reflect.DeepEqual(old.Alerts, cfg.Alerts)
	if hooksChanged {
		if err := a.money.notifier.SetWebhooks(webhooks(cfg.Alerts)); err != nil {
			return refuse(err)
		}
	}
	if !reflect.DeepEqual(old.RateLimits, cfg.RateLimits) {
		if err := a.limiter.Reconfigure(cfg.RateLimits); err != nil {
			if hooksChanged {
				a.money.notifier.SetWebhooks(webhooks(old.Alerts)) // valid: in force until now
			}
			return refuse(err)
		}
	}
	if old.Log.Level != cfg.Log.Level {
		setLogLevel(a.log, cfg.Log.Level)
	}
	return nil
}

// release removes g from the retired generations, if it is still there,
// and closes the idle connections of its replaced providers.
func (a *App) release(g *generation) {
	a.reloads.mu.Lock()
	defer a.reloads.mu.Unlock()
	a.releaseLocked(g)
}

// releaseLocked is release with reloads.mu held.
func (a *App) releaseLocked(g *generation) {
	i := slices.Index(a.reloads.retired, g)
	if i < 0 {
		return // released already
	}
	a.reloads.retired = slices.Delete(a.reloads.retired, i, i+1)
	g.server.OnIdle(nil)
	if g.stopChecks != nil {
		g.stopChecks()
		g.stopChecks = nil
	}
	a.pruneClosers(g.replaced)
	g.replaced = nil
}

// retiredCount is the number of replaced generations not yet released.
func (a *App) retiredCount() int {
	a.reloads.mu.Lock()
	defer a.reloads.mu.Unlock()
	return len(a.reloads.retired)
}

// watchConfig reloads the config file when its modification time changes,
// polling every interval, until ctx ends.
func (a *App) watchConfig(ctx context.Context, interval time.Duration) {
	if a.opts.ConfigPath == "" {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := os.Stat(a.opts.ConfigPath)
		if err != nil {
			continue
		}
		a.reloads.mu.Lock()
		changed := !st.ModTime().Equal(a.reloads.mtime)
		a.reloads.mu.Unlock()
		if !changed {
			continue
		}
		a.log.Info("config file changed: reloading", slog.String("file", a.opts.ConfigPath))
		if a.ReloadFileBy(ReloadByFile) != nil {
			// Refused (logged): not retried until the file changes again.
			a.reloads.mu.Lock()
			a.reloads.mtime = st.ModTime()
			a.reloads.mu.Unlock()
		}
	}
}

// adminReload serves POST /admin/reload: re-read the config file.
func (a *App) adminReload(w http.ResponseWriter, r *http.Request) {
	err := a.ReloadFileBy(ReloadByAdmin)
	if err != nil { // no file to read, or refused: the old config stays
		adminFail(w, apierr.Wrap(apierr.Conflict, err, err.Error()))
		return
	}
	a.log.Warn("config reloaded by the admin API", slog.String("remote", r.RemoteAddr))
	g := a.current()
	adminJSON(w, http.StatusOK, map[string]any{"reloaded": true, "providers": len(g.cfg.Providers), "routes": len(g.cfg.Routes)})
}

// configPoll is how often Run looks at the config file's modification time.
const configPoll = 2 * time.Second

// runChecks starts the current generation's health checks under ctx, and
// those of every generation a reload brings until stopChecks.
func (a *App) runChecks(ctx context.Context) {
	a.reloads.mu.Lock()
	defer a.reloads.mu.Unlock()
	a.reloads.checks = ctx
	a.startChecks(a.current())
}

// stopChecks ends the current generation's health checks; reloads after it
// start none.
func (a *App) stopChecks() {
	a.reloads.mu.Lock()
	defer a.reloads.mu.Unlock()
	a.reloads.checks = nil
	if g := a.current(); g.stopChecks != nil {
		g.stopChecks()
	}
}

// servers are the current server and those reloads replaced: requests may
// still run on any of them.
func (a *App) servers() []*server.Server {
	a.reloads.mu.Lock()
	defer a.reloads.mu.Unlock()
	out := []*server.Server{a.current().server}
	for _, g := range a.reloads.retired {
		out = append(out, g.server)
	}
	return out
}

// waitAll waits until no request runs on any of servers, or ctx ends.
func waitAll(ctx context.Context, servers []*server.Server) error {
	for _, s := range servers {
		if err := s.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}
