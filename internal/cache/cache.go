// Package cache is Ferry's response cache, in-flight coalescing and
// duplicate suppression for Anthropic-format /v1/messages requests.
//
// A request is identified by a Key, a hash of its canonical form and of
// who may share its answer (the gateway key's name). A successful answer
// is kept as the final message JSON in a Store (in memory, or in Redis to
// share it between instances), whether it arrived whole or as a stream: an
// Accumulator rebuilds the message from a stream, and AppendStream turns a
// message back into the exact event sequence for a client that asked for
// a stream. The same store answers repeats within the dedup window and
// requests carrying an Idempotency-Key. A Group makes identical concurrent
// requests share one upstream call, streams included.
//
// The package does no HTTP: the server decides what is cacheable and
// writes the answers.
package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zeebo/xxh3"
)

// Options configure a Cache. Zero values mean the defaults of the config
// (docs/config.md).
type Options struct {
	Store Store // where answers live; nil: a Memory of MaxBytes
	// IdemStore holds Idempotency-Key records. Nil: Store when one was
	// given (Redis: shared, expiry only), else a Memory of its own (a
	// quarter of MaxBytes on top of it, at least 16 MiB), so that cached
	// answers competing for the byte budget never evict a key's record
	// (which would let a duplicate run).
	IdemStore      Store
	MaxBytes       int64         // the Memory's byte budget when Store is nil (256 MiB)
	MaxEntryBytes  int64         // the largest answer kept, and the coalescing log's bound (4 MiB)
	Coalesce       bool          // identical concurrent requests share one upstream call
	DedupWindow    time.Duration // a repeat within it gets the first answer; 0: off
	IdempotencyTTL time.Duration // how long an Idempotency-Key's answer is kept (24h)
	// PendingTTL bounds how long an Idempotency-Key counts as in progress,
	// so a claim left by an instance that died expires (default 10m).
	PendingTTL time.Duration
	Now        func() time.Time // the clock; nil: time.Now
}

// Cache stores answers and answers lookups.
type Cache struct {
	store       Store
	idemStore   Store
	maxEntry    int64
	coalesce    bool
	dedupWindow time.Duration
	idemTTL     time.Duration
	pendingTTL  time.Duration
	now         func() time.Time
	idem        *idemLocal // shared by the Caches Reconfigured from one
}

