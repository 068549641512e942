package auth

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// MemoryReplays remembers signatures in this process.
type MemoryReplays struct {
	mu    sync.Mutex
	seen  map[string]time.Time // key -> when it may be forgotten
	prune int                  // size at which expired entries are swept
	now   func() time.Time
}

// NewMemoryReplays builds a MemoryReplays on a clock (time.Now if nil).
func NewMemoryReplays(now func() time.Time) *MemoryReplays {
	if now == nil {
		now = time.Now
	}
	return &MemoryReplays{seen: map[string]time.Time{}, prune: 1024, now: now}
}

// FirstUse implements Replays.
func (m *MemoryReplays) FirstUse(_ context.Context, key string, ttl time.Duration) (bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if until, ok := m.seen[key]; ok && now.Before(until) {
		return false, nil
	}
	if len(m.seen) >= m.prune {
		for k, until := range m.seen {
			if !now.Before(until) {
				delete(m.seen, k)
			}
		}
		m.prune = max(1024, 2*len(m.seen))
	}
	m.seen[key] = now.Add(ttl)
	return true, nil
}

// RedisReplays remembers signatures in Redis, so a signature used on one
// instance is refused on every other (SET NX with the ttl). When Redis
// fails, the instance's own memory still refuses replays to it: a Redis
// outage does not take signed traffic down.
type RedisReplays struct {
	rdb    redis.Cmdable
	prefix string
	local  *MemoryReplays
}

// NewRedisReplays builds a RedisReplays whose keys start with prefix.
func NewRedisReplays(rdb redis.Cmdable, prefix string, now func() time.Time) *RedisReplays {
	return &RedisReplays{rdb: rdb, prefix: prefix, local: NewMemoryReplays(now)}
}

// FirstUse implements Replays.
func (r *RedisReplays) FirstUse(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	localFirst, _ := r.local.FirstUse(ctx, key, ttl)
	ok, err := r.rdb.SetNX(ctx, r.prefix+key, 1, ttl).Result()
	if err != nil {
		return localFirst, nil
	}
	return ok && localFirst, nil
}
