// Package ratelimit limits requests per minute, tokens per minute and
// requests in flight, per gateway key, client IP, route and traffic tag,
// exactly across instances.
//
// Every rpm and tpm limit is a sliding window (window.go) that admits no
// more than the limit in any rolling minute, or, for a rule with burst:
// true, a token bucket (bucket.go) holding a minute's worth and refilling
// continuously. A request is admitted only if every bucket that
// applies to it has room, and then takes from all of them at once: one
// atomic step in memory (one instance) or in one Redis script call (several
// instances sharing the store; the script uses Redis's clock, so instances
// with skewed clocks agree). Tokens are reserved at entry from an estimate,
// since the real usage is known only at the end, and settled to the real
// usage then (Ticket.Settle), so a burst of concurrent long requests cannot
// overshoot the limit by more than one request's reservation. Concurrency
// slots in Redis are leases that the owning instance renews while the
// request runs, so a crashed instance's slots free themselves.
//
// When Redis fails the limiter does what rate_limits.on_store_failure says:
// fail_open decides in memory on this instance, on its share of each limit
// (the limit divided by the live instances, see outage.go), starting from
// the last state Redis reported; fail_closed refuses with 503. Either way
// every such decision is counted and logged (at most once per logEvery),
// never silent, and the failing store is left alone between probes.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
)

// Options configure a Limiter.
type Options struct {
	Config config.RateLimits
	// Redis is the shared store, required when Config.Backend is redis.
	Redis Redis
	// Prefix starts every Redis key (config redis.prefix); "rl:" follows it.
	Prefix string
	// Now is the clock of memory decisions, of the store-failure backoff and
	// of log rate limiting. nil: the system's (monotonic) clock.
	Now func() time.Time
	// StoreClock, for tests, replaces Redis's own clock (TIME) in Redis
	// decisions. nil: Redis's clock, which all instances share.
	StoreClock func() time.Time
	Logger     *slog.Logger // required
	// OnStoreError is called for every decision or settlement the store
	// failed, with the backend and rate_limits.on_store_failure.
	OnStoreError func(backend, mode string)
	// OnReject is called for every refused request, with the scope and the
	// limit (LimitRPM, LimitTPM, LimitConcurrency) that refused it.
	OnReject func(scope, limit string)
	// Lease is how long a Redis concurrency slot lives without renewal
	// (default 1m); the owner renews it every Lease/3.
	Lease time.Duration
	// StoreRetry is how often the heartbeat probes a failing store
	// (default 1s); decisions meanwhile are store failures without the
	// wait.
	StoreRetry time.Duration
	// OnInstances is called with the live instances counted at each
	// heartbeat (nil: not reported).
	OnInstances func(n int64)
	// Heartbeat is how often the instance heartbeats into Redis's instance
	// registry and hands it the outage's debts (outage.go). 0: every 2s;
	// negative: never on its own (tests).
	Heartbeat time.Duration
	// StoreTimeout is the Redis client's timeout per command (redis.timeout;
	// default 100ms): past it the limiter takes a call as failed, and a
	// heartbeat Redis runs later does nothing (outage.go).
	StoreTimeout time.Duration
	// KeyLimits: subjects may carry a key's own limits (Subject.Own, the
	// managed keys'), so the limiter is on even with no rules configured.
	KeyLimits bool
}

// maxTokens bounds a reservation or usage, keeping the stores' arithmetic
// exact (see bucket.go) whatever max_tokens a client sends.
const maxTokens = config.MaxRate

// logEvery is the least time between two log lines about store failures.
const logEvery = 10 * time.Second

// Limiter decides whether a request may start. It is safe for concurrent
// use. A Limiter with no rules admits everything at no cost.
type Limiter struct {
	pol       atomic.Pointer[policy] // what a reload may change (policy.go)
	keyLimits bool                   // Options.KeyLimits
	backend   string
	mem       *memory // the memory backend, or Redis's fallback under fail_open
	red       *redisStore
	now       func() time.Time
	log       *slog.Logger
	onStore   func(backend, mode string)
	onReject  func(scope, limit string)
	onLive    func(n int64)
	retry     time.Duration

	// failing: a store call failed; decisions leave the store alone until
	// a heartbeat reaches it again (outage.go).
	failing atomic.Bool

	logMu      sync.Mutex
	lastLog    time.Time
	suppressed int
}

