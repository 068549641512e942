package ratelimit

import (
	"context"
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferrygw/ferry/internal/ids"
)

// Redis is what the limiter needs of a Redis client; *redis.Client has it.
type Redis interface {
	EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd
	Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd
}

// The scripts: bucket.lua's arithmetic, then each script's own part.
var (
	//go:embed bucket.lua
	bucketLua string
	//go:embed window.lua
	windowLua string
	//go:embed admit.lua
	admitLua string
	//go:embed settle.lua
	settleLua string
	//go:embed renew.lua
	renewLua string
	//go:embed live.lua
	liveLua string
)

// script is a Lua script run by its SHA-1 (EVALSHA: the source is not sent
// each time); after a SCRIPT FLUSH or a failover to a server that never saw
// it, the NOSCRIPT answer costs one EVAL, which loads it again.
type script struct{ src, sha string }

func newScript(src string) script {
	h := sha1.Sum([]byte(src))
	return script{src: src, sha: hex.EncodeToString(h[:])}
}

func (s script) run(ctx context.Context, c Redis, keys []string, args []any) *redis.Cmd {
	cmd := c.EvalSha(ctx, s.sha, keys, args...)
	if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		cmd = c.Eval(ctx, s.src, keys, args...)
	}
	return cmd
}

// renewBatch is the most leases renewed in one script call.
const renewBatch = 256

// redisStore decides in Redis, shared by every instance.
type redisStore struct {
	c      Redis
	prefix string // redis.prefix + "rl:"
	lease  time.Duration
	clock  func() time.Time // tests; nil: Redis's clock
	l      *Limiter

	admitS, settleS, renewS, liveS script

	idBase string // random, so that request ids are unique across instances
	ids    atomic.Uint64

	mu      sync.Mutex
	live    map[string][]string // request id -> its lease sets, while it runs
	started bool
	closed  bool
	stop    chan struct{}
	done    chan struct{}

	// The heartbeat (outage.go).
	liveKey     string // the instance registry
	backKey     string // the outage mark
	beatEvery   time.Duration
	instances   atomic.Int64  // live instances last counted; 0: never
	timeout     time.Duration // the store client's per-command timeout
	skew        atomic.Int64  // the store's clock less this instance's, ms, from below (learnClock)
	beatStarted atomic.Bool
	beatDone    chan struct{}
}

func newRedisStore(c Redis, prefix string, lease, beat, timeout time.Duration, clock func() time.Time, l *Limiter) *redisStore {
	r := &redisStore{
		c: c, prefix: prefix, lease: lease, clock: clock, l: l,
		admitS:  newScript(bucketLua + windowLua + admitLua),
		settleS: newScript(bucketLua + windowLua + settleLua),
		renewS:  newScript(bucketLua + renewLua),
		liveS:   newScript(bucketLua + windowLua + liveLua),
		idBase:  ids.New("") + ":",
		live:    make(map[string][]string),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),

		liveKey:   prefix + "live",
		backKey:   prefix + "back",
		beatEvery: beat,
		timeout:   timeout,
		beatDone:  make(chan struct{}),
	}
	r.skew.Store(skewUnknown)
	return r
}

func (r *redisStore) bucketKey(a applied) string {
	kind := "w:" // sliding windows
	if a.rule.burst {
		kind = "b:" // token buckets
	}
	return r.prefix + kind + scopeNames[a.rule.scope] + ":" + a.value
}

// burstArg is a rule's burst flag as the scripts take it.
func burstArg(r *rule) int {
	if r.burst {
		return 1
	}
	return 0
}

func (r *redisStore) leaseKey(a applied) string {
	return r.prefix + "c:" + scopeNames[a.rule.scope] + ":" + a.value
}

// nowArg is the clock argument of the scripts.
func (r *redisStore) nowArg() int64 {
	if r.clock == nil {
		return -1
	}
	return r.clock().UnixMilli()
}

