package ratelimit

import (
	"context"
	"testing"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

// benchRules: one rule per scope, every limit set, never reached.
var benchRules = []config.RateRule{
	{Scope: "key", RPM: config.MaxRate, TPM: config.MaxRate, Concurrency: config.MaxRate},
	{Scope: "ip", RPM: config.MaxRate, TPM: config.MaxRate, Concurrency: config.MaxRate},
	{Scope: "route", RPM: config.MaxRate, TPM: config.MaxRate, Concurrency: config.MaxRate},
	{Scope: "tag", RPM: config.MaxRate, TPM: config.MaxRate, Concurrency: config.MaxRate},
}

// BenchmarkMemoryAdmit is one decision over four scopes (rpm, tpm and
// concurrency each) in memory, on the real clock.
func BenchmarkMemoryAdmit(b *testing.B) {
	l, err := New(Options{Config: config.RateLimits{Rules: benchRules}, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Admit(ctx, allFour, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryAdmitSettle is a request's whole cost: the decision and
// the settlement.
func BenchmarkMemoryAdmitSettle(b *testing.B) {
	l, err := New(Options{Config: config.RateLimits{Rules: benchRules}, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		tk, err := l.Admit(ctx, allFour, 100)
		if err != nil {
			b.Fatal(err)
		}
		tk.Settle(ctx, 50)
	}
}

// BenchmarkMemoryAdmitParallel shows the one mutex under contention.
func BenchmarkMemoryAdmitParallel(b *testing.B) {
	l, err := New(Options{Config: config.RateLimits{Rules: benchRules}, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tk, err := l.Admit(ctx, allFour, 100)
			if err != nil {
				b.Fatal(err)
			}
			tk.Settle(ctx, 50)
		}
	})
}

// BenchmarkRedisAdmit is one decision over four scopes in the shared Redis
// at 127.0.0.1:6379 (loopback), reporting the round trips per decision.
func BenchmarkRedisAdmit(b *testing.B) {
	c, prefix := testkit.Redis(b)
	rt := &roundTrips{}
	c.AddHook(rt)
	l, err := New(Options{Config: config.RateLimits{Backend: config.BackendRedis, Rules: benchRules}, Redis: c, Prefix: prefix, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	b.ReportAllocs()
	rt.n.Store(0)
	for b.Loop() {
		if _, err := l.Admit(ctx, allFour, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rt.n.Load())/float64(b.N), "roundtrips/op")
}

// BenchmarkRedisAdmitSettle is a request's whole cost in Redis: two round
// trips.
func BenchmarkRedisAdmitSettle(b *testing.B) {
	c, prefix := testkit.Redis(b)
	l, err := New(Options{Config: config.RateLimits{Backend: config.BackendRedis, Rules: benchRules}, Redis: c, Prefix: prefix, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		tk, err := l.Admit(ctx, allFour, 100)
		if err != nil {
			b.Fatal(err)
		}
		tk.Settle(ctx, 50)
	}
}

// BenchmarkRedisPing is one bare round trip to the same Redis, the floor
// under BenchmarkRedisAdmit.
func BenchmarkRedisPing(b *testing.B) {
	c, _ := testkit.Redis(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Ping(ctx).Err(); err != nil {
			b.Fatal(err)
		}
	}
}
