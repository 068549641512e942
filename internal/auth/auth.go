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

	"github.com/ferrygw/ferry/internal/config"
)

// Keyring is an immutable set of gateway keys.
type Keyring struct {
	byDigest map[[sha256.Size]byte]string // digest -> key name
}

// New builds a Keyring from config keys (plain or SHA-256 hex).
func New(keys []config.Key) (*Keyring, error) {
	k := &Keyring{byDigest: make(map[[sha256.Size]byte]string, len(keys))}
	for _, ck := range keys {
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
			return nil, fmt.Errorf("auth: keys %q and %q are the same key", other, ck.Name)
		}
		k.byDigest[d] = ck.Name
	}
	return k, nil
}

// Len is the number of keys.
func (k *Keyring) Len() int { return len(k.byDigest) }

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
	if presented == "" {
		return "", ErrMissing
	}
	d := sha256.Sum256([]byte(presented))
	name, ok := k.byDigest[d]
	if !ok {
		return "", ErrInvalid
	}
	return name, nil
}
