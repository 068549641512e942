package auth

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
)

// Role is what a key may do.
type Role string

// The roles. An admin may do everything; a user may call the model APIs;
// a viewer may read usage, status and the console but not call models.
const (
	RoleAdmin  Role = "admin"
	RoleUser   Role = "user"
	RoleViewer Role = "viewer"
)

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleUser || r == RoleViewer }

// Allows reports whether r may act at the level of need: admin > user and
// viewer, where user and viewer are different rights (model calls versus
// reading), and an admin has both.
func (r Role) Allows(need Role) bool { return r == RoleAdmin || r == need }

// Limits are a key's own rate limits; zero means the route's or global.
type Limits struct {
	RequestsPerMinute int `json:"requests_per_minute,omitempty"`
	TokensPerMinute   int `json:"tokens_per_minute,omitempty"`
	Concurrency       int `json:"concurrency,omitempty"`
}

// Budget is a spending cap on a key, in micro-units of Currency.
type Budget struct {
	Period      string `json:"period"`       // daily | weekly | monthly
	LimitMicros int64  `json:"limit_micros"` // e.g. ¥10 = 10_000_000
	Currency    string `json:"currency"`     // CNY | USD
	AllowOver   bool   `json:"allow_overrun,omitempty"`
}

// Identity is who presented a key. Static keys from the config file are
// users with no scopes; managed keys carry their record's fields. An
// Identity is shared and must not be modified.
type Identity struct {
	ID       string // managed key's id ("" for a static key)
	Name     string
	Role     Role
	Team     string
	Tag      string
	Models   []string // allowed client model names; "prefix*" matches a prefix; empty allows all
	Routes   []string // allowed API routes (messages, count_tokens, chat_completions, complete, completions, models); empty allows all
	Limits   Limits
	Budgets  []Budget
	Metadata map[string]string
	Expires  time.Time // zero: never
	Enabled  bool
	Revoked  bool
}

// Errors for keys that exist but may not be used. Their text is what the
// client sees; none names the key.
var (
	ErrExpired  = errors.New("x-api-key has expired")
	ErrDisabled = errors.New("x-api-key is disabled")
	ErrRevoked  = errors.New("x-api-key has been revoked")
)

// usable says why id may not be used at now, if it may not.
func (id *Identity) usable(now time.Time) error {
	switch {
	case id.Revoked:
		return ErrRevoked
	case !id.Enabled:
		return ErrDisabled
	case !id.Expires.IsZero() && !now.Before(id.Expires):
		return ErrExpired
	}
	return nil
}

// AllowRoute checks the role and the route scope for a model API route.
// The error is a 403 permission_error naming the scope, never the key.
func (id *Identity) AllowRoute(route string) error {
	if !id.Role.Allows(RoleUser) {
		return apierr.New(apierr.Permission, "this key's role (%s) may not call the model APIs", id.Role)
	}
	if len(id.Routes) > 0 && !contains(id.Routes, route) {
		return apierr.New(apierr.Permission, "route %q is outside this key's scopes (routes: %s)", route, strings.Join(id.Routes, ", "))
	}
	return nil
}

// AllowModel checks the model scope.
func (id *Identity) AllowModel(model string) error {
	if len(id.Models) == 0 || MatchModel(id.Models, model) {
		return nil
	}
	return apierr.New(apierr.Permission, "model %q is outside this key's scopes (models: %s)", model, strings.Join(id.Models, ", "))
}

// MatchModel reports whether model matches one of patterns: exact, or a
// prefix when the pattern ends in "*" ("*" alone matches every model).
func MatchModel(patterns []string, model string) bool {
	for _, p := range patterns {
		if pre, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(model, pre) {
				return true
			}
		} else if p == model {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Source is a set of managed keys kept in memory (internal/keys). Lookup
// must not do I/O: it runs on every request.
type Source interface {
	// Lookup returns the identity whose key has digest d at now, nil if
	// none. A rotated key's old digest finds it until its grace ends.
	Lookup(d [sha256.Size]byte, now time.Time) *Identity
	// Empty reports whether the set has no keys at all (revoked ones count).
	Empty() bool
}

// Digest is the SHA-256 of a presented key, the only form keys are kept in.
func Digest(key string) [sha256.Size]byte { return sha256.Sum256([]byte(key)) }

func (id *Identity) String() string { return fmt.Sprintf("%s (%s)", id.Name, id.Role) }
