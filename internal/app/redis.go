package app

import (
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// redisClient returns the app's one Redis client, built from cfg.Redis on
// the first call, or nil when no Redis is configured (redis.addr empty).
// Every component that keeps shared state (rate limits, the cache) uses this
// client, so they share one connection pool; Close closes it.
//
// Building the client does not connect: a Redis that is down at start is
// each component's store failure to handle (rate_limits.on_store_failure),
// not a reason to refuse to start.
//
// Settings, and why:
//   - no retries (MaxRetries -1, DialerRetries 1): a retried command is a
//     hidden extra round trip, and each caller decides for itself what a
//     failed command means (the rate limiter falls back or refuses at once
//     instead of waiting through go-redis's retry backoffs, 5 dials 100 ms
//     apart by default, while Redis is down);
//   - redis.timeout bounds every read and write, redis.dial_timeout each
//     connect, and a caller's context deadline is honoured;
//   - waiting for a free pooled connection is bounded by redis.timeout too:
//     an exhausted pool is a store failure, not a queue;
//   - no CLIENT SETINFO or maintenance-notification handshake on connect:
//     one round trip less per new connection, and Redis 7.0 knows neither.
func (a *App) redisClient() *redis.Client {
	if a.rdb != nil || a.cfg.Redis.Addr == "" {
		return a.rdb
	}
	c := a.cfg.Redis
	a.rdb = redis.NewClient(&redis.Options{
		Addr:                     c.Addr,
		Password:                 c.Password.Reveal(),
		DB:                       c.DB,
		DialTimeout:              c.DialTimeout,
		ReadTimeout:              c.Timeout,
		WriteTimeout:             c.Timeout,
		PoolTimeout:              c.Timeout,
		ContextTimeoutEnabled:    true,
		MaxRetries:               -1,
		DialerRetries:            1,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	return a.rdb
}
