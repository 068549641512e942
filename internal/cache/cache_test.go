package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/testkit"
)

func newCache(t testing.TB, clk *testkit.Clock, mutate ...func(*Options)) *Cache {
	t.Helper()
	o := Options{MaxBytes: 1 << 20, MaxEntryBytes: 1 << 10, IdempotencyTTL: time.Hour, Now: clk.Now}
	for _, m := range mutate {
		m(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewOptions(t *testing.T) {
	for name, o := range map[string]Options{
		"negative budget":    {MaxBytes: -1},
		"negative max entry": {MaxEntryBytes: -1},
		"negative idem ttl":  {IdempotencyTTL: -1},
		"negative dedup":     {DedupWindow: -1},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxEntryBytes() != 4<<20 || c.idemTTL != 24*time.Hour || c.store.(*Memory).max != 256<<20 || c.pendingTTL != 10*time.Minute {
		t.Errorf("defaults: max entry %d, idempotency ttl %v, budget %d, pending %v", c.MaxEntryBytes(), c.idemTTL, c.store.(*Memory).max, c.pendingTTL)
	}
}

func TestLookupTTL(t *testing.T) {
	clk := newClock()
	c := newCache(t, clk)
	ctx := context.Background()
	k := key(t, req(baseBody))
	if _, o, err := c.Lookup(ctx, k, "team-a", time.Minute); o != Miss || err != nil {
		t.Fatalf("empty cache: %v %v", o, err)
	}
	if err := c.Put(ctx, k, "team-a", []byte(`{"type":"message"}`), "application/json", c.Keep(time.Minute)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Second)
	e, o, err := c.Lookup(ctx, k, "team-a", time.Minute)
	if o != Hit || err != nil || string(e.Body) != `{"type":"message"}` || e.ContentType != "application/json" {
		t.Fatalf("lookup = %v %v %+v", o, err, e)
	}
	if got := clk.Now().Sub(e.Created); got != 30*time.Second {
		t.Errorf("age %v", got)
	}
	// Another scope never gets it, even under the same key (a collision).
	if _, o, _ := c.Lookup(ctx, k, "team-b", time.Minute); o != Miss {
		t.Errorf("other scope: %v", o)
	}
	// A shorter ttl on lookup (the route's ttl was lowered) counts.
	if _, o, _ := c.Lookup(ctx, k, "team-a", 10*time.Second); o != Miss {
		t.Errorf("older than the route's ttl: %v", o)
	}
	clk.Advance(30 * time.Second)
	if _, o, _ := c.Lookup(ctx, k, "team-a", time.Minute); o != Miss {
		t.Errorf("expired: %v", o)
	}
	// A route that does not cache, without a dedup window: no lookup at all.
	c.Put(ctx, k, "team-a", []byte(`{}`), "application/json", time.Hour)
	if _, o, _ := c.Lookup(ctx, k, "team-a", 0); o != Miss {
		t.Errorf("uncached route: %v", o)
	}
}

func TestLookupDedupWindow(t *testing.T) {
	clk := newClock()
	c := newCache(t, clk, func(o *Options) { o.DedupWindow = 10 * time.Second })
	ctx := context.Background()
	k := key(t, req(baseBody))
	if got := c.Keep(0); got != 10*time.Second {
		t.Fatalf("keep(0) = %v", got)
	}
	if got := c.Keep(time.Minute); got != time.Minute {
		t.Fatalf("keep(1m) = %v", got)
	}
	c.Put(ctx, k, "team-a", []byte(`{}`), "application/json", c.Keep(0))
	clk.Advance(9 * time.Second)
	if _, o, _ := c.Lookup(ctx, k, "team-a", 0); o != Dedup {
		t.Fatalf("within the window: %v", o)
	}
	// On a caching route a young answer is a hit, not a dedup.
	if _, o, _ := c.Lookup(ctx, k, "team-a", time.Minute); o != Hit {
		t.Fatalf("caching route: %v", o)
	}
	clk.Advance(time.Second)
	if _, o, _ := c.Lookup(ctx, k, "team-a", 0); o != Miss {
		t.Fatalf("after the window: %v", o)
	}
	// On a caching route whose ttl is shorter than the window, the window
	// still answers repeats, as a dedup.
	c.Put(ctx, k, "team-a", []byte(`{}`), "application/json", c.Keep(2*time.Second))
	clk.Advance(5 * time.Second)
	if _, o, _ := c.Lookup(ctx, k, "team-a", 2*time.Second); o != Dedup {
		t.Fatalf("ttl passed, window not: %v", o)
	}
}

func TestPutMaxEntry(t *testing.T) {
	clk := newClock()
	c := newCache(t, clk)
	ctx := context.Background()
	k := key(t, req(baseBody))
	if err := c.Put(ctx, k, "", make([]byte, 1025), "application/json", time.Minute); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over max: %v", err)
	}
	if _, o, _ := c.Lookup(ctx, k, "", time.Minute); o != Miss {
		t.Fatalf("oversized answer stored")
	}
	if err := c.Put(ctx, k, "", make([]byte, 1024), "application/json", time.Minute); err != nil {
		t.Fatalf("at max: %v", err)
	}
	// keep 0: nothing stored, no error.
	k2 := key(t, req(`{"model":"x"}`))
	if err := c.Put(ctx, k2, "", []byte(`{}`), "application/json", 0); err != nil {
		t.Fatal(err)
	}
	if _, o, _ := c.Lookup(ctx, k2, "", time.Minute); o != Miss {
		t.Fatalf("keep 0 stored")
	}
}

// failingStore fails every call.
type failingStore struct{}

var errDown = errors.New("store down")

func (failingStore) Get(context.Context, string) ([]byte, error) { return nil, errDown }
func (failingStore) Set(context.Context, string, []byte, time.Duration) error {
	return errDown
}
func (failingStore) SetNX(context.Context, string, []byte, time.Duration) (bool, error) {
	return false, errDown
}
func (failingStore) Del(context.Context, string) error { return errDown }
func (failingStore) Swap(context.Context, string, []byte, []byte, time.Duration) (bool, error) {
	return false, errDown
}

func TestStoreErrors(t *testing.T) {
	c := newCache(t, newClock(), func(o *Options) { o.Store = failingStore{} })
	ctx := context.Background()
	k := key(t, req(baseBody))
	if _, o, err := c.Lookup(ctx, k, "", time.Minute); o != Miss || !errors.Is(err, errDown) {
		t.Errorf("lookup: %v %v", o, err)
	}
	if err := c.Put(ctx, k, "", []byte(`{}`), "application/json", time.Minute); !errors.Is(err, errDown) {
		t.Errorf("put: %v", err)
	}
	if _, err := c.Claim(ctx, "", "ik", k); !errors.Is(err, errDown) {
		t.Errorf("claim: %v", err)
	}
}

func TestLookupMalformedEntry(t *testing.T) {
	m := NewMemory(1<<20, nil)
	c := newCache(t, newClock(), func(o *Options) { o.Store = m })
	k := key(t, req(baseBody))
	m.Set(context.Background(), answerKey(k), []byte{9, 9}, time.Hour)
	if _, o, err := c.Lookup(context.Background(), k, "", time.Minute); o != Miss || err == nil {
		t.Errorf("malformed entry: %v %v", o, err)
	}
}

// TestIdempotency covers the Idempotency-Key states on one store shared
// by two caches (two instances).
func TestIdempotency(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) Store{
		"memory": func(*testing.T) Store { return NewMemory(1<<20, nil) },
		"redis": func(t *testing.T) Store {
			c, prefix := testkit.Redis(t)
			return NewRedis(c, prefix+"cache:")
		},
	} {
		t.Run(name, func(t *testing.T) {
			store := mk(t)
			clk := newClock()
			a := newCache(t, clk, func(o *Options) { o.Store = store })
			b := newCache(t, clk, func(o *Options) { o.Store = store })
			ctx := context.Background()
			h := key(t, req(baseBody))
			other := key(t, req(`{"model":"other"}`))

			cl, err := a.Claim(ctx, "team-a", "ik-1", h)
			if err != nil || cl.Outcome != IdemNew {
				t.Fatalf("first claim: %v %v", cl, err)
			}
			// Another instance: in progress.
			if got, err := b.Claim(ctx, "team-a", "ik-1", h); err != nil || got.Outcome != IdemBusy {
				t.Fatalf("other instance while running: %v %v", got, err)
			}
			// Another body: refused, while running and after.
			if got, _ := b.Claim(ctx, "team-a", "ik-1", other); got.Outcome != IdemMismatch {
				t.Fatalf("other body: %v", got.Outcome)
			}
			// Another scope: its own key.
			if got, _ := b.Claim(ctx, "team-b", "ik-1", h); got.Outcome != IdemNew {
				t.Fatalf("other scope: %v", got.Outcome)
			}
			if err := a.Finish(ctx, cl, []byte(`{"type":"message"}`), "application/json"); err != nil {
				t.Fatal(err)
			}
			got, err := b.Claim(ctx, "team-a", "ik-1", h)
			if err != nil || got.Outcome != IdemReplay || string(got.Entry.Body) != `{"type":"message"}` {
				t.Fatalf("after finish: %+v %v", got, err)
			}
			if got, _ := b.Claim(ctx, "team-a", "ik-1", other); got.Outcome != IdemMismatch {
				t.Fatalf("other body after finish: %v", got.Outcome)
			}
			// A failed request releases its key: a retry runs.
			cl2, _ := a.Claim(ctx, "team-a", "ik-2", h)
			if err := a.Finish(ctx, cl2, nil, ""); err != nil {
				t.Fatal(err)
			}
			if got, _ := b.Claim(ctx, "team-a", "ik-2", h); got.Outcome != IdemNew {
				t.Fatalf("after a failure: %v", got.Outcome)
			}
			// Finish twice, or on a claim that is not ours: no effect.
			if err := a.Finish(ctx, cl, nil, ""); err != nil {
				t.Fatal(err)
			}
			if got, _ := b.Claim(ctx, "team-a", "ik-1", h); got.Outcome != IdemReplay {
				t.Fatalf("second finish changed the record: %v", got.Outcome)
			}
		})
	}
}

// TestIdempotencyWaitsLocally: a second request with the same key in the
// same instance waits for the first and gets its answer.
func TestIdempotencyWaitsLocally(t *testing.T) {
	c := newCache(t, newClock())
	ctx := context.Background()
	h := key(t, req(baseBody))
	first, _ := c.Claim(ctx, "", "ik", h)
	var wg sync.WaitGroup
	var returned atomic.Int32
	results := make([]*Claim, 3)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := c.Claim(ctx, "", "ik", h)
			if err != nil {
				t.Error(err)
			}
			results[i] = cl
			returned.Add(1)
		}()
	}
	time.Sleep(20 * time.Millisecond) // give them time to (wrongly) return
	if n := returned.Load(); n != 0 {
		t.Fatalf("%d requests returned while the first was running", n)
	}
	c.Finish(ctx, first, []byte(`{"ok":1}`), "application/json")
	wg.Wait()
	for i, r := range results {
		if r == nil || r.Outcome != IdemReplay || string(r.Entry.Body) != `{"ok":1}` {
			t.Errorf("waiter %d: %+v", i, r)
		}
	}
	// A waiter whose own context ends gives up.
	cl, _ := c.Claim(ctx, "", "ik-2", h)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Claim(cctx, "", "ik-2", h); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: %v", err)
	}
	// After a failure the waiter claims the key itself.
	done := make(chan *Claim)
	go func() {
		got, _ := c.Claim(ctx, "", "ik-2", h)
		done <- got
	}()
	time.Sleep(10 * time.Millisecond) // let it park; correctness does not depend on it
	c.Finish(ctx, cl, nil, "")
	if got := <-done; got.Outcome != IdemNew {
		t.Errorf("waiter after failure: %v", got.Outcome)
	}
}

