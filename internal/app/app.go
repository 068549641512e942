// Package app is Ferry's composition root: it builds every component from
// one typed config and owns start and shutdown.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferrygw/ferry/internal/auth"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/console"
	"github.com/ferrygw/ferry/internal/metrics"
	"github.com/ferrygw/ferry/internal/provider"
	anthropicp "github.com/ferrygw/ferry/internal/provider/anthropic"
	"github.com/ferrygw/ferry/internal/provider/openaicompat"
	"github.com/ferrygw/ferry/internal/provider/simulator"
	"github.com/ferrygw/ferry/internal/ratelimit"
	"github.com/ferrygw/ferry/internal/relay"
	"github.com/ferrygw/ferry/internal/server"
	"github.com/ferrygw/ferry/internal/shadow"
	"github.com/ferrygw/ferry/internal/store"
	"github.com/ferrygw/ferry/internal/tracing"
)

// Options are what the app needs besides the config.
type Options struct {
	Logger *slog.Logger // nil: built from cfg.Log on stderr
	Notice string       // a line to log first (e.g. which defaults were chosen)

	transport http.RoundTripper // tests: replaces every upstream provider's transport
	// tests: the server's write timeout and the bound of a whole answer
	// (0: the defaults, 60s and 64 MiB)
	writeTimeout     time.Duration
	maxResponseBytes int64
	afterHold        func() // tests: runs in acquire between the hold and the check (reload.go)

	// Store is the durable store for the usage ledger, budgets, alerts and
	// reports (nil: those are off). `ferry serve` opens it from data_dir or
	// store.
	Store *store.Store

	// ConfigPath is the file the config was loaded from, re-read by a
	// reload (SIGHUP, POST /admin/reload, a change of its mtime); Env
	// expands its ${VAR}s. Empty: reloads are refused.
	ConfigPath string
	Env        func(string) (string, bool)
}

// App is a built gateway.
type App struct {
	cfg     *config.Config
	log     *slog.Logger
	metrics *metrics.Metrics
	money   *money // nil: no store, no ledger or budgets (usage.go)
	public  *http.Server
	admin   *http.Server
	pubLn   net.Listener
	adminLn net.Listener
	notices []string
	closers []interface{ CloseIdleConnections() }
	rdb     *redis.Client // shared by every Redis-backed component; see redisClient
	limiter *ratelimit.Limiter
	mirror  *shadow.Mirror  // shadow traffic: started by Run, drained on shutdown
	managed *managed        // the store and the managed keys (keys.go)
	tracer  *tracing.Tracer // nil: tracing off (tracing.otlp_endpoint)
	replays auth.Replays    // signatures seen, kept over reloads (hmac.go)

	// The request path a reload swaps (reload.go): the current generation
	// and what survives it.
	gen     atomic.Pointer[generation]
	reloads reloadState
	opts    Options
	// serverBase holds the server options that outlive reloads (built
	// once: some register metrics); buildServer adds the relay's.
	serverBase server.Options
	stats      *console.Stats // the console's live charts (admin_console.go)
}

