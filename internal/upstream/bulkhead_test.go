package upstream

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
)

// fakeTimer lets a test see a wait start and end it.
type fakeTimer struct {
	started chan time.Duration
	fire    chan time.Time
}

func newFakeTimer() *fakeTimer {
	return &fakeTimer{started: make(chan time.Duration, 16), fire: make(chan time.Time)}
}

func (f *fakeTimer) After(d time.Duration) <-chan time.Time {
	f.started <- d
	return f.fire
}

func bulkPool(t *testing.T, max, queue int) (*Pool, *fakeTimer) {
	t.Helper()
	ft := newFakeTimer()
	p := mustPool(t, PoolOptions{Provider: "slowco", Labels: labels(1), After: ft.After,
		Bulkhead: config.Bulkhead{MaxInflight: max, Queue: queue, QueueTimeout: 3 * time.Second}})
	return p, ft
}

func wantOverloaded(t *testing.T, err error, cause error) {
	t.Helper()
	var ae *apierr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an *apierr.Error", err)
	}
	if ae.Kind != apierr.Overloaded || ae.Kind.Status() != 529 || ae.RetryAfter != time.Second ||
		ae.Public != "upstream slowco is at capacity" || !errors.Is(err, cause) {
		t.Fatalf("err = %#v, want overloaded (529), retry-after 1s, public message naming slowco, cause %v", ae, cause)
	}
}

// acquireAsync starts an Acquire and waits until it is queued.
func acquireAsync(t *testing.T, ctx context.Context, p *Pool, ft *fakeTimer) chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		rel, err := p.Acquire(ctx)
		if err == nil {
			defer rel()
		}
		done <- err
	}()
	if d := <-ft.started; d != 3*time.Second {
		t.Errorf("queue wait = %v, want the 3s queue_timeout", d)
	}
	return done
}

func TestBulkheadUnlimited(t *testing.T) {
	p, _ := bulkPool(t, 0, 0)
	for range 1000 {
		if _, err := p.Acquire(context.Background()); err != nil {
			t.Fatalf("unlimited Acquire: %v", err)
		}
	}
	if s := p.Snapshot().Bulkhead; s != (BulkheadSnapshot{}) {
		t.Errorf("unlimited bulkhead snapshot = %+v, want zero", s)
	}
}

func TestBulkheadCapNoQueue(t *testing.T) {
	p, _ := bulkPool(t, 2, 0)
	r1, err1 := p.Acquire(context.Background())
	r2, err2 := p.Acquire(context.Background())
	if err1 != nil || err2 != nil {
		t.Fatalf("Acquire under the cap: %v, %v", err1, err2)
	}
	_, err := p.Acquire(context.Background())
	wantOverloaded(t, err, ErrQueueFull)
	if s := p.Snapshot().Bulkhead; s != (BulkheadSnapshot{Max: 2, Held: 2}) {
		t.Errorf("snapshot = %+v, want max 2, held 2", s)
	}
	r1()
	r1() // a second release must not free another slot
	if s := p.Snapshot().Bulkhead; s.Held != 1 {
		t.Fatalf("held after a double release = %d, want 1", s.Held)
	}
	r3, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
	r2()
	r3()
}

func TestBulkheadQueue(t *testing.T) {
	p, ft := bulkPool(t, 1, 1)
	rel, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	waiter := acquireAsync(t, context.Background(), p, ft)
	if s := p.Snapshot().Bulkhead; s.Waiting != 1 {
		t.Fatalf("waiting = %d, want 1", s.Waiting)
	}
	// The queue holds one: the next is refused at once.
	_, err = p.Acquire(context.Background())
	wantOverloaded(t, err, ErrQueueFull)
	// Releasing the slot hands it to the waiter.
	rel()
	if err := <-waiter; err != nil {
		t.Fatalf("queued Acquire: %v", err)
	}
	if s := p.Snapshot().Bulkhead; s.Waiting != 0 {
		t.Errorf("waiting after the waiter left = %d, want 0", s.Waiting)
	}
}

func TestBulkheadQueueTimeout(t *testing.T) {
	p, ft := bulkPool(t, 1, 1)
	rel, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rel()
	waiter := acquireAsync(t, context.Background(), p, ft)
	ft.fire <- time.Time{}
	wantOverloaded(t, <-waiter, ErrQueueTimeout)
}

func TestBulkheadContextCancel(t *testing.T) {
	p, ft := bulkPool(t, 1, 1)
	rel, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rel()
	ctx, cancel := context.WithCancel(context.Background())
	waiter := acquireAsync(t, ctx, p, ft)
	cancel()
	if err := <-waiter; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Acquire = %v, want context.Canceled", err)
	}
	// An already-ended context fails even with a free slot.
	rel()
	if _, err := p.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with an ended context = %v, want context.Canceled", err)
	}
}
