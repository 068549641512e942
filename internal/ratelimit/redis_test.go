package ratelimit

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

var fourScopes = []config.RateRule{
	{Scope: "key", RPM: 1000, TPM: 1_000_000, Concurrency: 100},
	{Scope: "ip", RPM: 1000, TPM: 1_000_000},
	{Scope: "route", RPM: 1000, TPM: 1_000_000},
	{Scope: "tag", RPM: 1000, Concurrency: 100},
}

var allFour = Subject{Key: "team-a", IP: "192.0.2.1", Route: "claude-*", Tag: "batch"}

func TestRedisOneRoundTrip(t *testing.T) {
	c, prefix := testkit.Redis(t)
	rt := &roundTrips{}
	c.AddHook(rt)
	l := newTestLimiter(t, config.RateLimits{Rules: fourScopes}, newClock(), c, prefix, nil)
	ctx := context.Background()
	for i := range 3 {
		before := rt.n.Load()
		tk, err := l.Admit(ctx, allFour, 500)
		if err != nil {
			t.Fatal(err)
		}
		if n := rt.n.Load() - before; n != 1 {
			t.Errorf("admit %d: %d round trips, want 1", i, n)
		}
		before = rt.n.Load()
		tk.Settle(ctx, 100)
		if n := rt.n.Load() - before; n != 1 {
			t.Errorf("settle %d: %d round trips, want 1", i, n)
		}
	}
	// Nothing to settle (no concurrency, usage as reserved): no round trip.
	l2 := newTestLimiter(t, config.RateLimits{Rules: []config.RateRule{{Scope: "ip", RPM: 10, TPM: 1000}}}, newClock(), c, prefix, nil)
	tk, err := l2.Admit(ctx, ip1, 50)
	if err != nil {
		t.Fatal(err)
	}
	before := rt.n.Load()
	tk.Settle(ctx, 50)
	if n := rt.n.Load() - before; n != 0 {
		t.Errorf("settle without changes: %d round trips, want 0", n)
	}
}

func TestRedisNoScript(t *testing.T) {
	c, prefix := testkit.Redis(t)
	rt := &roundTrips{}
	c.AddHook(rt)
	ctx := context.Background()
	// A script the server does not know (as after SCRIPT FLUSH or a
	// failover): EVALSHA answers NOSCRIPT, and one EVAL runs and loads it.
	s := newScript("return {KEYS[1], ARGV[1]} -- " + prefix)
	got, err := s.run(ctx, c, []string{prefix + "k"}, []any{"v"}).StringSlice()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != prefix+"k,v" {
		t.Errorf("result %q", got)
	}
	if n := rt.n.Load(); n != 2 {
		t.Errorf("%d round trips, want 2 (EVALSHA, EVAL)", n)
	}
	ok, err := c.ScriptExists(ctx, s.sha).Result()
	if err != nil || !ok[0] {
		t.Fatalf("the script is not loaded after EVAL: %v %v", ok, err)
	}
	before := rt.n.Load()
	if err := s.run(ctx, c, []string{prefix + "k"}, []any{"v"}).Err(); err != nil {
		t.Fatal(err)
	}
	if n := rt.n.Load() - before; n != 1 {
		t.Errorf("%d round trips once loaded, want 1", n)
	}
}

func TestRedisKeysExpire(t *testing.T) {
	c, prefix := testkit.Redis(t)
	clk := newClock()
	cfg := config.RateLimits{Rules: []config.RateRule{{Scope: "key", RPM: 60, TPM: 1000, Concurrency: 5, Burst: true}}}
	l := newTestLimiter(t, cfg, clk, c, prefix, nil)
	ctx := context.Background()
	tk, err := l.Admit(ctx, keyA, 500)
	if err != nil {
		t.Fatal(err)
	}
	// Tokens: 500 of 1000 used, full again in 30 s; requests in 1 s. The
	// key lives as long as the slower bucket, plus a second.
	ttl, err := c.PTTL(ctx, prefix+"rl:b:key:a").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl > 31*time.Second || ttl < 30*time.Second {
		t.Errorf("bucket TTL %v, want 31s", ttl)
	}
	ttl, err = c.PTTL(ctx, prefix+"rl:c:key:a").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl > 61*time.Second || ttl < 60*time.Second {
		t.Errorf("lease set TTL %v, want 61s", ttl)
	}
	tk.Settle(ctx, 0) // everything back: full in 1 s (the request)
	ttl, _ = c.PTTL(ctx, prefix+"rl:b:key:a").Result()
	if ttl > 2*time.Second || ttl < time.Second {
		t.Errorf("bucket TTL after the refund %v, want 2s", ttl)
	}
	if n, _ := c.ZCard(ctx, prefix+"rl:c:key:a").Result(); n != 0 {
		t.Errorf("%d leases after settle, want 0", n)
	}
}

