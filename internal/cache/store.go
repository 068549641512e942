package cache

import (
	"context"
	"errors"
	"time"
)

// Store keeps byte values under string keys with a time to live. Values
// handed to Set and returned by Get are never modified afterwards, so a
// store may keep or return them without copying.
type Store interface {
	// Get returns the value under key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores val under key for ttl.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// SetNX stores val under key for ttl unless the key holds a value;
	// it reports whether it stored.
	SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error)
	// Del removes key.
	Del(ctx context.Context, key string) error
	// Swap replaces the value under key with val for ttl, or removes key
	// when val is nil, only if the key holds exactly old; it reports
	// whether it did. Idempotency records use it so that a request whose
	// in-progress marker expired and was claimed by another cannot undo
	// that claim.
	Swap(ctx context.Context, key string, old, val []byte, ttl time.Duration) (bool, error)
}

// ErrNotFound is a Store's answer for a missing or expired key.
var ErrNotFound = errors.New("cache: not found")
