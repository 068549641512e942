// Package keys is Ferry's managed gateway keys: created, updated, rotated
// and revoked through the admin API, kept in the store (only their SHA-256
// digests), and served to the hot path from an in-memory Cache that every
// instance refreshes by polling one version row.
//
// A key is "fy-" followed by 32 random bytes in unpadded base64url, shown
// once, at creation or rotation. SHA-256 is the right digest for keys of
// 256 random bits: there is nothing to brute-force, so a slow password hash
// would only cost every request its latency.
package keys

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/ferrygw/ferry/internal/auth"
)

// Prefix starts every managed key.
const Prefix = "fy-"

// RouteNames lists the API routes a key's routes scope may name (the
// server's endpoint names).
func RouteNames() []string {
	return []string{"messages", "count_tokens", "chat_completions", "complete", "completions", "models"}
}

// Key is a managed key as the admin API shows it: never the key itself,
// only its first characters.
type Key struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Prefix     string            `json:"prefix"` // the key's first characters, to recognise it
	Role       auth.Role         `json:"role"`
	Team       string            `json:"team,omitempty"`
	Tag        string            `json:"tag,omitempty"`
	Models     []string          `json:"models"`
	Routes     []string          `json:"routes"`
	Limits     auth.Limits       `json:"limits"`
	Budgets    []auth.Budget     `json:"budgets"`
	Metadata   map[string]string `json:"metadata"`
	ExpiresAt  *time.Time        `json:"expires_at,omitempty"`
	Enabled    bool              `json:"enabled"`
	RevokedAt  *time.Time        `json:"revoked_at,omitempty"`
	GraceUntil *time.Time        `json:"previous_key_valid_until,omitempty"` // after a rotation
	Signing    bool              `json:"signing"`                            // may sign requests (X-Ferry-Key-Id: its id)
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`

	// SigningSecret is set only in what Create and Rotate return, for a
	// key that signs; it is derived, never stored (auth.SigningSecret).
	SigningSecret string `json:"signing_secret,omitempty"`

	hash, prevHash string
	salt, prevSalt string // what the signing secrets derive from; "" for none
}

// Status is "active", "disabled", "expired" or "revoked" at now.
func (k *Key) Status(now time.Time) string {
	switch {
	case k.RevokedAt != nil:
		return "revoked"
	case !k.Enabled:
		return "disabled"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return "expired"
	}
	return "active"
}

// Identity is what the hot path needs of k.
func (k *Key) Identity() *auth.Identity {
	id := &auth.Identity{
		ID: k.ID, Name: k.Name, Role: k.Role, Team: k.Team, Tag: k.Tag,
		Models: k.Models, Routes: k.Routes, Limits: k.Limits, Budgets: k.Budgets,
		Metadata: k.Metadata, Enabled: k.Enabled, Revoked: k.RevokedAt != nil,
	}
	if k.ExpiresAt != nil {
		id.Expires = *k.ExpiresAt
	}
	return id
}

// Spec is a key's settable fields; nil leaves a field as it is (on
// update) or at its default (on create).
type Spec struct {
	Name      *string            `json:"name"`
	Role      *auth.Role         `json:"role"`
	Team      *string            `json:"team"`
	Tag       *string            `json:"tag"`
	Models    *[]string          `json:"models"`
	Routes    *[]string          `json:"routes"`
	Limits    *auth.Limits       `json:"limits"`
	Budgets   *[]auth.Budget     `json:"budgets"`
	Metadata  *map[string]string `json:"metadata"`
	ExpiresAt *string            `json:"expires_at"` // RFC 3339; "" clears
	Enabled   *bool              `json:"enabled"`
	// Signing: on create, true gives the key a signing secret; on update,
	// false takes it away (a new one comes only with a rotation, which
	// shows it).
	Signing *bool `json:"signing"`
}

// InvalidError is a Spec the store refuses; its text names the field.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

func invalid(format string, a ...any) error { return &InvalidError{Msg: fmt.Sprintf(format, a...)} }

// NameTakenError is a name another key already has: a managed one, or
// one the gateway reserves (the config file's static keys, admin_key).
type NameTakenError struct{ Msg string }

func (e *NameTakenError) Error() string { return e.Msg }

// ErrNotFound is returned for an unknown id or name.
var ErrNotFound = errors.New("no such key")

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// apply sets s's fields on k, validating them.
func (s *Spec) apply(k *Key) error {
	if s.Name != nil {
		if !nameRE.MatchString(*s.Name) {
			return invalid("name: %q must be 1-64 letters, digits, '.', '_' or '-'", *s.Name)
		}
		k.Name = *s.Name
	}
	if s.Role != nil {
		if !s.Role.Valid() {
			return invalid("role: %q is not admin, user or viewer", *s.Role)
		}
		k.Role = *s.Role
	}
	setString(&k.Team, s.Team)
	setString(&k.Tag, s.Tag)
	if s.Models != nil {
		k.Models = nonNil(*s.Models)
	}
	if s.Routes != nil {
		for _, r := range *s.Routes {
			if !contains(RouteNames(), r) {
				return invalid("routes: %q is not one of %v", r, RouteNames())
			}
		}
		k.Routes = nonNil(*s.Routes)
	}
	if s.Limits != nil {
		l := *s.Limits
		if l.RequestsPerMinute < 0 || l.TokensPerMinute < 0 || l.Concurrency < 0 {
			return invalid("limits: must not be negative")
		}
		k.Limits = l
	}
	if s.Budgets != nil {
		for i, b := range *s.Budgets {
			if err := checkBudget(b); err != nil {
				return invalid("budgets[%d]: %v", i, err)
			}
		}
		k.Budgets = append([]auth.Budget{}, *s.Budgets...)
	}
	if s.Metadata != nil {
		k.Metadata = map[string]string{}
		for mk, mv := range *s.Metadata {
			k.Metadata[mk] = mv
		}
	}
	if s.ExpiresAt != nil {
		k.ExpiresAt = nil
		if *s.ExpiresAt != "" {
			t, err := time.Parse(time.RFC3339, *s.ExpiresAt)
			if err != nil {
				return invalid("expires_at: %q is not an RFC 3339 time", *s.ExpiresAt)
			}
			t = t.UTC()
			k.ExpiresAt = &t
		}
	}
	if s.Enabled != nil {
		k.Enabled = *s.Enabled
	}
	return nil
}

func checkBudget(b auth.Budget) error {
	switch {
	case b.Period != "daily" && b.Period != "weekly" && b.Period != "monthly":
		return fmt.Errorf("period %q is not daily, weekly or monthly", b.Period)
	case b.Currency != "CNY" && b.Currency != "USD":
		return fmt.Errorf("currency %q is not CNY or USD", b.Currency)
	case b.LimitMicros <= 0:
		return errors.New("limit_micros must be positive")
	}
	return nil
}

func setString(dst, src *string) {
	if src != nil {
		*dst = *src
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return append([]string{}, s...)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// generate makes a new key and its digest (hex).
func generate() (secret, digest string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("keys: random: %w", err)
	}
	secret = Prefix + base64.RawURLEncoding.EncodeToString(b[:])
	d := auth.Digest(secret)
	return secret, hex.EncodeToString(d[:]), nil
}

// newSalt makes the random salt a signing secret derives from (hex).
func newSalt() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("keys: random: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func newID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("keys: random: %w", err)
	}
	return "key_" + hex.EncodeToString(b[:]), nil
}

// shown is how many of a key's characters the admin API shows.
const shown = 10
