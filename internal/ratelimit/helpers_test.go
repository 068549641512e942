package ratelimit

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// counters records the limiter's callbacks.
type counters struct {
	mu       sync.Mutex
	store    map[string]int // "backend/mode"
	rejected map[string]int // "scope/limit"
}

func newCounters() *counters {
	return &counters{store: map[string]int{}, rejected: map[string]int{}}
}

func (c *counters) onStore(backend, mode string) {
	c.mu.Lock()
	c.store[backend+"/"+mode]++
	c.mu.Unlock()
}

func (c *counters) onReject(scope, limit string) {
	c.mu.Lock()
	c.rejected[scope+"/"+limit]++
	c.mu.Unlock()
}

func (c *counters) storeErrors(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.store[key]
}

func (c *counters) rejections(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rejected[key]
}

// logSink counts log lines by level.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.lines = append(s.lines, string(p))
	s.mu.Unlock()
	return len(p), nil
}

func (s *logSink) count(substr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.lines {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

func newClock() *testkit.Clock {
	return testkit.NewClockAt(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// roundTrips counts the commands a client sends (a pipeline counts once).
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// newTestLimiter builds a limiter on the fake clock: memory when c is nil,
// else Redis (with the fake clock as the store's clock too).
func newTestLimiter(t testing.TB, cfg config.RateLimits, clk *testkit.Clock, c Redis, prefix string, cnt *counters, more ...func(*Options)) *Limiter {
	t.Helper()
	o := Options{Config: cfg, Now: clk.Now, Logger: discardLogger(), Heartbeat: -1}
	for _, f := range more {
		f(&o)
	}
	if cnt != nil {
		o.OnStoreError, o.OnReject = cnt.onStore, cnt.onReject
	}
	if c != nil {
		o.Config.Backend = config.BackendRedis
		o.Redis, o.Prefix, o.StoreClock = c, prefix, clk.Now
	}
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

func newLogger(s *logSink) *slog.Logger { return slog.New(slog.NewTextHandler(s, nil)) }