// New builds a Cache.
func New(o Options) (*Cache, error) {
	if o.MaxBytes < 0 || o.MaxEntryBytes < 0 || o.DedupWindow < 0 || o.IdempotencyTTL < 0 || o.PendingTTL < 0 {
		return nil, errors.New("cache: sizes and durations must not be negative")
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = 256 << 20
	}
	if o.MaxEntryBytes == 0 {
		o.MaxEntryBytes = 4 << 20
	}
	if o.IdempotencyTTL == 0 {
		o.IdempotencyTTL = 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.IdemStore == nil {
		if o.Store != nil {
			o.IdemStore = o.Store
		} else {
			o.IdemStore = NewMemory(max(o.MaxBytes/4, 16<<20), o.Now)
		}
	}
	if o.Store == nil {
		o.Store = NewMemory(o.MaxBytes, o.Now)
	}
	if o.PendingTTL == 0 {
		o.PendingTTL = 10 * time.Minute
	}
	return &Cache{
		store:       o.Store,
		idemStore:   o.IdemStore,
		maxEntry:    o.MaxEntryBytes,
		coalesce:    o.Coalesce,
		dedupWindow: o.DedupWindow,
		idemTTL:     o.IdempotencyTTL,
		pendingTTL:  o.PendingTTL,
		now:         o.Now,
		idem:        &idemLocal{m: make(map[string]*pending)},
	}, nil
}

// Reconfigured returns a Cache with o's settings on c's stores and
// in-progress Idempotency-Keys, for a hot reload: the entries carry over
// (the key scheme does not depend on the settings). o.Store and o.IdemStore
// are ignored; memory stores take the new byte budget, evicting the least
// recently used entries beyond a smaller one.
func (c *Cache) Reconfigured(o Options) (*Cache, error) {
	o.Store, o.IdemStore = nil, nil
	if o.Now == nil {
		o.Now = c.now
	}
	n, err := New(o)
	if err != nil {
		return nil, err
	}
	if m, ok := c.store.(*Memory); ok {
		m.SetMaxBytes(n.store.(*Memory).max)
	}
	if m, ok := c.idemStore.(*Memory); ok && c.idemStore != c.store {
		m.SetMaxBytes(n.idemStore.(*Memory).max)
	}
	n.store, n.idemStore, n.idem = c.store, c.idemStore, c.idem
	return n, nil
}

// MaxEntryBytes is the largest answer kept.
func (c *Cache) MaxEntryBytes() int64 { return c.maxEntry }

// Coalesce reports whether identical concurrent requests share a call.
func (c *Cache) Coalesce() bool { return c.coalesce }

// DedupWindow is how long a completed answer answers repeats.
func (c *Cache) DedupWindow() time.Duration { return c.dedupWindow }

// Now is the cache's clock.
func (c *Cache) Now() time.Time { return c.now() }

// Outcome is what a lookup found.
type Outcome uint8

// Outcomes of Lookup.
const (
	Miss  Outcome = iota
	Hit           // an answer younger than the route's ttl
	Dedup         // an answer younger than the dedup window, on a route that does not cache (or whose ttl has passed)
)

// answerKey is the store key of the answer to k.
func answerKey(k Key) string {
	var b [2 + 32]byte
	b[0], b[1] = 'r', ':'
	hexKey(b[2:], k)
	return string(b[:])
}

func hexKey(dst []byte, k Key) {
	const digits = "0123456789abcdef"
	for i, c := range k {
		dst[2*i] = digits[c>>4]
		dst[2*i+1] = digits[c&15]
	}
}

// Lookup finds the answer to k: a Hit when it is younger than ttl (the
// route's cache ttl; 0 when the route does not cache), a Dedup when it is
// younger than the dedup window. scope is the request's (see Request);
// an answer stored for another scope is a miss. A store error is returned with Miss; the
// caller goes upstream.
func (c *Cache) Lookup(ctx context.Context, k Key, scope string, ttl time.Duration) (Entry, Outcome, error) {
	if ttl <= 0 && c.dedupWindow <= 0 {
		return Entry{}, Miss, nil
	}
	b, err := c.store.Get(ctx, answerKey(k))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			err = nil
		}
		return Entry{}, Miss, err
	}
	e, sc, err := decodeEntry(b)
	if err != nil {
		return Entry{}, Miss, err
	}
	if string(sc) != scope {
		return Entry{}, Miss, nil // a hash collision
	}
	age := c.now().Sub(e.Created)
	switch {
	case age < ttl:
		return e, Hit, nil
	case age < c.dedupWindow:
		return e, Dedup, nil
	}
	return Entry{}, Miss, nil
}

// Keep is how long an answer to a request on a route with the given ttl
// is kept: the longer of ttl and the dedup window; 0: not at all.
func (c *Cache) Keep(ttl time.Duration) time.Duration { return max(ttl, c.dedupWindow) }

// ErrTooLarge is Put's answer for a body over MaxEntryBytes.
var ErrTooLarge = errors.New("cache: answer over max_entry_bytes")

// Put stores body, a successful answer's message JSON, as the answer to k
// (a request of scope) for keep (see Keep).
func (c *Cache) Put(ctx context.Context, k Key, scope string, body []byte, contentType string, keep time.Duration) error {
	if keep <= 0 {
		return nil
	}
	if int64(len(body)) > c.maxEntry {
		return ErrTooLarge
	}
	e := &Entry{Created: c.now(), ContentType: contentType, Body: body}
	v := appendEntry(make([]byte, 0, entrySize(e, scope)), e, scope)
	if err := c.store.Set(ctx, answerKey(k), v, keep); err != nil {
		return fmt.Errorf("cache: store answer: %w", err)
	}
	return nil
}

// idemStoreKey is the store key of an Idempotency-Key within a scope.
func idemStoreKey(scope, key string) string {
	h := xxh3.HashString128(scope + "\x00" + key).Bytes()
	var b [2 + 32]byte
	b[0], b[1] = 'i', ':'
	hexKey(b[2:], Key(h))
	return string(b[:])
}
