// Package shadow mirrors a sampled share of a route's requests to a shadow
// target and compares each pair of answers: status, latency, tokens, text
// similarity and tool calls.
//
// The client never waits for the shadow: the relay records the primary
// answer as it passes (Recorder, TapEvents, TapBody), then Submit queues a
// Job without blocking; a bounded queue drops, and counts, what it cannot
// take. Workers make the shadow calls, compare, and keep the last
// Options.Keep comparisons for Summary and the admin Handler. Shadow usage
// is counted apart from client usage (ferry_shadow_tokens_total, and a
// "shadow" log line per call).
package shadow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferrygw/ferry/internal/lifecycle"
)

// DefaultQueueBytes caps the request bytes queued jobs hold when
// Options.QueueBytes is 0: a hundred queued 32 MiB requests would
// otherwise hold 3 GiB for a feature nobody waits for.
const DefaultQueueBytes = 64 << 20

// Options configure a Mirror. Queue, Workers, Keep and Timeout are the
// config's shadow section.
type Options struct {
	Queue   int           // jobs waiting for a worker; more are dropped
	Workers int           // concurrent shadow calls
	Keep    int           // comparisons kept for Summary
	Timeout time.Duration // per shadow call

	Threshold  float64 // text similarity for 2xx answers to agree; 0: DefaultThreshold
	QueueBytes int64   // Job.Bytes the queue may hold; 0: DefaultQueueBytes; < 0: no cap
	Excerpt    int     // bytes of each answer's text shown in recent pairs; 0: none

	Now        func() time.Time      // nil: time.Now
	Rand       func() float64        // in [0, 1), safe for concurrent use; nil: math/rand/v2
	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: a private registry
	// OnDone, if set, hears of every finished shadow call, from its
	// worker: the app records it in the usage ledger, priced.
	OnDone func(j *Job, o *Outcome)
}

// Mirror queues mirrored requests, runs the shadow calls and keeps their
// comparisons.
type Mirror struct {
	onDone     func(*Job, *Outcome)
	timeout    time.Duration
	threshold  float64
	queueBytes int64
	excerpt    int
	workers    int
	now        func() time.Time
	rand       func() float64
	log        *slog.Logger
	m          *collectors

	// life guards the queue's closing against Submit's send.
	life    lifecycle.Gate
	queue   chan Job
	runCtx  context.Context // set by Start
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped chan struct{} // closed when no worker is left

	bytes atomic.Int64 // Job.Bytes held by the queue

	stats // kept comparisons and counters (summary.go)
}

// New builds a Mirror; Start runs its workers.
func New(o Options) (*Mirror, error) {
	var errs []error
	if o.Queue < 1 {
		errs = append(errs, fmt.Errorf("queue %d: must be at least 1", o.Queue))
	}
	if o.Workers < 1 {
		errs = append(errs, fmt.Errorf("workers %d: must be at least 1", o.Workers))
	}
	if o.Keep < 1 {
		errs = append(errs, fmt.Errorf("keep %d: must be at least 1", o.Keep))
	}
	if o.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout %s: must be positive", o.Timeout))
	}
	if o.Threshold < 0 || o.Threshold > 1 {
		errs = append(errs, fmt.Errorf("threshold %g: must be within [0, 1]", o.Threshold))
	}
	if o.Excerpt < 0 || o.Excerpt > MaxText {
		errs = append(errs, fmt.Errorf("excerpt %d: must be within [0, %d]", o.Excerpt, MaxText))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("shadow: %w", err)
	}
	m := &Mirror{
		onDone:     o.OnDone,
		timeout:    o.Timeout,
		threshold:  o.Threshold,
		queueBytes: o.QueueBytes,
		excerpt:    o.Excerpt,
		workers:    o.Workers,
		now:        o.Now,
		rand:       o.Rand,
		log:        o.Logger,
		queue:      make(chan Job, o.Queue),
		stopped:    make(chan struct{}),
	}
	if m.threshold == 0 {
		m.threshold = DefaultThreshold
	}
	if m.queueBytes == 0 {
		m.queueBytes = DefaultQueueBytes
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Float64
	}
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	reg := o.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	var err error
	if m.m, err = newMetrics(reg, func() float64 { return float64(len(m.queue)) }); err != nil {
		return nil, fmt.Errorf("shadow: metrics: %w", err)
	}
	m.stats.init(o.Keep)
	return m, nil
}

// Sample decides whether to mirror one request of a route whose share is
// rate: always at 1 or more, never at 0 or less.
func (m *Mirror) Sample(rate float64) bool {
	if rate >= 1 {
		return true
	}
	if !(rate > 0) {
		return false
	}
	return m.rand() < rate
}

// Submit queues j and never blocks. It returns false, and counts the drop,
// when the queue is full (in jobs or bytes), the mirror is closed or j has
// no Run.
func (m *Mirror) Submit(j Job) bool {
	if j.Run == nil {
		m.drop(j.Target, dropInvalid)
		return false
	}
	j.Bytes = max(j.Bytes, 0)
	if !m.life.Enter() {
		m.drop(j.Target, dropClosed)
		return false
	}
	defer m.life.Leave()
	if n := m.bytes.Add(j.Bytes); m.queueBytes > 0 && j.Bytes > 0 && n > m.queueBytes {
		m.bytes.Add(-j.Bytes)
		m.drop(j.Target, dropQueueBytes)
		return false
	}
	select {
	case m.queue <- j:
		m.m.submitted.WithLabelValues(j.Target.Route).Inc()
		m.count(j.Target, func(c *Counts) { c.Submitted++ })
		return true
	default:
		m.bytes.Add(-j.Bytes)
		m.drop(j.Target, dropQueueFull)
		return false
	}
}

