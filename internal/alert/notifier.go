package alert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferrygw/ferry/internal/lifecycle"
	"github.com/ferrygw/ferry/internal/metrics"
)

// Claimer decides, across instances, that this instance is the one to send
// the alert with key (until the alert's period ends). The default is this
// instance's memory; a shared store makes it one alert per threshold per
// period for the whole fleet.
type Claimer interface {
	Claim(ctx context.Context, key string, until time.Time) (bool, error)
}

// Options configure a Notifier. Zero values take the defaults.
type Options struct {
	Webhooks []Webhook
	Client   *http.Client // default: 10 s timeout
	Logger   *slog.Logger
	Claimer  Claimer
	Now      func() time.Time
	// Sleep waits d or until ctx ends; tests inject one that does not sleep.
	Sleep      func(ctx context.Context, d time.Duration) error
	Attempts   int           // per webhook, default 5
	Backoff    time.Duration // first retry's wait, doubling, default 2s (DingTalk throttles at 20 a minute)
	Queue      int           // alerts waiting to be sent, default 100
	Keep       int           // deliveries kept for Deliveries, default 200
	Registerer prometheus.Registerer
}

// Delivery is one alert's delivery to one webhook, as /admin/alerts shows it.
type Delivery struct {
	Alert    Alert     `json:"alert"`
	Webhook  string    `json:"webhook"`
	Kind     string    `json:"kind"`
	OK       bool      `json:"ok"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error,omitempty"`
	At       time.Time `json:"at"`
}

// Notifier sends alerts. Build it with New, Start it, Close it on shutdown.
type Notifier struct {
	o     Options
	queue chan Alert
	done  chan struct{}
	life  lifecycle.Gate

	hooks atomic.Pointer[[]Webhook] // Options.Webhooks, then SetWebhooks'

	mu     sync.Mutex
	recent []Delivery // ring, newest last
	claims map[string]time.Time

	sent    *prometheus.CounterVec // webhook, result
	dropped *prometheus.CounterVec // reason
}

