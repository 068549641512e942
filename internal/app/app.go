// Package app is Ferry's composition root: it builds every component from
// one typed config and owns start and shutdown.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferrygw/ferry/internal/auth"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/console"
	"github.com/ferrygw/ferry/internal/metrics"
	anthropicp "github.com/ferrygw/ferry/internal/provider/anthropic"
	"github.com/ferrygw/ferry/internal/provider/openaicompat"
	"github.com/ferrygw/ferry/internal/provider/simulator"
	"github.com/ferrygw/ferry/internal/ratelimit"
	"github.com/ferrygw/ferry/internal/relay"
	"github.com/ferrygw/ferry/internal/server"
	"github.com/ferrygw/ferry/internal/shadow"
	"github.com/ferrygw/ferry/internal/store"
	"github.com/ferrygw/ferry/internal/usage"
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

	// Store is the durable store for the usage ledger, budgets, alerts and
	// reports (nil: those are off). `ferry serve` opens it from data_dir or
	// store.
	Store *store.Store
}

// App is a built gateway.
type App struct {
	cfg     *config.Config
	log     *slog.Logger
	metrics *metrics.Metrics
	money   *money // nil: no store, no ledger or budgets (usage.go)
	server  *server.Server
	public  *http.Server
	admin   *http.Server
	pubLn   net.Listener
	adminLn net.Listener
	notices []string
	closers []interface{ CloseIdleConnections() }
	rdb     *redis.Client // shared by every Redis-backed component; see redisClient
	limiter *ratelimit.Limiter
	relay   *relay.Relay
	mirror  *shadow.Mirror // shadow traffic: started by Run, drained on shutdown
	managed *managed       // the store and the managed keys (keys.go)
	keys    *auth.Keyring
	stats   *console.Stats // the console's live charts (admin_console.go)
	started time.Time
}

// New builds every component. It refuses an unauthenticated gateway on a
// non-loopback address.
func New(cfg *config.Config, o Options) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = NewLogger(cfg.Log, nil)
	}
	a := &App{cfg: cfg, log: log, metrics: metrics.New(), stats: console.NewStats(nil), started: time.Now()}
	var err error
	if o.Notice != "" {
		a.notices = append(a.notices, o.Notice)
	}
	if a.managed, err = newManaged(context.Background(), cfg, log, o.Store); err != nil {
		return nil, err
	}
	keys, err := a.managed.keyring()
	if err != nil {
		a.managed.close()
		return nil, err
	}
	a.keys = keys
	if keys.Open() {
		// Validate refused a non-loopback address without keys.
		a.notices = append(a.notices, "no keys configured: accepting requests without a key, on loopback only ("+cfg.Listen+")")
	}
	providers := make(map[string]relay.Provider, len(cfg.Providers))
	for _, pc := range cfg.Providers {
		p, err := buildProvider(pc, o.transport)
		if err != nil {
			return nil, err
		}
		providers[pc.Name] = p
		if c, ok := p.(interface{ CloseIdleConnections() }); ok {
			a.closers = append(a.closers, c)
		}
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
	rl, err := relay.New(relay.Options{
		Routes:    cfg.Routes,
		Providers: cfg.Providers,
		Impl:      providers,
		Metrics:   a.metrics,
		Logger:    log,
		Mirror:    a.mirror,

		MaxAnswerBytes: o.maxResponseBytes,
	})
	if err != nil {
		return nil, err
	}
	a.relay = rl
	if a.limiter, err = a.rateLimiter(log); err != nil {
		return nil, err
	}
	respCache, cacheTTL, err := a.buildCache()
	if err != nil {
		return nil, err
	}
	var recorder *usage.Recorder
	if o.Store != nil {
		if err := a.buildMoney(o.Store); err != nil {
			return nil, err
		}
		recorder = a.money.recorder
	}
	a.server, err = server.New(server.Options{
		Relay:           rl,
		Keys:            keys,
		Models:          rl.Models(),
		ModelsCreated:   time.Now(),
		MaxRequestBytes: cfg.Limits.MaxRequestBytes,
		RateLimiter:     a.limiter,
		Cache:           respCache,
		CacheTTL:        cacheTTL,
		Usage:           recorder,
		Logger:          log,
		Metrics:         a.metrics,

		BodyTimeout:      cfg.Limits.BodyTimeout,
		WriteTimeout:     o.writeTimeout,
		MaxResponseBytes: o.maxResponseBytes,
		Finished:         a.stats.Observe,
	})
	if err != nil {
		return nil, err
	}
	a.public = &http.Server{
		Handler:           a.server,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if cfg.Admin.Enabled() {
		a.admin = &http.Server{Handler: a.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
	}
	return a, nil
}

func buildProvider(pc config.Provider, rt http.RoundTripper) (relay.Provider, error) {
	switch pc.Type {
	case config.TypeAnthropic:
		return anthropicp.New(anthropicp.Options{
			Name:      pc.Name,
			BaseURLs:  pc.BaseURLs,
			NodeNames: pc.NodeNames,
			APIKey:    pc.APIKey,
			Auth:      pc.Auth,
			Headers:   pc.Headers,
			Timeouts:  pc.Timeouts,
			Transport: rt,
		})
	case config.TypeOpenAI:
		return openaicompat.New(openaicompat.Options{
			Name:      pc.Name,
			Profile:   pc.Profile,
			BaseURLs:  pc.BaseURLs,
			NodeNames: pc.NodeNames,
			APIKey:    pc.APIKey,
			Headers:   pc.Headers,
			Timeouts:  pc.Timeouts,
			Transport: rt,
		})
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
	for _, c := range a.closers {
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
}

// Handler is the public API handler (for tests and embedding).
func (a *App) Handler() http.Handler { return a.server }

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
	checksDone := make(chan struct{})
	go func() {
		defer close(checksDone)
		a.relay.RunHealthChecks(hctx)
	}()
	keysDone := make(chan struct{})
	go func() {
		defer close(keysDone)
		a.managed.run(hctx)
	}()
	defer func() {
		stopChecks()
		<-checksDone
		<-keysDone
	}()
	a.mirror.Start(context.WithoutCancel(ctx))
	if a.money != nil {
		a.money.start(a.log)
	}
	errc := make(chan error, 2)
	go func() { errc <- a.public.Serve(a.pubLn) }()
	if a.admin != nil {
		go func() { errc <- a.admin.Serve(a.adminLn) }()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.log.Info("shutting down", slog.String("grace", a.cfg.ShutdownTimeout.String()))
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
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
	a.server.Drain()
	if err := a.server.Wait(ctx); err == nil {
		err = a.public.Shutdown(ctx)
		if err == nil {
			return
		}
	}
	a.log.Warn("grace period over: cutting the requests still in flight")
	a.server.Stop()
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

// NewLogger builds the logger the config asks for, writing to w (stderr if nil).
func NewLogger(c config.Log, w io.Writer) *slog.Logger {
	if w == nil {
		w = stderr()
	}
	var lvl slog.Level
	switch strings.ToLower(c.Level) {
	case "debug":
		lvl = slog.LevelDebug
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	}
	ho := &slog.HandlerOptions{Level: lvl}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, ho))
	}
	return slog.New(newJSONLog(w, ho))
}

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
