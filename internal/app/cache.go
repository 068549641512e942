package app

import (
	"fmt"
	"time"

	"github.com/ferrygw/ferry/internal/cache"
	"github.com/ferrygw/ferry/internal/config"
)

// buildCache builds the response cache from cfg.Cache (cacheTTLs gives
// the map of route match to cache ttl the server consults). The cache always exists:
// Idempotency-Key needs it even when no route caches; it costs nothing
// until used. Its Redis store shares the app's one client (redisClient)
// under redis.prefix + "cache:".
func (a *App) buildCache() (*cache.Cache, error) {
	cc := a.cfg.Cache
	o := cache.Options{
		MaxBytes:       cc.MaxBytes,
		MaxEntryBytes:  cc.MaxEntryBytes,
		Coalesce:       cc.Coalesce,
		DedupWindow:    cc.DedupWindow,
		IdempotencyTTL: cc.IdempotencyTTL,
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
	n := len(cacheTTLs(a.cfg.Routes))
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
