// Package auth checks the gateway keys clients present.
//
// Keys are held only as SHA-256 digests. A presented key is hashed and
// looked up by its digest, so no comparison ever touches key bytes: the
// lookup's timing can reveal something about a digest at most, and a digest
// says nothing usable about a key (preimage resistance). This is the
// constant-time property that matters, without scanning every key.
package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

// Keyring is the gateway's keys: an immutable set of static keys (the
// config file's, and the bootstrap admin key) and, optionally, a Source of
// managed keys that changes underneath.
type Keyring struct {
	byDigest map[[sha256.Size]byte]*Identity
	source   Source
	now      func() time.Time
}

// Options builds a Keyring.
type Options struct {
	Keys     []config.Key     // static keys: users without scopes
	AdminKey string           // the bootstrap admin key ("" for none)
	Source   Source           // managed keys, or nil
	Now      func() time.Time // clock for expiry and rotation grace; time.Now if nil
}

// New builds a Keyring from config keys (plain or SHA-256 hex).
func New(keys []config.Key) (*Keyring, error) { return Build(Options{Keys: keys}) }

// Build builds a Keyring.
func Build(o Options) (*Keyring, error) {
	k := &Keyring{byDigest: make(map[[sha256.Size]byte]*Identity, len(o.Keys)+1), source: o.Source, now: o.Now}
	if k.now == nil {
		k.now = time.Now
	}
	for _, ck := range o.Keys {
		var d [sha256.Size]byte
		switch {
		case ck.Key != "":
			d = sha256.Sum256([]byte(ck.Key.Reveal()))
		case ck.KeySHA256 != "":
			b, err := hex.DecodeString(ck.KeySHA256)
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("auth: key %q: key_sha256 must be 64 hex characters", ck.Name)
			}
			copy(d[:], b)
		default:
			return nil, fmt.Errorf("auth: key %q has no key", ck.Name)
		}
		if other, dup := k.byDigest[d]; dup {
			return nil, fmt.Errorf("auth: keys %q and %q are the same key", other.Name, ck.Name)
		}
		k.byDigest[d] = &Identity{Name: ck.Name, Role: RoleUser, Enabled: true}
	}
	if o.AdminKey != "" {
		d := sha256.Sum256([]byte(o.AdminKey))
		if other, dup := k.byDigest[d]; dup {
			return nil, fmt.Errorf("auth: admin_key is the same key as %q", other.Name)
		}
		k.byDigest[d] = &Identity{Name: AdminKeyName, Role: RoleAdmin, Enabled: true}
	}
	return k, nil
}

// AdminKeyName is the bootstrap admin key's name in logs and the audit table.
const AdminKeyName = "admin_key"

// Len is the number of static keys.
func (k *Keyring) Len() int { return len(k.byDigest) }

// Managed reports whether the keyring has a Source of managed keys.
func (k *Keyring) Managed() bool { return k.source != nil }

// Open reports whether the gateway has no key at all, static or managed:
// then (on loopback only, the config ensures) requests need none.
func (k *Keyring) Open() bool {
	return len(k.byDigest) == 0 && (k.source == nil || k.source.Empty())
}

// Errors returned by Check. Their text is what the client sees.
var (
	ErrMissing = errors.New("x-api-key header is required")
	ErrInvalid = errors.New("invalid x-api-key")
)

// Presented returns the key a request carries: x-api-key, or else an
// Authorization bearer token (the newer SDKs always send the latter).
func Presented(h http.Header) string {
	if v := h.Get("X-Api-Key"); v != "" {
		return v
	}
	v := h.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// Check returns the name of the key presented.
func (k *Keyring) Check(presented string) (string, error) {
	id, err := k.Identify(presented)
	if err != nil {
		return "", err
	}
	return id.Name, nil
}

// Identify returns who presented the key: the static keys first, then the
// managed ones, both in memory. A managed key that is revoked, disabled or
// expired is refused with the reason.
func (k *Keyring) Identify(presented string) (*Identity, error) {
	if presented == "" {
		return nil, ErrMissing
	}
	d := sha256.Sum256([]byte(presented))
	if id, ok := k.byDigest[d]; ok {
		return id, nil
	}
	if k.source == nil {
		return nil, ErrInvalid
	}
	now := k.now()
	id := k.source.Lookup(d, now)
	if id == nil {
		return nil, ErrInvalid
	}
	if err := id.usable(now); err != nil {
		return nil, err
	}
	return id, nil
}
