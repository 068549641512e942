package app

import (
	"fmt"
	"reflect"
	"time"

	"github.com/ferrygw/ferry/internal/cache"
	"github.com/ferrygw/ferry/internal/config"
)

// buildCache builds the response cache from cfg.Cache (cacheTTLs gives
// the map of route match to cache ttl the server consults). The cache always exists:
// Idempotency-Key needs it even when no route caches; it costs nothing
// until used. Its Redis store shares the app's one client (redisClient)
// under redis.prefix + "cache:". A reload keeps prev's cache, or
// reconfigures it on the same stores: the entries carry over (the
// backend is restart-only).
func (a *App) buildCache(cfg *config.Config, prev *generation) (*cache.Cache, error) {
	cc := cfg.Cache
	o := cache.Options{
		MaxBytes:       cc.MaxBytes,
		MaxEntryBytes:  cc.MaxEntryBytes,
		Coalesce:       cc.Coalesce,
		DedupWindow:    cc.DedupWindow,
		IdempotencyTTL: cc.IdempotencyTTL,
	}
	if prev != nil {
		if reflect.DeepEqual(prev.cfg.Cache, cc) {
			return prev.cache, nil
		}
		return prev.cache.Reconfigured(o)
	}
	if cc.Backend == config.BackendRedis {
		rdb := a.redisClient()
		if rdb == nil {
			return nil, fmt.Errorf("cache: backend redis needs redis.addr")
		}
		o.Store = cache.NewRedis(rdb, a.cfg.Redis.Prefix+"cache:")
	}
	c, err := cache.New(o)
	if err != nil {
		return nil, err
	}
	n := len(cacheTTLs(cfg.Routes))
	if n > 0 || cc.Coalesce || cc.DedupWindow > 0 {
		a.notices = append(a.notices, fmt.Sprintf("response cache: %d cached routes, %s backend, coalesce %v, dedup window %s", n, cc.Backend, cc.Coalesce, cc.DedupWindow))
	}
	return c, nil
}

// cacheTTLs maps each cached route's match to its ttl.
func cacheTTLs(routes []config.Route) map[string]time.Duration {
	ttl := make(map[string]time.Duration)
	for _, r := range routes {
		if r.Cache.TTL > 0 {
			ttl[r.Match] = r.Cache.TTL
		}
	}
	return ttl
}
