package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// NewRedisClient returns a client of addr built as the app builds its own
// (internal/app/redis.go): short timeouts, no retries, no handshake extras.
func NewRedisClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:                     addr,
		DialTimeout:              time.Second,
		ReadTimeout:              time.Second,
		WriteTimeout:             time.Second,
		PoolTimeout:              time.Second,
		ContextTimeoutEnabled:    true,
		MaxRetries:               -1,
		DialerRetries:            1,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

// Redis returns a client of the Redis at [RedisAddr] and a key prefix of
// the test's own ("ferrytest:<test>_<random>:"); the keys under it are
// deleted and the client closed when the test ends. Without Redis the
// test is skipped, or fails when CI=true.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	c := NewRedisClient(RedisAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		unavailable(t, "redis at "+RedisAddr, err)
	}
	prefix := "ferrytest:" + uniqueName(t, 80) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var keys []string
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
		c.Close()
	})
	return c, prefix
}