// admit runs admit.lua for t: one round trip.
func (r *redisStore) admit(ctx context.Context, t *Ticket) (denial, error) {
	keys := make([]string, 0, 2*t.n+2)
	args := make([]any, 4, 6+4*t.n)
	var leases []string
	for i := 0; i < t.n; i++ {
		a := t.scopes[i]
		keys = append(keys, r.bucketKey(a), r.leaseKey(a))
		args = append(args, a.rule.rpm, a.rule.tpm, a.rule.conc, burstArg(a.rule))
		if a.rule.conc > 0 {
			leases = append(leases, keys[len(keys)-1])
		}
	}
	keys = append(keys, r.backKey, r.liveKey)
	id := ""
	if leases != nil {
		id = r.idBase + strconv.FormatUint(r.ids.Add(1), 36)
	}
	args[0], args[1], args[2], args[3] = r.nowArg(), r.lease.Milliseconds(), id, t.est
	args = append(args, r.deadline(ctx), r.idBase)
	res, err := r.admitS.run(ctx, r.c, keys, args).Int64Slice()
	if err != nil {
		return denial{}, fmt.Errorf("admit: %w", err)
	}
	if len(res) == 2 && res[0] == -1 {
		// Run after its deadline: nothing taken (outage.go).
		r.learnClock(res[1])
		return denial{}, fmt.Errorf("admit: %w", errLate)
	}
	if len(res) != 7+5*t.n {
		return denial{}, fmt.Errorf("admit: the script answered %d values, want %d", len(res), 7+5*t.n)
	}
	t.now = res[1]
	for i := 0; i < t.n; i++ {
		rl, v := t.scopes[i].rule, res[5+5*i:10+5*i]
		if rl.rpm > 0 {
			t.recordSeen(storeSeen(v[0], rl.rpm, v[3]), false)
		}
		if rl.tpm > 0 {
			t.recordSeen(storeSeen(v[1], rl.tpm, v[4]), true)
		}
	}
	r.l.mirror(t, res[5:5+5*t.n], mark{back: res[5+5*t.n], live: res[6+5*t.n]})
	if res[0] == 1 {
		t.st, t.id = inRedis, id
		if leases != nil {
			r.hold(id, leases)
		}
		return denial{}, nil
	}
	s := int(res[2]) - 1
	if s < 0 || s >= t.n || res[3] < 1 || res[3] > 3 || res[4] <= 0 {
		return denial{}, fmt.Errorf("admit: the script refused without a reason (%v)", res[:5])
	}
	return denial{scope: s, limit: [...]string{LimitRPM, LimitTPM, LimitConcurrency}[res[3]-1], wait: res[4]}, nil
}

// settle ends t's request with settle.lua, one round trip, or none when there is
// nothing to change.
func (r *redisStore) settle(ctx context.Context, t *Ticket, actual int64) error {
	delta := actual - t.est
	needed := false
	for i := 0; i < t.n; i++ {
		rl := t.scopes[i].rule
		needed = needed || rl.conc > 0 || (rl.tpm > 0 && delta != 0)
	}
	if t.id != "" {
		r.release(t.id)
	}
	if !needed {
		return nil
	}
	keys := make([]string, 0, 2*t.n)
	args := make([]any, 5, 5+4*t.n)
	args[0], args[1], args[2], args[3], args[4] = r.nowArg(), t.id, delta, t.est, t.now
	for i := 0; i < t.n; i++ {
		a := t.scopes[i]
		keys = append(keys, r.bucketKey(a), r.leaseKey(a))
		args = append(args, a.rule.rpm, a.rule.tpm, a.rule.conc, burstArg(a.rule))
	}
	if err := r.settleS.run(ctx, r.c, keys, args).Err(); err != nil {
		return fmt.Errorf("settle: %w", err)
	}
	return nil
}

// hold records a running request's leases for renewal, starting the
// renewal loop on first use.
func (r *redisStore) hold(id string, leases []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live[id] = leases
	if !r.started && !r.closed {
		r.started = true
		go r.repeat(r.done, r.lease/3, r.lease/3, r.renewOnce)
	}
}

func (r *redisStore) release(id string) {
	r.mu.Lock()
	delete(r.live, id)
	r.mu.Unlock()
}

// renewOnce renews the leases; the next renewal is a third of a lease
// later, well before any expires.
func (r *redisStore) renewOnce(ctx context.Context) time.Duration {
	if err := r.renew(ctx); err != nil {
		r.l.storeError(err)
	}
	return r.lease / 3
}

// repeat calls fn until r.stop is closed, first after first, then after
// the wait fn returns, each call bounded by timeout; it closes done when
// it returns. The heartbeat and the lease renewal run on it.
func (r *redisStore) repeat(done chan struct{}, first, timeout time.Duration, fn func(context.Context) time.Duration) {
	defer close(done)
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		next := fn(ctx)
		cancel()
		t.Reset(next)
	}
}

// renew extends the leases of every running request: one round trip per
// renewBatch leases.
func (r *redisStore) renew(ctx context.Context) error {
	r.mu.Lock()
	keys := make([]string, 0, len(r.live))
	ids := make([]any, 0, len(r.live))
	for id, ls := range r.live {
		for _, k := range ls {
			keys = append(keys, k)
			ids = append(ids, id)
		}
	}
	r.mu.Unlock()
	for len(keys) > 0 {
		n := min(len(keys), renewBatch)
		args := append([]any{r.nowArg(), r.lease.Milliseconds()}, ids[:n]...)
		if err := r.renewS.run(ctx, r.c, keys[:n], args).Err(); err != nil {
			return fmt.Errorf("renew leases: %w", err)
		}
		keys, ids = keys[n:], ids[n:]
	}
	return nil
}

func (r *redisStore) close() {
	r.mu.Lock()
	started := r.started
	if !r.closed {
		r.closed = true
		close(r.stop)
	}
	r.mu.Unlock()
	if started {
		<-r.done
	}
	if r.beatStarted.Load() {
		<-r.beatDone
	}
}

// storeSeen is a limit's state as admit.lua reports it: a level, and a
// reset (ms) for a window or -1 for a bucket.
func storeSeen(level, limit, reset int64) seen {
	if reset < 0 {
		return seen{level: level, limit: limit}
	}
	return seen{level: level, limit: limit, reset: reset, win: true}
}