// New builds a Limiter from a validated config.
func New(o Options) (*Limiter, error) {
	if o.Logger == nil {
		return nil, errors.New("ratelimit: a logger is required")
	}
	pol, err := newPolicy(o.Config)
	if err != nil {
		return nil, err
	}
	rs := pol.rules
	l := &Limiter{
		keyLimits: o.KeyLimits,
		backend:   o.Config.Backend,
		now:       o.Now,
		log:       o.Logger,
		onStore:   o.OnStoreError,
		onReject:  o.OnReject,
		onLive:    o.OnInstances,
		retry:     o.StoreRetry,
	}
	if l.now == nil {
		// Wall time read off the monotonic clock: one clock read per
		// decision where time.Now makes two, and steady under wall-clock
		// steps, which a rate must not see.
		base := time.Now()
		l.now = func() time.Time { return base.Add(time.Since(base)) }
	}
	if l.onStore == nil {
		l.onStore = func(string, string) {}
	}
	if l.onReject == nil {
		l.onReject = func(string, string) {}
	}
	if l.onLive == nil {
		l.onLive = func(int64) {}
	}
	if l.retry <= 0 {
		l.retry = time.Second
	}
	l.pol.Store(pol)
	l.mem = newMemory(l.now)
	switch o.Config.Backend {
	case config.BackendMemory, "":
	case config.BackendRedis:
		if o.Redis == nil {
			return nil, errors.New("ratelimit: the redis backend needs a Redis client")
		}
		lease := o.Lease
		if lease <= 0 {
			lease = time.Minute
		}
		beat := o.Heartbeat
		if beat == 0 {
			beat = beatEvery
		}
		timeout := o.StoreTimeout
		if timeout <= 0 {
			timeout = 100 * time.Millisecond
		}
		l.red = newRedisStore(o.Redis, o.Prefix+"rl:", lease, beat, timeout, o.StoreClock, l)
		l.mem.fallback = pol.failOpen
		if !rs.empty() || o.KeyLimits {
			// From the start, not the first request: every instance must
			// be counted before the store can fail.
			l.red.startBeat()
		}
	default:
		return nil, fmt.Errorf("ratelimit: unknown backend %q", o.Config.Backend)
	}
	return l, nil
}

// Close stops the renewal of Redis concurrency leases and the heartbeat.
// Call it once the requests are done (their leases then expire in Redis on
// their own, and so does the instance's place in the registry).
func (l *Limiter) Close() {
	if l.red != nil {
		l.red.close()
	}
}

// Enabled reports whether any rule is configured or keys may carry their
// own limits.
func (l *Limiter) Enabled() bool { return l.keyLimits || !l.pol.Load().rules.empty() }

// Applies reports whether any limit can apply to a request whose key has
// the limits own: false lets the caller skip the limiter at no cost.
func (l *Limiter) Applies(own Own) bool { return own != (Own{}) || !l.pol.Load().rules.empty() }

// TagHeader is the request header that names the traffic tag ("": none).
func (l *Limiter) TagHeader() string { return l.pol.Load().tagHeader }

// Admit decides whether a request of subject s, estimated to use estTokens
// input and output tokens, may start. Admitted, it returns a Ticket holding
// the request's reservation and concurrency slots, which must be settled
// when the request ends. Refused, the error is an *apierr.Error: RateLimit
// with RetryAfter, or Unavailable when the store failed under fail_closed.
// Either way the Ticket describes the limits that apply, for the response
// headers.
func (l *Limiter) Admit(ctx context.Context, s Subject, estTokens int64) (Ticket, error) {
	var t Ticket
	t.n = l.pol.Load().rules.match(&s, &t.scopes)
	if t.n == 0 {
		return t, nil
	}
	t.l = l
	t.est = min(max(estTokens, 0), maxTokens)
	// A reservation never exceeds the smallest tokens-per-minute limit that
	// applies: a client-chosen max_tokens of a billion would otherwise sink
	// a shared bucket for days, refusing everyone on the route until the
	// request settles. Settlement still charges the real usage.
	for i := range t.n {
		if tpm := t.scopes[i].rule.tpm; tpm > 0 && t.est > tpm {
			t.est = tpm
		}
	}
	if l.red == nil {
		return t, l.decided(&t, l.mem.admit(&t, 1))
	}
	if l.failing.Load() {
		return t, l.storeFailed(&t, errStoreResting)
	}
	if err := ctx.Err(); err != nil {
		// The client already left: nothing to decide, not the store's fault.
		return t, apierr.Wrap(apierr.Unavailable, err, "request cancelled")
	}
	// Not on the client's context: a client that leaves while the script
	// runs would leave its lease and reservation in Redis with nobody to
	// settle them. The store's own timeout bounds the wait.
	d, err := l.red.admit(context.WithoutCancel(ctx), &t)
	if err != nil {
		if ctx.Err() != nil {
			// The client left: not the store's fault.
			return t, apierr.Wrap(apierr.Unavailable, err, "request cancelled")
		}
		return t, l.storeFailed(&t, err)
	}
	// A success does not end a failure another request saw meanwhile: only
	// the heartbeat does, handing over the debts first (outage.go).
	return t, l.decided(&t, d)
}

