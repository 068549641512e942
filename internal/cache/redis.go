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
