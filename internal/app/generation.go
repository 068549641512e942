package app

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/ferrygw/ferry/internal/auth"
	"github.com/ferrygw/ferry/internal/cache"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/metrics"
	"github.com/ferrygw/ferry/internal/relay"
	"github.com/ferrygw/ferry/internal/server"
)

// generation is one config's request path: everything a reload may
// change, built from the config section by section on the components that
// outlive reloads (reload.go says which sections need a restart).
type generation struct {
	cfg    *config.Config
	loaded time.Time                 // when it was built: GET /admin/config's loaded_at
	relay  *relay.Relay              // routes and providers
	server *server.Server            // the API in front of the relay
	impl   map[string]relay.Provider // providers by name, reused when unchanged
	keys   *auth.Keyring             // keys and admin_key, over the managed keys
	guards *guardSet                 // guard (nil: no guardrails configured)
	cache  *cache.Cache              // cache settings, on the stores that outlive reloads
	spend  *spending                 // usage prices, budgets and rate alerts (nil: no store)
	hmac   *auth.HMAC                // hmac keys (nil: none), on the one replay memory

	stopChecks func() // ends this generation's health checks and word-file watches (nil: none running)

	// replaced are the providers of this generation that the reload which
	// retired it replaced or removed: their idle connections are closed
	// when the generation is released.
	replaced []relay.Provider
}

// buildGeneration builds the request path for cfg on the components that
// outlive reloads, reusing prev's unchanged providers, pools, cache and
// spending (nil prev: the first generation).
func (a *App) buildGeneration(cfg *config.Config, prev *generation) (_ *generation, err error) {
	g := &generation{cfg: cfg, loaded: time.Now()}
	if g.impl, err = a.buildProviders(cfg, prev); err != nil {
		return nil, err
	}
	if g.relay, err = a.buildRelay(cfg, g.impl, prev); err != nil {
		return nil, err
	}
	if g.keys, err = a.managed.keyring(cfg); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if g.guards, err = reuseGuards(cfg, prev); err != nil {
		return nil, err
	}
	if g.cache, err = a.buildCache(cfg, prev); err != nil {
		return nil, err
	}
	if g.spend, err = a.buildSpending(cfg, prev); err != nil {
		return nil, err
	}
	if g.hmac, err = a.hmac(cfg); err != nil {
		return nil, err
	}
	if g.server, err = a.buildServer(g); err != nil {
		return nil, err
	}
	return g, nil
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

// buildRelay builds cfg's routes on impl, carrying prev's pools and canary
// state over.
func (a *App) buildRelay(cfg *config.Config, impl map[string]relay.Provider, prev *generation) (*relay.Relay, error) {
	var prevRelay *relay.Relay
	if prev != nil {
		prevRelay = prev.relay
	}
	return relay.New(relay.Options{
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
}

// buildServer builds the public API server of g on the server options that
// outlive reloads (serverBase): g's relay, keys, guards, cache, spending
// and signed requests, and cfg's limits, base path and metric tags.
func (a *App) buildServer(g *generation) (*server.Server, error) {
	cfg := g.cfg
	o := a.serverBase
	o.Relay = g.relay
	o.Models = g.relay.Models()
	o.ModelsCreated = time.Now()
	o.Keys = g.keys
	if g.guards != nil { // not a typed nil in the interface
		o.Guards = g.guards
	}
	o.Cache = g.cache
	o.CacheTTL = cacheTTLs(cfg.Routes)
	o.Usage = g.spend.usageRecorder()
	o.HMAC = g.hmac
	o.MaxRequestBytes = cfg.Limits.MaxRequestBytes
	o.BodyTimeout = cfg.Limits.BodyTimeout
	o.BasePath = cfg.BasePath
	o.TagHeader = cfg.RateLimits.TagHeader
	o.Tags = metrics.NewLabels(cfg.Metrics.Tags)
	return server.New(o)
}

// startChecks runs g's active health checks and word-file watches until
// its stopChecks.
func (a *App) startChecks(g *generation) {
	ctx, cancel := context.WithCancel(a.reloads.checks)
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		g.relay.RunHealthChecks(ctx)
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		if g.guards != nil {
			g.guards.watch(ctx, a.log)
		}
	}()
	g.stopChecks = func() { cancel(); <-done; <-done }
}

// closeIdle closes p's idle upstream connections, if it keeps any.
func closeIdle(p relay.Provider) {
	if c, ok := p.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// pruneClosers drops the providers of ps from the app's closers.
func (a *App) pruneClosers(ps []relay.Provider) {
	for _, p := range ps {
		closeIdle(p)
		a.closers = slices.DeleteFunc(a.closers, func(c interface{ CloseIdleConnections() }) bool {
			cp, ok := c.(relay.Provider)
			return ok && cp == p
		})
	}
}
