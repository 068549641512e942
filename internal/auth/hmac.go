package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

// Signed service requests (docs/security.md): instead of a bearer key, a
// service sends three headers, and the signature covers the method, the
// request target and the body, so a captured request cannot be changed,
// and cannot be sent again (each signature is accepted once).
const (
	HeaderKeyID     = "X-Ferry-Key-Id"
	HeaderTimestamp = "X-Ferry-Timestamp" // Unix seconds
	HeaderSignature = "X-Ferry-Signature" // hex HMAC-SHA256 of CanonicalString
)

// hmacScheme opens the canonical string, so a signature made for something
// else with the same secret is never valid here.
const hmacScheme = "FERRY-HMAC-SHA256"

// CanonicalString is what a request's signature covers, one item a line:
//
//	FERRY-HMAC-SHA256
//	<timestamp, the X-Ferry-Timestamp value>
//	<method, upper case>
//	<request target as sent: path and query, as /proxy/v1/messages>
//	<SHA-256 of the body, lower-case hex>
func CanonicalString(timestamp, method, target string, body []byte) string {
	h := sha256.Sum256(body)
	return hmacScheme + "\n" + timestamp + "\n" + method + "\n" + target + "\n" + hex.EncodeToString(h[:])
}

// Sign returns the X-Ferry-Signature value for a request.
func Sign(secret []byte, timestamp, method, target string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(CanonicalString(timestamp, method, target, body)))
	return hex.EncodeToString(m.Sum(nil))
}

// Errors of Verify. Their text is what the client sees.
var (
	ErrSignatureMissing = errors.New("X-Ferry-Key-Id, X-Ferry-Timestamp and X-Ferry-Signature are all required for a signed request")
	ErrSignature        = errors.New("invalid request signature")
	ErrSkew             = errors.New("X-Ferry-Timestamp is too far from the gateway's clock")
	ErrReplay           = errors.New("this request signature was already used")
)

// Replays remembers the signatures seen: FirstUse reports whether key is
// new, and keeps it for ttl.
type Replays interface {
	FirstUse(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// HMAC verifies signed requests.
type HMAC struct {
	secrets map[string][]byte
	ids     map[string]*Identity
	skew    time.Duration
	replays Replays
	now     func() time.Time
}

// HMACOptions builds an HMAC.
type HMACOptions struct {
	Config  config.HMAC
	Replays Replays          // nil: remembered in memory (one instance)
	Now     func() time.Time // nil: time.Now
}

// NewHMAC builds a verifier; nil when no key is configured.
func NewHMAC(o HMACOptions) (*HMAC, error) {
	if len(o.Config.Keys) == 0 {
		return nil, nil
	}
	h := &HMAC{secrets: map[string][]byte{}, ids: map[string]*Identity{}, skew: o.Config.Skew, replays: o.Replays, now: o.Now}
	if h.skew <= 0 {
		h.skew = config.DefaultHMACSkew
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.replays == nil {
		h.replays = NewMemoryReplays(h.now)
	}
	for _, k := range o.Config.Keys {
		if k.ID == "" || len(k.Secret.Reveal()) < config.MinHMACSecret {
			return nil, fmt.Errorf("auth: hmac key %q: needs an id and a secret of at least %d bytes", k.ID, config.MinHMACSecret)
		}
		h.secrets[k.ID] = []byte(k.Secret.Reveal())
		h.ids[k.ID] = &Identity{Name: k.ID, Role: RoleUser, Enabled: true}
	}
	return h, nil
}

// Signed reports whether a request carries a signature (and so is checked
// by Verify rather than as a bearer key).
func Signed(hdr http.Header) bool { return hdr.Get(HeaderSignature) != "" }

// Verify checks a signed request and returns who signed it. target is the
// request target as the client sent it (http.Request.RequestURI).
func (h *HMAC) Verify(ctx context.Context, method, target string, hdr http.Header, body []byte) (*Identity, error) {
	keyID, ts, sig := hdr.Get(HeaderKeyID), hdr.Get(HeaderTimestamp), hdr.Get(HeaderSignature)
	if keyID == "" || ts == "" || sig == "" {
		return nil, ErrSignatureMissing
	}
	secret, ok := h.secrets[keyID]
	if !ok {
		return nil, ErrSignature
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return nil, ErrSignature
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(CanonicalString(ts, method, target, body)))
	if !hmac.Equal(got, m.Sum(nil)) { // constant time
		return nil, ErrSignature
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, ErrSkew
	}
	if d := h.now().Sub(time.Unix(secs, 0)); d > h.skew || d < -h.skew {
		return nil, ErrSkew
	}
	// A signature is valid for 2×skew around its timestamp: remembering
	// it that long refuses every replay.
	first, err := h.replays.FirstUse(ctx, "ferry:hmac:"+keyID+":"+hex.EncodeToString(got), 2*h.skew)
	if err != nil {
		return nil, fmt.Errorf("auth: replay check: %w", err)
	}
	if !first {
		return nil, ErrReplay
	}
	return h.ids[keyID], nil
}