// errStoreResting is the cause of a store failure while the store is left
// alone after failing.
var errStoreResting = errors.New("store failed; not asked until a heartbeat reaches it")

// denial is a refusal: the scope (index into Ticket.scopes) and limit that
// refuse for longest, and for how long.
type denial struct {
	scope int
	limit string
	wait  int64 // milliseconds; 0: admitted
}

func (d *denial) consider(scope int, limit string, wait int64) {
	if wait > d.wait {
		*d = denial{scope: scope, limit: limit, wait: wait}
	}
}

// decided turns a store's decision into Admit's error.
func (l *Limiter) decided(t *Ticket, d denial) error {
	if d.wait == 0 {
		return nil
	}
	a := t.scopes[d.scope]
	scope := scopeNames[a.rule.scope]
	l.onReject(scope, d.limit)
	var msg string
	switch d.limit {
	case LimitRPM:
		msg = fmt.Sprintf("Rate limit exceeded: %d requests per minute for this %s.", a.rule.rpm, scopeWords[a.rule.scope])
	case LimitTPM:
		msg = fmt.Sprintf("Rate limit exceeded: %d input and output tokens per minute for this %s (this request reserves %d).", a.rule.tpm, scopeWords[a.rule.scope], t.est)
	default:
		msg = fmt.Sprintf("Rate limit exceeded: %d concurrent requests for this %s.", a.rule.conc, scopeWords[a.rule.scope])
	}
	return &apierr.Error{
		Kind:       apierr.RateLimit,
		Public:     msg,
		Err:        fmt.Errorf("%s %s=%q", d.limit, scope, a.value),
		RetryAfter: time.Duration(d.wait) * time.Millisecond,
	}
}

var scopeWords = [numScopes]string{"gateway key", "client IP", "route", "traffic tag"}

// storeFailed decides without the store, as on_store_failure says.
func (l *Limiter) storeFailed(t *Ticket, err error) error {
	pol := l.pol.Load()
	l.onStore(config.BackendRedis, pol.mode)
	l.failing.Store(true)
	l.logFailure(err)
	if !pol.failOpen {
		t.req, t.tok = seen{}, seen{}
		return &apierr.Error{
			Kind:       apierr.Unavailable,
			Public:     "rate limit store unavailable",
			Err:        err,
			RetryAfter: l.retry,
		}
	}
	return l.decided(t, l.mem.admit(t, l.share()))
}

// storeError counts and logs a settlement or lease renewal the store
// failed. A reservation not settled stays as it was taken; slots not
// released expire with their leases.
func (l *Limiter) storeError(err error) {
	l.onStore(config.BackendRedis, l.pol.Load().mode)
	l.failing.Store(true)
	l.logFailure(err)
}

func (l *Limiter) storeOK() {
	if l.failing.Load() && l.failing.CompareAndSwap(true, false) {
		l.log.Info("rate limit store is answering again", slog.String("backend", config.BackendRedis))
	}
}

// logFailure logs a store failure, at most once per logEvery, with the
// number of failures not logged since the last line.
func (l *Limiter) logFailure(err error) {
	now := l.now()
	l.logMu.Lock()
	if !l.lastLog.IsZero() && now.Sub(l.lastLog) < logEvery {
		l.suppressed++
		l.logMu.Unlock()
		return
	}
	n := l.suppressed
	l.lastLog, l.suppressed = now, 0
	l.logMu.Unlock()
	pol := l.pol.Load()
	what := "refusing requests with 503 (fail_closed)"
	if pol.failOpen {
		what = "deciding in memory on this instance, on its share of each limit (fail_open)"
	}
	l.log.Warn("rate limit store failed: "+what,
		slog.String("backend", config.BackendRedis),
		slog.String("mode", pol.mode),
		slog.Any("error", err),
		slog.Int64("live_instances", l.share()),
		slog.Int("failures_not_logged", n))
}
