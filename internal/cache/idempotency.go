package cache

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
)

// IdemOutcome is what Claim decided for a request with an Idempotency-Key.
type IdemOutcome uint8

// Outcomes of Claim.
const (
	IdemNew      IdemOutcome = iota // the key is ours: run the request, then Finish
	IdemReplay                      // the key's request completed: Entry is its answer
	IdemMismatch                    // the key was used with a different request
	IdemBusy                        // the key's request is in progress on another instance
)

// Claim is the state of one request's Idempotency-Key.
type Claim struct {
	Outcome IdemOutcome
	Entry   Entry // the answer, for IdemReplay

	skey    string
	hash    Key
	token   [8]byte
	pending []byte // the in-progress record this claim wrote: Finish replaces only that
	once    sync.Once
}

// Idempotency records, in the store under "i:" + hash(scope, key):
//
//	'P' hash(16) token(8)    in progress (for at most PendingTTL)
//	'D' hash(16) entry       completed, for IdempotencyTTL
const (
	recPending = 'P'
	recDone    = 'D'
)

// idemLocal tracks the keys this instance is working on, so that a
// second request with the same key waits for the first here instead of
// being told to retry.
type idemLocal struct {
	mu sync.Mutex
	m  map[string]*pending
}

type pending struct {
	token [8]byte
	done  chan struct{}
}

// maxClaimRounds bounds Claim's loop: each round follows a change of the
// key's record (a claim that raced ours, a wait that ended).
const maxClaimRounds = 5

var errBadRecord = errors.New("cache: malformed idempotency record")

// Claim looks up an Idempotency-Key for a request whose Key is h. A key
// in progress in this instance is waited for (until ctx ends); in another
// instance it is IdemBusy. A request whose answer was not stored (it
// failed) releases its key, so a retry runs again.
func (c *Cache) Claim(ctx context.Context, scope, idemKey string, h Key) (*Claim, error) {
	skey := idemStoreKey(scope, idemKey)
	for range maxClaimRounds {
		b, err := c.idemStore.Get(ctx, skey)
		if errors.Is(err, ErrNotFound) {
			cl := &Claim{Outcome: IdemNew, skey: skey, hash: h}
			rand.Read(cl.token[:])
			rec := make([]byte, 0, 1+16+8)
			rec = append(rec, recPending)
			rec = append(rec, h[:]...)
			rec = append(rec, cl.token[:]...)
			ok, err := c.idemStore.SetNX(ctx, skey, rec, c.pendingTTL)
			if err != nil {
				return nil, fmt.Errorf("cache: claim idempotency key: %w", err)
			}
			if ok {
				cl.pending = rec
				c.idem.mu.Lock()
				if old := c.idem.m[skey]; old != nil {
					// An earlier claim whose marker expired while it ran:
					// its waiters look again (and find this claim).
					close(old.done)
				}
				c.idem.m[skey] = &pending{token: cl.token, done: make(chan struct{})}
				c.idem.mu.Unlock()
				return cl, nil
			}
			continue // another request claimed it first: look again
		}
		if err != nil {
			return nil, fmt.Errorf("cache: read idempotency key: %w", err)
		}
		if len(b) < 1+16 {
			return nil, errBadRecord
		}
		if Key(b[1:17]) != h {
			return &Claim{Outcome: IdemMismatch}, nil
		}
		switch b[0] {
		case recDone:
			e, _, err := decodeEntry(b[17:])
			if err != nil {
				return nil, err
			}
			return &Claim{Outcome: IdemReplay, Entry: e}, nil
		case recPending:
			if len(b) != 1+16+8 {
				return nil, errBadRecord
			}
			c.idem.mu.Lock()
			p := c.idem.m[skey]
			c.idem.mu.Unlock()
			if p == nil || string(p.token[:]) != string(b[17:]) {
				return &Claim{Outcome: IdemBusy}, nil
			}
			select {
			case <-p.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		default:
			return nil, errBadRecord
		}
	}
	return &Claim{Outcome: IdemBusy}, nil
}

// Finish ends an IdemNew claim: with the answer's message JSON, which is
// kept for the idempotency ttl, or with nil (the request failed), which
// releases the key. It does nothing for other claims or a second time.
func (c *Cache) Finish(ctx context.Context, cl *Claim, body []byte, contentType string) error {
	if cl == nil || cl.Outcome != IdemNew {
		return nil
	}
	var err error
	cl.once.Do(func() {
		defer c.release(cl)
		// Only over this claim's own in-progress record: if it expired
		// and another request claimed the key, that claim is theirs.
		if body == nil || int64(len(body)) > c.maxEntry {
			_, err = c.idemStore.Swap(ctx, cl.skey, cl.pending, nil, 0)
			return
		}
		e := &Entry{Created: c.now(), ContentType: contentType, Body: body}
		rec := make([]byte, 0, 1+16+entrySize(e, ""))
		rec = append(rec, recDone)
		rec = append(rec, cl.hash[:]...)
		rec = appendEntry(rec, e, "")
		_, err = c.idemStore.Swap(ctx, cl.skey, cl.pending, rec, c.idemTTL)
	})
	if err != nil {
		return fmt.Errorf("cache: finish idempotency key: %w", err)
	}
	return nil
}

// release wakes the local waiters of cl's key.
func (c *Cache) release(cl *Claim) {
	c.idem.mu.Lock()
	defer c.idem.mu.Unlock()
	if p := c.idem.m[cl.skey]; p != nil && p.token == cl.token {
		delete(c.idem.m, cl.skey)
		close(p.done)
	}
}
