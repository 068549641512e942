package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
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

	// A managed key that signed correctly but may not be used.
	errSignerExpired  = errors.New("the signing key has expired")
	errSignerDisabled = errors.New("the signing key is disabled")
	errSignerRevoked  = errors.New("the signing key has been revoked")
)

// Signers is the managed keys that may sign requests (keys.Cache).
type Signers interface {
	// Signer returns who keyID is and the salts its signing secrets derive
	// from at now: the current one and, in a rotation's grace, the
	// previous one. A nil Identity: keyID signs nothing.
	Signer(keyID string, now time.Time) (*Identity, []string)
}

// SigningPrefix starts every managed key's signing secret.
const SigningPrefix = "fys-"

// signingLabel opens what a signing secret derives from, so the master
// secret's MACs serve this one purpose.
const signingLabel = "ferry-signing-secret-v1"

// SigningSecret is a managed key's signing secret: HMAC-SHA256 keyed with
// the master secret (hmac.master_secret, never stored) over the key's id
// and a random salt stored with the key, in base64url after SigningPrefix.
// The store holds only the salt, so neither a copy of the database nor the
// config alone can sign; a new salt (rotation) makes a new secret. A client
// uses the string as given as its HMAC key, as with hmac.keys' secrets.
func SigningSecret(master []byte, keyID, salt string) string {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(signingLabel + "\n" + keyID + "\n" + salt))
	return SigningPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Replays remembers the signatures seen: FirstUse reports whether key is
// new, and keeps it for ttl.
type Replays interface {
	FirstUse(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// HMAC verifies signed requests.
type HMAC struct {
	secrets map[string][]byte
	ids     map[string]*Identity
	master  []byte  // nil: managed keys do not sign
	signers Signers // nil: no managed keys
	skew    time.Duration
	replays Replays
	now     func() time.Time
}

// HMACOptions builds an HMAC.
type HMACOptions struct {
	Config  config.HMAC
	Signers Signers          // managed keys (signing with Config.MasterSecret); nil: none
	Replays Replays          // nil: remembered in memory (one instance)
	Now     func() time.Time // nil: time.Now
}

// NewHMAC builds a verifier; nil when no key is configured and managed
// keys cannot sign (no master secret).
func NewHMAC(o HMACOptions) (*HMAC, error) {
	master := o.Config.MasterSecret.Reveal()
	if len(o.Config.Keys) == 0 && (master == "" || o.Signers == nil) {
		return nil, nil
	}
	h := &HMAC{secrets: map[string][]byte{}, ids: map[string]*Identity{}, skew: o.Config.Skew, replays: o.Replays, now: o.Now}
	if master != "" && o.Signers != nil {
		if len(master) < config.MinHMACSecret {
			return nil, fmt.Errorf("auth: hmac.master_secret needs at least %d bytes", config.MinHMACSecret)
		}
		h.master, h.signers = []byte(master), o.Signers
	}
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

// Open reports whether no key is configured here (signing managed keys
// count in the Keyring's Open).
func (h *HMAC) Open() bool { return len(h.secrets) == 0 }

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
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return nil, ErrSignature
	}
	now := h.now()
	id, secrets := h.signer(keyID, now)
	if id == nil || !anySigned(secrets, CanonicalString(ts, method, target, body), got) {
		return nil, ErrSignature
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, ErrSkew
	}
	if d := now.Sub(time.Unix(secs, 0)); d > h.skew || d < -h.skew {
		return nil, ErrSkew
	}
	if err := id.usable(now); err != nil {
		return nil, signerUnusable(err)
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
	return id, nil
}

// signer is who keyID is and the secrets it may sign with: a configured
// key first, then a managed one.
func (h *HMAC) signer(keyID string, now time.Time) (*Identity, [][]byte) {
	if secret, ok := h.secrets[keyID]; ok {
		return h.ids[keyID], [][]byte{secret}
	}
	if h.signers == nil {
		return nil, nil
	}
	id, salts := h.signers.Signer(keyID, now)
	if id == nil {
		return nil, nil
	}
	secrets := make([][]byte, len(salts))
	for i, salt := range salts {
		secrets[i] = []byte(SigningSecret(h.master, keyID, salt))
	}
	return id, secrets
}

// anySigned reports whether sig is canonical's MAC with one of secrets,
// comparing in constant time.
func anySigned(secrets [][]byte, canonical string, sig []byte) bool {
	ok := false
	for _, secret := range secrets {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(canonical))
		ok = hmac.Equal(sig, m.Sum(nil)) || ok
	}
	return ok
}

func signerUnusable(err error) error {
	switch {
	case errors.Is(err, ErrRevoked):
		return errSignerRevoked
	case errors.Is(err, ErrDisabled):
		return errSignerDisabled
	}
	return errSignerExpired
}