func (m *Mirror) drop(t Target, reason string) {
	m.m.dropped.WithLabelValues(t.Route, reason).Inc()
	m.count(t, func(c *Counts) { c.Dropped++ })
}

// Start runs the workers. ctx's values reach Run; its end is a hard stop
// (shadow calls in flight are cancelled, queued jobs dropped), while Close
// is the graceful one. Start after Start or Close does nothing.
func (m *Mirror) Start(ctx context.Context) {
	m.life.Start(func() {
		m.runCtx, m.cancel = context.WithCancel(ctx)
		m.wg.Add(m.workers)
		for range m.workers {
			go m.work()
		}
		go func() {
			m.wg.Wait()
			close(m.stopped)
		}()
	})
}

// Close stops taking jobs and waits until the workers have run every
// queued one, or until ctx ends: then it cancels the calls in flight,
// drops what is still queued, waits for the workers to return and reports
// ctx's error. No goroutine is left either way. Close may be called more
// than once.
func (m *Mirror) Close(ctx context.Context) error {
	m.life.Close(func(started bool) {
		close(m.queue)
		if !started {
			for j := range m.queue {
				m.bytes.Add(-j.Bytes)
				m.drop(j.Target, dropClosed)
			}
			close(m.stopped)
		}
	})
	cancel := m.cancel // set by Start, which cannot run after Close
	var err error
	select {
	case <-m.stopped:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if cancel != nil {
		cancel()
	}
	<-m.stopped
	return err
}

func (m *Mirror) work() {
	defer m.wg.Done()
	var sim similarity // buffers reused across this worker's comparisons
	for j := range m.queue {
		m.bytes.Add(-j.Bytes)
		if m.runCtx.Err() != nil {
			m.drop(j.Target, dropClosed)
			continue
		}
		m.process(&sim, j)
	}
}

func (m *Mirror) process(sim *similarity, j Job) {
	s := m.run(j)
	c := sim.compare(j.Primary, s, m.threshold)
	route := j.Target.Route
	m.m.completed.WithLabelValues(route, string(c.Result)).Inc()
	m.m.countTokens(j.Target, &s)
	if m.onDone != nil {
		m.onDone(&j, &s)
	}
	if c.Both {
		m.m.similarity.WithLabelValues(route).Observe(c.Similarity)
		if c.LatencyRatio > 0 {
			m.m.latency.WithLabelValues(route).Observe(c.LatencyRatio)
		}
	}
	m.keep(m.record(j, s, c))
	m.logPair(j, &s, &c)
}

// run makes the shadow call, bounded by the timeout, and turns a panic in
// Run into an error outcome: a bug on the shadow path must not take the
// gateway down.
func (m *Mirror) run(j Job) (o Outcome) {
	start := m.now() // before the deadline is set: a timed-out call's latency is never under the timeout
	ctx, cancel := context.WithTimeout(m.runCtx, m.timeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			m.log.Error("shadow call panicked", slog.String("route", j.Target.Route),
				slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			o = Outcome{Err: fmt.Sprint("panic: ", v)}
		}
		if o.Err != "" && o.Latency == 0 {
			o.Latency = m.now().Sub(start)
		}
	}()
	var err error
	o, err = j.Run(ctx)
	if err != nil && o.Err == "" {
		o.Err = err.Error()
	}
	if o.Err != "" && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		o.Err = "timed out after " + m.timeout.String() + ": " + o.Err
	}
	return o
}

// logPair writes one line per shadow call: the usage record of a call no
// client made, marked shadow=true.
func (m *Mirror) logPair(j Job, s *Outcome, c *Comparison) {
	level := slog.LevelInfo
	if c.Result == Error {
		level = slog.LevelWarn
	}
	ctx := context.Background()
	if !m.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 16)
	attrs = append(attrs,
		slog.Bool("shadow", true),
		slog.String("route", j.Target.Route),
		slog.String("provider", j.Target.Provider),
		slog.String("model", j.Target.Model),
		slog.String("primary_provider", j.PrimaryProvider),
		slog.Int("status", s.Status),
		slog.Float64("duration_ms", ms(s.Latency)),
		slog.Float64("first_byte_ms", ms(s.TTFB)),
		slog.Int64("input_tokens", s.InputTokens),
		slog.Int64("output_tokens", s.OutputTokens),
		slog.Int64("cache_read_input_tokens", s.CacheReadTokens),
		slog.Int64("cache_creation_input_tokens", s.CacheCreationTokens),
		slog.String("result", string(c.Result)),
	)
	if c.Both {
		attrs = append(attrs, slog.Float64("similarity", round3(c.Similarity)), slog.Bool("tools_agree", c.ToolsAgree))
	}
	if s.Err != "" {
		attrs = append(attrs, slog.String("error", clip(s.Err, maxErr)))
	}
	m.log.LogAttrs(ctx, level, "shadow", attrs...)
}