func TestRedisWindowKeysExpire(t *testing.T) {
	c, prefix := testkit.Redis(t)
	clk := newClock()
	cfg := config.RateLimits{Rules: []config.RateRule{{Scope: "key", RPM: 60, TPM: 1000}}}
	l := newTestLimiter(t, cfg, clk, c, prefix, nil)
	ctx := context.Background()
	tk, err := l.Admit(ctx, keyA, 500)
	if err != nil {
		t.Fatal(err)
	}
	// A window holds what it took for 61 slots: the key lives that long,
	// plus a second, whatever is refunded.
	clk.Advance(10 * time.Second)
	tk.Settle(ctx, 0)
	ttl, err := c.PTTL(ctx, prefix+"rl:w:key:a").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl > 52*time.Second || ttl < 51*time.Second {
		t.Errorf("window TTL %v, want 52s (the request's slot, given back 61 s after it was taken)", ttl)
	}
	v, _ := c.Get(ctx, prefix+"rl:w:key:a").Result()
	if v != "1795176000,1|" {
		t.Errorf("window key %q, want the request in its slot and no tokens (all refunded)", v)
	}
}

func TestRedisSharedByInstances(t *testing.T) {
	c, prefix := testkit.Redis(t)
	clk := newClock()
	cfg := config.RateLimits{Rules: []config.RateRule{{Scope: "key", RPM: 2}}}
	l1 := newTestLimiter(t, cfg, clk, c, prefix, nil)
	l2 := newTestLimiter(t, cfg, clk, c, prefix, nil)
	ctx := context.Background()
	for i, l := range []*Limiter{l1, l2} {
		if _, err := l.Admit(ctx, keyA, 0); err != nil {
			t.Fatalf("instance %d: %v", i+1, err)
		}
	}
	if _, err := l1.Admit(ctx, keyA, 0); apierr.From(err).Kind != apierr.RateLimit {
		t.Errorf("third request across two instances: %v, want rate_limit", err)
	}
}

func TestRedisLeaseOfACrashedInstanceExpires(t *testing.T) {
	c, prefix := testkit.Redis(t)
	clk := newClock()
	cfg := config.RateLimits{Rules: []config.RateRule{{Scope: "key", Concurrency: 1}}}
	crashed := newTestLimiter(t, cfg, clk, c, prefix, nil)
	other := newTestLimiter(t, cfg, clk, c, prefix, nil)
	ctx := context.Background()
	if _, err := crashed.Admit(ctx, keyA, 0); err != nil { // never settled
		t.Fatal(err)
	}
	clk.Advance(time.Minute - time.Millisecond) // the lease's last millisecond
	if _, err := other.Admit(ctx, keyA, 0); apierr.From(err).Kind != apierr.RateLimit {
		t.Fatalf("slot free before its lease expired: %v", err)
	}
	clk.Advance(time.Millisecond)
	tk, err := other.Admit(ctx, keyA, 0)
	if err != nil {
		t.Fatalf("slot still taken after its lease expired: %v", err)
	}
	tk.Settle(ctx, 0)
}

