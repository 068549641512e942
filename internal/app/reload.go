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
	"sync"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/relay"
	"github.com/ferrygw/ferry/internal/server"
)

// A hot reload swaps the request path behind the listener: the relay
// (routes, providers, pools) and the server in front of it, built from the
// new config, replace the old ones in one atomic store. A request loads
// the generation once, as it starts, and finishes on it. What the config
// of a reload does not change survives it: the listeners, keys, rate
// limiter, response cache, usage recorder and shadow queue are the same
// objects, and a provider whose config is unchanged keeps its connections
// and its pool (breakers, bulkhead, latency figures).
//
// A reload changes providers and routes. A config that changes anything
// else is refused (those sections need a restart), as is one that does not
// validate; either way the old config stays and the refusal is logged.

// generation is one config's request path.
type generation struct {
	cfg    *config.Config
	relay  *relay.Relay
	server *server.Server
	impl   map[string]relay.Provider // providers by name, reused when unchanged

	stopChecks func() // ends this generation's health checks (nil: none running)

	// replaced are the providers of this generation that the reload which
	// retired it replaced or removed: their idle connections are closed
	// when the generation is released.
	replaced []relay.Provider
}

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
	refusedRestart = "refused: only providers and routes can change without a restart"
	refusedBuild   = "refused: the new providers or routes could not be built (details in the log)"
)

// errRestartOnly marks restartOnly's refusal.
var errRestartOnly = errors.New("only providers and routes can change without a restart")

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

// serveCurrent serves r on the current generation.
func (a *App) serveCurrent(w http.ResponseWriter, r *http.Request) {
	a.gen.Load().server.ServeHTTP(w, r)
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
// config that does not validate or that changes more than providers and
// routes; the old config then stays.
func (a *App) Reload(cfg *config.Config) error {
	a.reloads.mu.Lock()
	defer a.reloads.mu.Unlock()
	var err error
	if e := cfg.Validate(); e != nil {
		err = &reloadRefusal{refusedInvalid, e}
	} else if e := restartOnly(a.cfg, cfg); e != nil {
		err = &reloadRefusal{refusedRestart, e}
	}
	var next *generation
	if err == nil {
		if next, err = a.buildGeneration(cfg, a.current()); err != nil {
			err = &reloadRefusal{refusedBuild, err}
		}
	}
	if err != nil {
		a.log.Error("reload refused; the old config stays", slog.Any("error", err))
		return fmt.Errorf("reload: %w", err)
	}
	old := a.gen.Swap(next)
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
	// none, else when its last one ends. A request that loaded it just
	// before the swap and has not started yet may still run on it after
	// the release; it does not need the released state.
	a.reloads.retired = append(a.reloads.retired, old)
	old.server.OnIdle(func() { a.release(old) })
	if old.server.InFlight() == 0 {
		a.releaseLocked(old)
	}
	a.log.Info("config reloaded", slog.Int("providers", len(cfg.Providers)), slog.Int("routes", len(cfg.Routes)))
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
	for _, p := range g.replaced {
		closeIdle(p)
		a.closers = slices.DeleteFunc(a.closers, func(c interface{ CloseIdleConnections() }) bool {
			cp, ok := c.(relay.Provider)
			return ok && cp == p
		})
	}
	g.replaced = nil
}

// closeIdle closes p's idle upstream connections, if it keeps any.
func closeIdle(p relay.Provider) {
	if c, ok := p.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// retiredCount is the number of replaced generations not yet released.
func (a *App) retiredCount() int {
	a.reloads.mu.Lock()
	defer a.reloads.mu.Unlock()
	return len(a.reloads.retired)
}

// restartOnly reports the sections a reload cannot change: everything but
// providers and routes.
func restartOnly(old, cfg *config.Config) error {
	a, b := *old, *cfg
	a.Providers, a.Routes, b.Providers, b.Routes = nil, nil, nil, nil
	if !reflect.DeepEqual(a, b) {
		return errRestartOnly
	}
	return nil
}

// buildGeneration builds the request path for cfg on the components that
// outlive reloads, reusing prev's unchanged providers and pools (nil prev:
// the first generation, all new).
func (a *App) buildGeneration(cfg *config.Config, prev *generation) (_ *generation, err error) {
	// A refused reload does not keep the providers it built in closers.
	closers := len(a.closers)
	defer func() {
		if err != nil {
			clear(a.closers[closers:])
			a.closers = a.closers[:closers]
		}
	}()
	impl, err := a.buildProviders(cfg, prev)
	if err != nil {
		return nil, err
	}
	var prevRelay *relay.Relay
	if prev != nil {
		prevRelay = prev.relay
	}
	rl, err := relay.New(relay.Options{
		Routes:    cfg.Routes,
		Providers: cfg.Providers,
		Impl:      impl,
		Metrics:   a.metrics,
		Tracer:    a.tracer,
		Logger:    a.log,
		Mirror:    a.mirror,
		Previous:  prevRelay,

		MaxAnswerBytes: a.opts.maxResponseBytes,
	})
	if err != nil {
		return nil, err
	}
	srv, err := a.buildServer(cfg, rl)
	if err != nil {
		return nil, err
	}
	return &generation{cfg: cfg, relay: rl, server: srv, impl: impl}, nil
}

// buildProviders builds cfg's providers, reusing prev's when their config
// is unchanged (nil prev: all new).
func (a *App) buildProviders(cfg *config.Config, prev *generation) (map[string]relay.Provider, error) {
	out := make(map[string]relay.Provider, len(cfg.Providers))
	for _, pc := range cfg.Providers {
		if prev != nil && prev.impl[pc.Name] != nil && reflect.DeepEqual(providerConfig(prev.cfg, pc.Name), &pc) {
			out[pc.Name] = prev.impl[pc.Name]
			continue
		}
		p, err := buildProvider(pc, a.tracedTransport(pc, a.opts.transport))
		if err != nil {
			return nil, err
		}
		out[pc.Name] = p
		if c, ok := p.(interface{ CloseIdleConnections() }); ok {
			a.closers = append(a.closers, c)
		}
	}
	return out, nil
}

func providerConfig(cfg *config.Config, name string) *config.Provider {
	for i := range cfg.Providers {
		if cfg.Providers[i].Name == name {
			return &cfg.Providers[i]
		}
	}
	return nil
}

// buildServer builds the public API server for cfg's relay on the
// components that outlive reloads (serverBase).
func (a *App) buildServer(cfg *config.Config, rl *relay.Relay) (*server.Server, error) {
	o := a.serverBase
	o.Relay = rl
	o.Models = rl.Models()
	o.ModelsCreated = time.Now()
	o.CacheTTL = cacheTTLs(cfg.Routes)
	return server.New(o)
}

// startChecks runs g's active health checks until its stopChecks.
func (a *App) startChecks(g *generation) {
	ctx, cancel := context.WithCancel(a.reloads.checks)
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.relay.RunHealthChecks(ctx)
	}()
	g.stopChecks = func() { cancel(); <-done }
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