// New builds every component. It refuses an unauthenticated gateway on a
// non-loopback address.
func New(cfg *config.Config, o Options) (_ *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = NewLogger(cfg.Log, nil)
	}
	a := &App{cfg: cfg, log: log, metrics: metrics.New(), opts: o, stats: console.NewStats(nil)}
	defer func() {
		if err != nil && a.managed != nil {
			a.managed.close() // a store it opened: nothing else will
		}
	}()
	if o.Notice != "" {
		a.notices = append(a.notices, o.Notice)
	}
	if a.managed, err = newManaged(context.Background(), cfg, log, o.Store); err != nil {
		return nil, err
	}
	if a.tracer, err = newTracer(cfg.Tracing, log); err != nil {
		return nil, err
	}
	a.mirror, err = shadow.New(shadow.Options{
		Queue:      cfg.Shadow.Queue,
		Workers:    cfg.Shadow.Workers,
		Keep:       cfg.Shadow.Keep,
		Timeout:    cfg.Shadow.Timeout,
		Logger:     log,
		Registerer: a.metrics.Registry,
		OnDone: func(j *shadow.Job, o *shadow.Outcome) {
			if a.money != nil { // set before Run starts the workers
				a.money.recordShadow(j, o)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	if a.limiter, err = a.rateLimiter(log); err != nil {
		return nil, err
	}
	if o.Store != nil {
		if err := a.buildMoney(o.Store); err != nil {
			return nil, err
		}
	}
	// What every generation's server shares; buildServer adds the rest.
	a.serverBase = server.Options{
		GuardMetrics: metrics.NewGuard(a.metrics.Registry),
		RateLimiter:  a.limiter,
		Logger:       log,
		Metrics:      a.metrics,

		WriteTimeout:     o.writeTimeout,
		MaxResponseBytes: o.maxResponseBytes,
		Tracer:           a.tracer,
		Finished:         a.stats.Observe,
	}
	g, err := a.buildGeneration(cfg, nil)
	if err != nil {
		return nil, err
	}
	a.gen.Store(g)
	if a.money != nil {
		a.money.spend.Store(g.spend)
	}
	if g.keys.Open() {
		// Validate refused a non-loopback address without keys.
		a.notices = append(a.notices, "no keys configured: accepting requests without a key, on loopback only ("+cfg.Listen+")")
	}
	if o.ConfigPath != "" {
		if st, err := os.Stat(o.ConfigPath); err == nil {
			a.reloads.mtime = st.ModTime()
		}
	}
	a.public = server.NewHTTPServer(http.HandlerFunc(a.serveCurrent))
	a.public.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	if err := a.listenerTLS(log); err != nil {
		return nil, err
	}
	if cfg.Admin.Enabled() {
		a.admin = &http.Server{Handler: a.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
	}
	return a, nil
}

func buildProvider(pc config.Provider, rt http.RoundTripper) (relay.Provider, error) {
	rt, err := upstreamTransport(pc, rt)
	if err != nil {
		return nil, err
	}
	up := provider.Upstream{
		Name:      pc.Name,
		BaseURLs:  pc.BaseURLs,
		NodeNames: pc.NodeNames,
		APIKey:    pc.APIKey,
		Headers:   pc.Headers,
		Timeouts:  pc.Timeouts,
		Transport: rt,
	}
	switch pc.Type {
	case config.TypeAnthropic:
		return anthropicp.New(anthropicp.Options{Upstream: up, Auth: pc.Auth})
	case config.TypeOpenAI:
		return openaicompat.New(openaicompat.Options{Upstream: up, Profile: pc.Profile})
	case config.TypeSimulator:
		return simulator.New(simulator.Options{Name: pc.Name, Config: pc.Simulator})
	}
	return nil, fmt.Errorf("provider %s: unknown type %q", pc.Name, pc.Type)
}

// rateLimiter builds the rate limiter from rate_limits, on the shared Redis
// client when the backend is redis, counting into the metrics.
func (a *App) rateLimiter(log *slog.Logger) (*ratelimit.Limiter, error) {
	rc := a.cfg.RateLimits
	m := a.metrics
	o := ratelimit.Options{
		Config: rc,
		Prefix: a.cfg.Redis.Prefix,
		Logger: log,
		OnStoreError: func(backend, mode string) {
			m.RateLimitStoreErrors.WithLabelValues(backend, mode).Inc()
		},
		OnReject:    func(scope, limit string) { m.RateLimitRejected.WithLabelValues(scope, limit).Inc() },
		OnInstances: func(n int64) { m.RateLimitInstances.Set(float64(n)) },
		// The heartbeat's deadline in Redis: when the client gives up.
		StoreTimeout: a.cfg.Redis.Timeout,
		// Managed keys carry their own limits, and may be created at any
		// time through /admin/keys: the limiter is on for them even with no
		// rules (a request whose key has none skips it at no cost).
		KeyLimits: true,
	}
	if rc.Backend == config.BackendRedis {
		if c := a.redisClient(); c != nil {
			o.Redis = c
		}
	}
	if len(rc.Rules) > 0 {
		a.notices = append(a.notices, fmt.Sprintf("rate limits: %d rules in %s, %s when the store fails", len(rc.Rules), rc.Backend, rc.OnStoreFailure))
	}
	return ratelimit.New(o)
}

// Close releases idle upstream connections. Call it after Run returns.
func (a *App) Close() {
	a.reloads.mu.Lock() // a reload's release may still prune closers
	closers := slices.Clone(a.closers)
	a.reloads.mu.Unlock()
	for _, c := range closers {
		c.CloseIdleConnections()
	}
	if a.limiter != nil {
		a.limiter.Close()
	}
	if a.rdb != nil {
		a.rdb.Close()
	}
	if a.managed != nil {
		a.managed.close()
	}
	a.closeTracer()
}

// Handler is the public API handler (for tests and embedding).
func (a *App) Handler() http.Handler { return http.HandlerFunc(a.serveCurrent) }

// Listen binds the listeners.
func (a *App) Listen() error {
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return err
	}
	a.pubLn = ln
	if a.admin != nil {
		aln, err := net.Listen("tcp", a.cfg.Admin.Listen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("admin listener: %w", err)
		}
		a.adminLn = aln
	}
	return nil
}

// Addr is the public listener's address, once bound.
func (a *App) Addr() string {
	if a.pubLn == nil {
		return ""
	}
	return a.pubLn.Addr().String()
}

// AdminAddr is the admin listener's address, once bound ("" when off).
func (a *App) AdminAddr() string {
	if a.adminLn == nil {
		return ""
	}
	return a.adminLn.Addr().String()
}

// Run binds (if not yet bound) and serves until ctx ends, then drains:
// /readyz turns 503, new connections stop, and in-flight requests get
// shutdown_timeout to finish before their connections are closed.
func (a *App) Run(ctx context.Context) error {
	if a.pubLn == nil {
		if err := a.Listen(); err != nil {
			return err
		}
	}
	for _, n := range a.notices {
		a.log.Info(n)
	}
	a.log.Info("listening", slog.String("addr", a.Addr()), slog.String("admin", a.AdminAddr()))
	defer a.warmTokenizer()()
	// Active health checks run while the gateway serves, and stop before
	// Run returns.
	hctx, stopChecks := context.WithCancel(context.Background())
	a.runChecks(hctx)
	keysDone := make(chan struct{})
	go func() {
		defer close(keysDone)
		a.managed.run(hctx)
	}()
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		a.watchConfig(hctx, configPoll)
	}()
	defer func() {
		stopChecks()
		a.stopChecks()
		<-keysDone
		<-watchDone
	}()
	a.mirror.Start(context.WithoutCancel(ctx))
	if a.money != nil {
		a.money.start(a.log)
	}
	errc := make(chan error, 2)
	go func() { errc <- a.servePublic() }()
	if a.admin != nil {
		go func() { errc <- a.admin.Serve(a.adminLn) }()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	grace := a.current().cfg.ShutdownTimeout // shutdown_timeout reloads
	a.log.Info("shutting down", slog.String("grace", grace.String()))
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	a.drain(sctx)
	// Shadow calls already queued finish within what is left of the grace
	// period; past it they are cancelled and dropped (counted).
	if err := a.mirror.Close(sctx); err != nil {
		a.log.Warn("shadow queue not drained", slog.Any("error", err))
	}
	if a.money != nil {
		// Every request has ended: its ledger row is queued. Written even
		// past the grace period: a row is never lost to SIGTERM.
		a.money.close(context.WithoutCancel(sctx), a.log)
	}
	if a.admin != nil {
		a.admin.Close()
	}
	if errors.Is(runErr, http.ErrServerClosed) {
		runErr = nil
	}
	return runErr
}

// drain ends the public server within ctx: the listener stays up while
// requests in flight finish (/readyz and new API requests answer 503),
// then closes. What still runs when ctx ends is cut: streams get an error
// event, and their connections are closed a moment later.
func (a *App) drain(ctx context.Context) {
	servers := a.servers()
	for _, s := range servers {
		s.Drain()
	}
	if err := waitAll(ctx, servers); err == nil {
		err = a.public.Shutdown(ctx)
		if err == nil {
			return
		}
	}
	a.log.Warn("grace period over: cutting the requests still in flight")
	for _, s := range servers {
		s.Stop()
	}
	// The cut requests write their last words (an error event or a 503)
	// and end; Shutdown closes each connection once its answer is out
	// (closing at once could beat the answer's flush). A client that does
	// not read them does not hold the shutdown past cutGrace.
	wctx, cancel := context.WithTimeout(context.Background(), cutGrace)
	defer cancel()
	if err := a.public.Shutdown(wctx); err != nil {
		a.public.Close()
	}
}

// cutGrace is how long requests cut at the end of the grace period get to
// write their error and end.
const cutGrace = time.Second

// Every provider satisfies the relay's interface.
var (
	_ relay.Provider = (*anthropicp.Provider)(nil)
	_ relay.Provider = (*simulator.Provider)(nil)
	_ relay.Provider = (*openaicompat.Provider)(nil)
	// and can be health-checked (relay.RunHealthChecks skips a provider
	// that cannot: a changed signature would turn checks off silently).
	_ relay.Prober = (*anthropicp.Provider)(nil)
	_ relay.Prober = (*simulator.Provider)(nil)
	_ relay.Prober = (*openaicompat.Provider)(nil)
)