func TestRedisLeaseRenewed(t *testing.T) {
	c, prefix := testkit.Redis(t)
	clk := newClock()
	cfg := config.RateLimits{Rules: []config.RateRule{{Scope: "key", Concurrency: 1}}}
	owner := newTestLimiter(t, cfg, clk, c, prefix, nil)
	other := newTestLimiter(t, cfg, clk, c, prefix, nil)
	ctx := context.Background()
	tk, err := owner.Admit(ctx, keyA, 0)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(40 * time.Second)
	if err := owner.red.renew(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(40 * time.Second) // 80 s after admission, 40 s after renewal
	if _, err := other.Admit(ctx, keyA, 0); apierr.From(err).Kind != apierr.RateLimit {
		t.Fatalf("renewed slot taken by another instance: %v", err)
	}
	tk.Settle(ctx, 0)
	if n := len(owner.red.live); n != 0 {
		t.Errorf("%d leases still renewed after settle", n)
	}
	tk2, err := other.Admit(ctx, keyA, 0)
	if err != nil {
		t.Fatalf("slot not released by settle: %v", err)
	}
	tk2.Settle(ctx, 0)
}

// TestParityRandom drives both stores with the same random sequence and
// requires identical answers at every step.
func TestParityRandom(t *testing.T) {
	c, prefix := testkit.Redis(t)
	rules := []config.RateRule{
		{Scope: "key", RPM: 7, TPM: 997, Concurrency: 3},
		{Scope: "key", Match: "b", RPM: 13, Burst: true},
		{Scope: "ip", TPM: 331},
		{Scope: "tag", RPM: 5, Concurrency: 2, Burst: true},
	}
	subjects := []Subject{
		{Key: "a", IP: "192.0.2.1"},
		{Key: "b", IP: "192.0.2.1", Tag: "x"},
		{Key: "a", IP: "192.0.2.2", Tag: "x"},
		{IP: "192.0.2.2"},
	}
	clkM, clkR := newClock(), newClock()
	mem := newTestLimiter(t, config.RateLimits{Rules: rules}, clkM, nil, "", nil)
	red := newTestLimiter(t, config.RateLimits{Rules: rules}, clkR, c, prefix, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	type pair struct{ m, r *Ticket }
	var open []pair
	for i := range 2000 {
		d := time.Duration(rng.IntN(3000)) * time.Millisecond
		clkM.Advance(d)
		clkR.Advance(d)
		if len(open) > 0 && rng.IntN(3) == 0 {
			k := rng.IntN(len(open))
			actual := rng.Int64N(400)
			open[k].m.Settle(ctx, actual)
			open[k].r.Settle(ctx, actual)
			open = append(open[:k], open[k+1:]...)
			continue
		}
		s := subjects[rng.IntN(len(subjects))]
		est := rng.Int64N(300)
		tm, errM := mem.Admit(ctx, s, est)
		tr, errR := red.Admit(ctx, s, est)
		gm, gr := describe(clkM.Now(), &tm, errM), describe(clkR.Now(), &tr, errR)
		if gm != gr {
			t.Fatalf("step %d: memory %q, redis %q", i, gm, gr)
		}
		if errM == nil {
			open = append(open, pair{&tm, &tr})
		}
	}
	for _, p := range open {
		p.m.Settle(ctx, 0)
		p.r.Settle(ctx, 0)
	}
}

// flaky is a Redis that can be made to fail.
type flaky struct {
	Redis
	down  atomic.Bool
	calls atomic.Int64
}

var errDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

func (f *flaky) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	f.calls.Add(1)
	if f.down.Load() {
		cmd := redis.NewCmd(ctx)
		cmd.SetErr(errDown)
		return cmd
	}
	return f.Redis.EvalSha(ctx, sha, keys, args...)
}

func TestStoreFailOpen(t *testing.T) {
	c, prefix := testkit.Redis(t)
	f := &flaky{Redis: c}
	clk := newClock()
	cnt := newCounters()
	logs := &logSink{}
	l, err := New(Options{
		Config:       config.RateLimits{Backend: config.BackendRedis, OnStoreFailure: config.FailOpen, Rules: []config.RateRule{{Scope: "key", RPM: 3, Concurrency: 10}}},
		Redis:        f,
		Prefix:       prefix,
		Now:          clk.Now,
		StoreClock:   clk.Now,
		Logger:       newLogger(logs),
		OnStoreError: cnt.onStore,
		OnReject:     cnt.onReject,
		Heartbeat:    -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()

	// Redis takes one request, then goes away.
	shared, err := l.Admit(ctx, keyA, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.down.Store(true)
	// The fallback starts from what Redis said (one request taken), not
	// from a fresh full limit.
	var held []Ticket
	for i := range 2 {
		tk, err := l.Admit(ctx, keyA, 0)
		if err != nil {
			t.Fatalf("fallback admit %d: %v", i, err)
		}
		if q, ok := tk.Requests(); !ok || q.Remaining != int64(1-i) {
			t.Errorf("fallback admit %d: requests quota %+v, want %d remaining (counted in memory from Redis's last state)", i, q, 1-i)
		}
		held = append(held, tk)
	}
	// The memory fallback holds the same limits.
	if _, err := l.Admit(ctx, keyA, 0); apierr.From(err).Kind != apierr.RateLimit {
		t.Errorf("third fallback request: %v, want rate_limit from the memory fallback", err)
	}
	if n := cnt.storeErrors("redis/fail_open"); n != 3 {
		t.Errorf("store errors counted: %d, want 3", n)
	}
	// Redis was asked once; the rest of the burst left it alone.
	if n := f.calls.Load(); n != 2 {
		t.Errorf("Redis calls: %d, want 2 (the admission, the failure)", n)
	}
	if n := logs.count("rate limit store failed"); n != 1 {
		t.Errorf("%d warnings for one burst, want 1", n)
	}
	// A settlement that fails is counted too; one in memory is not.
	shared.Settle(ctx, 0)
	if n := cnt.storeErrors("redis/fail_open"); n != 4 {
		t.Errorf("store errors after a failed settle: %d, want 4", n)
	}
	for i := range held {
		held[i].Settle(ctx, 0)
	}
	if n := cnt.storeErrors("redis/fail_open"); n != 4 {
		t.Errorf("memory settlements counted as store errors: %d", n)
	}

	// Later failures log again, with how many were not logged.
	clk.Advance(logEvery)
	if _, err := l.Admit(ctx, Subject{Key: "b"}, 0); err != nil {
		t.Fatal(err)
	}
	if n := logs.count("failures_not_logged=3"); n != 1 {
		t.Errorf("second warning missing or without the count: %q", logs.lines)
	}
	// Until a heartbeat reaches Redis, decisions stay in memory.
	f.down.Store(false)
	calls := f.calls.Load()
	if _, err := l.Admit(ctx, Subject{Key: "c"}, 0); err != nil || f.calls.Load() != calls {
		t.Fatalf("before the heartbeat: %v, %d calls; want a decision in memory", err, f.calls.Load()-calls)
	}
	// Redis is back: the heartbeat hands it the outage's admissions (two
	// for key a), and the next decision is Redis's, which counts them.
	_, err = l.red.beat(ctx, true)
	l.beaten(err, true)
	tk, err := l.Admit(ctx, keyA, 0)
	if apierr.From(err).Kind != apierr.RateLimit {
		t.Fatalf("after recovery: %v, want Redis's refusal (1 + the outage's 2 of 3 taken)", err)
	}
	if q, _ := tk.Requests(); q.Remaining != 0 {
		t.Errorf("after recovery: %d remaining, want 0 (Redis's count)", q.Remaining)
	}
	if n := logs.count("answering again"); n != 1 {
		t.Errorf("recovery logged %d times, want 1", n)
	}
}

func TestStoreFailClosed(t *testing.T) {
	clk := newClock()
	cnt := newCounters()
	// A real client to a port nothing listens on.
	c := testkit.NewRedisClient("127.0.0.1:1")
	defer c.Close()
	l, err := New(Options{
		Config:       config.RateLimits{Backend: config.BackendRedis, OnStoreFailure: config.FailClosed, Rules: []config.RateRule{{Scope: "key", RPM: 3}}},
		Redis:        c,
		Now:          clk.Now,
		Logger:       discardLogger(),
		OnStoreError: cnt.onStore,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 2 {
		tk, err := l.Admit(context.Background(), keyA, 0)
		var e *apierr.Error
		if !errors.As(err, &e) || e.Kind != apierr.Unavailable || e.Public != "rate limit store unavailable" || e.RetryAfter != time.Second {
			t.Fatalf("admit %d: %#v, want 503 rate limit store unavailable, retry in 1s", i, err)
		}
		if _, ok := tk.Requests(); ok {
			t.Error("a refusal without a decision reports a quota")
		}
	}
	if n := cnt.storeErrors("redis/fail_closed"); n != 2 {
		t.Errorf("store errors counted: %d, want 2", n)
	}
}

func TestClientGoneIsNotAStoreFailure(t *testing.T) {
	c, prefix := testkit.Redis(t)
	cnt := newCounters()
	l := newTestLimiter(t, config.RateLimits{Rules: []config.RateRule{{Scope: "key", RPM: 3}}}, newClock(), c, prefix, cnt)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := l.Admit(ctx, keyA, 0)
	if err == nil {
		t.Fatal("admitted with a cancelled context")
	}
	if n := cnt.storeErrors("redis/fail_open"); n != 0 {
		t.Errorf("a client's cancel counted as %d store errors", n)
	}
}

func TestRenewalFailureCounted(t *testing.T) {
	c, prefix := testkit.Redis(t)
	f := &flaky{Redis: c}
	clk := newClock()
	cnt := newCounters()
	l := newTestLimiter(t, config.RateLimits{OnStoreFailure: config.FailClosed, Rules: []config.RateRule{{Scope: "key", Concurrency: 2}}}, clk, f, prefix, cnt)
	ctx := context.Background()
	tk, err := l.Admit(ctx, keyA, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tk.Settle(ctx, 0)
	f.down.Store(true)
	defer f.down.Store(false)
	err = l.red.renew(ctx)
	if !errors.Is(err, errDown) {
		t.Fatalf("renew: %v, want the store's error", err)
	}
	l.storeError(err) // what the renewal loop does with it
	if n := cnt.storeErrors("redis/fail_closed"); n != 1 {
		t.Errorf("store errors: %d, want 1", n)
	}
}
