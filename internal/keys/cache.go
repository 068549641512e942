package keys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrygw/ferry/internal/auth"
)

// Cache holds every managed key in memory, by digest, for the hot path:
// a lookup is a map read, and an unknown key never reaches the store. Run
// polls the version row and reloads the whole set when it changes, so a
// revocation on any instance takes effect everywhere within one interval.
type Cache struct {
	log  *slog.Logger
	snap atomic.Pointer[snapshot]
	mu   sync.Mutex // one reload at a time; guards repo
	repo *Repo      // nil until Attach when the store opens later
}

type snapshot struct {
	version  int64
	n        int
	byDigest map[[sha256.Size]byte]entry
	bySigner map[string]signer // the keys that sign, by id
}

// signer is a key that signs: the salts of its signing secrets.
type signer struct {
	id             *auth.Identity
	salt, prevSalt string
	until          time.Time // the previous salt's end
}

type entry struct {
	id    *auth.Identity
	until time.Time // zero for a key's current digest; the grace's end for its previous one
}

// NewCache returns a cache of repo's keys (repo may be nil: see Attach);
// Refresh fills it.
func NewCache(repo *Repo, log *slog.Logger) *Cache {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cache{repo: repo, log: log}
	c.snap.Store(&snapshot{version: -1})
	return c
}

// Attach sets the repository of a cache made without one.
func (c *Cache) Attach(repo *Repo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.repo = repo
}

// Lookup implements auth.Source.
func (c *Cache) Lookup(d [sha256.Size]byte, now time.Time) *auth.Identity {
	e, ok := c.snap.Load().byDigest[d]
	if !ok || !e.until.IsZero() && !now.Before(e.until) {
		return nil
	}
	return e.id
}

// Signer implements auth.Signers.
func (c *Cache) Signer(keyID string, now time.Time) (*auth.Identity, []string) {
	s, ok := c.snap.Load().bySigner[keyID]
	if !ok {
		return nil, nil
	}
	if s.prevSalt != "" && now.Before(s.until) {
		return s.id, []string{s.salt, s.prevSalt}
	}
	return s.id, []string{s.salt}
}

// Empty implements auth.Source.
func (c *Cache) Empty() bool { return c.snap.Load().n == 0 }

// Taken returns, sorted, the names in names that a managed key of the
// last loaded set (revoked ones included: names stay unique) has as its
// name or id. The repository refuses a managed key a reserved name
// (Repo.SetReserved); this is the other way round, for a reload whose
// config brings a static key or signing key id named as a managed key.
func (c *Cache) Taken(names map[string]string) []string {
	var out []string
	for _, e := range c.snap.Load().byDigest {
		for _, n := range []string{e.id.Name, e.id.ID} {
			if _, ok := names[n]; ok && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Refresh reloads the keys if their version changed since the last load.
// The version is read before the keys, so a write between the two reads
// only causes one more reload.
func (c *Cache) Refresh(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.repo == nil {
		return nil
	}
	v, err := c.repo.Version(ctx)
	if err != nil {
		return err
	}
	if v == c.snap.Load().version {
		return nil
	}
	list, err := c.repo.List(ctx)
	if err != nil {
		return err
	}
	s := &snapshot{version: v, n: len(list), byDigest: make(map[[sha256.Size]byte]entry, len(list)), bySigner: map[string]signer{}}
	for i := range list {
		k := &list[i]
		id := k.Identity()
		if err := put(s.byDigest, k.hash, entry{id: id}); err != nil {
			return fmt.Errorf("keys: key %s: %w", k.ID, err)
		}
		if k.prevHash != "" && k.GraceUntil != nil {
			if err := put(s.byDigest, k.prevHash, entry{id: id, until: *k.GraceUntil}); err != nil {
				return fmt.Errorf("keys: key %s: %w", k.ID, err)
			}
		}
		if k.salt != "" {
			sg := signer{id: id, salt: k.salt, prevSalt: k.prevSalt}
			if k.GraceUntil != nil {
				sg.until = *k.GraceUntil
			}
			s.bySigner[k.ID] = sg
		}
	}
	c.snap.Store(s)
	return nil
}

func put(m map[[sha256.Size]byte]entry, hexDigest string, e entry) error {
	var d [sha256.Size]byte
	b, err := hex.DecodeString(hexDigest)
	if err != nil || len(b) != sha256.Size {
		return fmt.Errorf("stored digest is not SHA-256 hex")
	}
	copy(d[:], b)
	m[d] = e
	return nil
}

// Run refreshes every interval until ctx ends. A failed refresh keeps the
// last set (logged): the gateway keeps serving while the store is away.
func (c *Cache) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, every+time.Second)
		err := c.Refresh(rctx)
		cancel()
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			c.log.Warn("managed keys could not be refreshed; serving the last set", slog.Any("error", err))
			failing = true
		case err == nil && failing:
			c.log.Info("managed keys refreshed again")
			failing = false
		}
	}
}