// TestIdempotencyStaleClaim: a request that outlives its in-progress
// marker cannot undo the claim another request made after the marker
// expired, neither by storing its answer nor by releasing the key.
func TestIdempotencyStaleClaim(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T, clk *testkit.Clock) (Store, func()){
		"memory": func(_ *testing.T, clk *testkit.Clock) (Store, func()) {
			return NewMemory(1<<20, clk.Now), func() { clk.Advance(2 * time.Minute) }
		},
		"redis": func(t *testing.T, _ *testkit.Clock) (Store, func()) {
			c, prefix := testkit.Redis(t)
			s := NewRedis(c, prefix+"cache:")
			// Redis keeps its own time: expire the marker by hand.
			return s, func() { s.Del(context.Background(), idemStoreKey("team-a", "ik-1")) }
		},
	} {
		for _, finishWith := range []string{"answer", "failure"} {
			t.Run(name+"/"+finishWith, func(t *testing.T) {
				clk := newClock()
				store, expire := mk(t, clk)
				opts := func(o *Options) { o.Store = store; o.PendingTTL = time.Minute }
				a, b, c := newCache(t, clk, opts), newCache(t, clk, opts), newCache(t, clk, opts)
				ctx := context.Background()
				h := key(t, req(baseBody))
				first, err := a.Claim(ctx, "team-a", "ik-1", h)
				if err != nil || first.Outcome != IdemNew {
					t.Fatalf("first claim: %v %v", first, err)
				}
				expire()
				second, err := b.Claim(ctx, "team-a", "ik-1", h)
				if err != nil || second.Outcome != IdemNew {
					t.Fatalf("claim after the marker expired: %v %v", second, err)
				}
				var body []byte
				if finishWith == "answer" {
					body = []byte(`{"type":"message","id":"first"}`)
				}
				if err := a.Finish(ctx, first, body, "application/json"); err != nil {
					t.Fatal(err)
				}
				if got, _ := c.Claim(ctx, "team-a", "ik-1", h); got.Outcome != IdemBusy {
					t.Fatalf("the stale request's finish undid the live claim: a third request got %v, want busy", got.Outcome)
				}
				if err := b.Finish(ctx, second, []byte(`{"type":"message","id":"second"}`), "application/json"); err != nil {
					t.Fatal(err)
				}
				if got, _ := c.Claim(ctx, "team-a", "ik-1", h); got.Outcome != IdemReplay || !strings.Contains(string(got.Entry.Body), "second") {
					t.Fatalf("after the live claim finished: %v %s", got.Outcome, got.Entry.Body)
				}
			})
		}
	}
}

// Cached answers filling the byte budget do not evict Idempotency-Key
// records: those live in a store of their own.
func TestIdempotencyRecordsSurviveCacheEviction(t *testing.T) {
	clk := newClock()
	c := newCache(t, clk, func(o *Options) { o.MaxBytes = 64 << 10; o.MaxEntryBytes = 8 << 10 })
	ctx := context.Background()
	h := key(t, req(baseBody))
	cl, err := c.Claim(ctx, "team-a", "ik-1", h)
	if err != nil || cl.Outcome != IdemNew {
		t.Fatalf("claim: %v %v", cl, err)
	}
	if err := c.Finish(ctx, cl, []byte(`{"type":"message"}`), "application/json"); err != nil {
		t.Fatal(err)
	}
	for i := range 64 { // 64 answers of 4 KiB: four times the budget
		k := key(t, req(fmt.Sprintf(`{"model":"m%d"}`, i)))
		if err := c.Put(ctx, k, "team-a", make([]byte, 4<<10), "application/json", time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := c.Claim(ctx, "team-a", "ik-1", h); err != nil || got.Outcome != IdemReplay {
		t.Fatalf("after the cache filled: %v %v, want the replay", got, err)
	}
}