// New validates o and builds a Notifier.
func New(o Options) (*Notifier, error) {
	if err := checkWebhooks(o.Webhooks); err != nil {
		return nil, err
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	o.Attempts = cmpOr(o.Attempts, 5)
	o.Backoff = cmpOr(o.Backoff, 2*time.Second)
	o.Queue = cmpOr(o.Queue, 100)
	o.Keep = cmpOr(o.Keep, 200)
	n := &Notifier{o: o, queue: make(chan Alert, o.Queue), done: make(chan struct{}), claims: map[string]time.Time{}}
	n.sent = metrics.NewCounterVec("ferry_alert_deliveries_total",
		"Alert deliveries to webhooks, by webhook name and result (ok, failed: after every retry).", "webhook", "result")
	n.dropped = metrics.NewCounterVec("ferry_alert_dropped_total", "Alerts not sent, by reason (queue_full, closed, claim_error).", "reason")
	if reg := o.Registerer; reg != nil {
		if err := errors.Join(reg.Register(n.sent), reg.Register(n.dropped)); err != nil {
			return nil, fmt.Errorf("alert: metrics: %w", err)
		}
	}
	n.hooks.Store(&o.Webhooks)
	return n, nil
}

func checkWebhooks(hooks []Webhook) error {
	var errs []error
	for i, w := range hooks {
		switch w.Kind {
		case DingTalk, Feishu, Slack, Generic:
		default:
			errs = append(errs, fmt.Errorf("webhook %d (%s): kind %q is unknown", i, w.Name, w.Kind))
		}
		if w.URL == "" {
			errs = append(errs, fmt.Errorf("webhook %d (%s): no url", i, w.Name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("alert: %w", err)
	}
	return nil
}

// SetWebhooks replaces the webhooks (a hot reload of alerts): alerts
// delivered after it go to hooks; the queue, the deliveries kept and the
// claims stay.
func (n *Notifier) SetWebhooks(hooks []Webhook) error {
	if err := checkWebhooks(hooks); err != nil {
		return err
	}
	n.hooks.Store(&hooks)
	return nil
}

// Webhooks are the webhooks in force.
func (n *Notifier) Webhooks() []Webhook { return *n.hooks.Load() }

func cmpOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Notify queues a for sending unless an alert with the same Key was
// already sent in its period; it never blocks on the network. It reports
// whether a was queued.
func (n *Notifier) Notify(ctx context.Context, a Alert) bool {
	if a.At.IsZero() {
		a.At = n.o.Now()
	}
	first, err := n.claim(ctx, a)
	if err != nil {
		n.o.Logger.Warn("alert claim failed; not sent", slog.String("alert", a.Key()), slog.Any("error", err))
		n.dropped.WithLabelValues("claim_error").Inc()
		return false
	}
	if !first {
		return false
	}
	switch lifecycle.Offer(&n.life, n.queue, a) {
	case lifecycle.Sent:
		return true
	case lifecycle.Closed:
		n.dropped.WithLabelValues("closed").Inc()
	case lifecycle.Full:
		n.dropped.WithLabelValues("queue_full").Inc()
		n.o.Logger.Warn("alert queue full; alert dropped", slog.String("alert", a.Key()))
	}
	return false
}

// claim asks the Claimer, or this instance's memory, whether a is new.
func (n *Notifier) claim(ctx context.Context, a Alert) (bool, error) {
	until := a.Window.End
	if until.IsZero() {
		until = a.At.Add(time.Minute) // a spend-rate alert: once a minute at most
	}
	if n.o.Claimer != nil {
		return n.o.Claimer.Claim(ctx, a.Key(), until)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.o.Now()
	for k, end := range n.claims {
		if !end.After(now) {
			delete(n.claims, k)
		}
	}
	if _, ok := n.claims[a.Key()]; ok {
		return false, nil
	}
	n.claims[a.Key()] = until
	return true, nil
}

// Start runs the sender until Close.
func (n *Notifier) Start() {
	n.life.Start(func() { go n.send() })
}

// send delivers the queued alerts until the queue is closed and empty.
func (n *Notifier) send() {
	defer close(n.done)
	for a := range n.queue {
		n.Deliver(context.Background(), a)
	}
}

// Close stops taking alerts and sends the queued ones, until ctx ends.
func (n *Notifier) Close(ctx context.Context) error {
	n.life.Close(func(started bool) {
		close(n.queue)
		if !started {
			close(n.done)
			for range n.queue {
				n.dropped.WithLabelValues("closed").Inc()
			}
		}
	})
	select {
	case <-n.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Deliver sends a to every webhook now, retrying each with backoff, and
// records the deliveries.
func (n *Notifier) Deliver(ctx context.Context, a Alert) {
	for _, w := range n.Webhooks() {
		d := n.deliverOne(ctx, w, a)
		result := "ok"
		if !d.OK {
			result = "failed"
			n.o.Logger.Error("alert not delivered", slog.String("webhook", w.Name), slog.String("kind", w.Kind),
				slog.String("alert", a.Key()), slog.Int("attempts", d.Attempts), slog.String("error", d.Error))
		} else {
			n.o.Logger.Info("alert delivered", slog.String("webhook", w.Name), slog.String("kind", w.Kind),
				slog.String("alert", a.Key()), slog.Int("attempts", d.Attempts))
		}
		n.sent.WithLabelValues(w.Name, result).Inc()
		n.record(d)
	}
}

func (n *Notifier) deliverOne(ctx context.Context, w Webhook, a Alert) Delivery {
	d := Delivery{Alert: a, Webhook: w.Name, Kind: w.Kind}
	wait := n.o.Backoff
	for d.Attempts < n.o.Attempts {
		d.Attempts++
		err := w.send(ctx, n.o.Client, a, n.o.Now())
		if err == nil {
			d.OK, d.Error = true, ""
			break
		}
		d.Error = err.Error()
		if errors.Is(err, errPermanent) || d.Attempts == n.o.Attempts {
			break
		}
		n.o.Logger.Warn("alert delivery failed; retrying", slog.String("webhook", w.Name), slog.Int("attempt", d.Attempts),
			slog.Duration("wait", wait), slog.String("error", d.Error))
		if n.o.Sleep(ctx, wait) != nil {
			break
		}
		wait *= 2
	}
	d.At = n.o.Now()
	return d
}

func (n *Notifier) record(d Delivery) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.recent) == n.o.Keep {
		copy(n.recent, n.recent[1:])
		n.recent = n.recent[:len(n.recent)-1]
	}
	n.recent = append(n.recent, d)
}

// Deliveries returns the recent deliveries, newest first.
func (n *Notifier) Deliveries() []Delivery {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Delivery, len(n.recent))
	for i, d := range n.recent {
		out[len(out)-1-i] = d
	}
	return out
}
