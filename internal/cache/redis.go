package cache

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisClient is the part of a go-redis client the Redis store uses;
// *redis.Client satisfies it.
type RedisClient interface {
	Get(ctx context.Context, key string) *redis.StringCmd
	Set(ctx context.Context, key string, value any, expiration time.Duration) *redis.StatusCmd
	SetNX(ctx context.Context, key string, value any, expiration time.Duration) *redis.BoolCmd
	Del(ctx context.Context, keys ...string) *redis.IntCmd
	Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd
}

// Redis is a Store in Redis, shared by every instance that uses the same
// Redis and prefix. Entries expire by Redis's own TTL (SET ... PX), so
// Redis's maxmemory policy, not Ferry, bounds its size.
type Redis struct {
	c      RedisClient
	prefix string
}

// NewRedis returns a Redis store whose keys all start with prefix (for
// Ferry: redis.prefix followed by "cache:").
func NewRedis(c RedisClient, prefix string) *Redis {
	return &Redis{c: c, prefix: prefix}
}

// Get returns the value under key, or ErrNotFound.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := r.c.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	return b, err
}

// Set stores val under key for ttl.
func (r *Redis) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	return r.c.Set(ctx, r.prefix+key, val, ttl).Err()
}

// SetNX stores val under key for ttl unless the key exists.
func (r *Redis) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	return r.c.SetNX(ctx, r.prefix+key, val, ttl).Result()
}

// Del removes key.
func (r *Redis) Del(ctx context.Context, key string) error {
	return r.c.Del(ctx, r.prefix+key).Err()
}

// swapScript is Swap in one atomic step: compare, then set or delete.
const swapScript = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1`

// Swap replaces (or, with val nil, removes) key's value if it is old.
func (r *Redis) Swap(ctx context.Context, key string, old, val []byte, ttl time.Duration) (bool, error) {
	n, err := r.c.Eval(ctx, swapScript, []string{r.prefix + key}, old, val, max(ttl.Milliseconds(), 1)).Int()
	return n == 1, err
}
