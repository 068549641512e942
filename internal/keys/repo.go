package keys

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ferrygw/ferry/internal/auth"
	"github.com/ferrygw/ferry/internal/store"
)

// Repo is the managed keys in the store. Every write bumps key_state's
// version in the same transaction, which is what the caches poll.
type Repo struct {
	st       *store.Store
	now      func() time.Time
	reserved atomic.Pointer[map[string]string] // name: what has it (SetReserved)
	master   []byte                            // hmac.master_secret; nil: keys cannot sign (SignWith)
}

// SignWith lets keys sign requests: their signing secrets derive from
// master (auth.SigningSecret), which is never stored. Call it before the
// Repo is used.
func (r *Repo) SignWith(master []byte) { r.master = master }

// errNoMaster refuses a signing secret without a master secret.
var errNoMaster = &InvalidError{Msg: "signing: the gateway has no hmac.master_secret, so managed keys cannot sign: " +
	"set it (32+ bytes, e.g. ${FERRY_HMAC_MASTER}, the same on every instance) and restart"}

// sign gives k a new signing salt, keeping the current one as the previous
// one until grace ends (0: not at all), and sets k.SigningSecret.
func (r *Repo) sign(k *Key, grace *time.Time) error {
	if len(r.master) == 0 {
		return errNoMaster
	}
	salt, err := newSalt()
	if err != nil {
		return err
	}
	k.prevSalt = ""
	if grace != nil {
		k.prevSalt = k.salt
	}
	k.salt, k.Signing = salt, true
	k.SigningSecret = auth.SigningSecret(r.master, k.ID, salt)
	return nil
}

// SetReserved keeps names from managed keys: the config file's static
// keys and the bootstrap admin key, which the rate limits, ledger and
// audit tell apart by name. Each name maps to whose it is, for the
// refusal. It replaces the names set before: a reload sets its config's,
// while the Repo is in use. names must not be changed afterwards.
func (r *Repo) SetReserved(names map[string]string) { r.reserved.Store(&names) }

// NewRepo returns a Repo on st (migrated with Schema); now is the clock
// (time.Now if nil).
func NewRepo(st *store.Store, now func() time.Time) *Repo {
	if now == nil {
		now = time.Now
	}
	return &Repo{st: st, now: now}
}

const columns = `id, name, prefix, hash, prev_hash, prev_until, role, team, tag, models, routes, limits,
	budgets, metadata, expires_at, enabled, revoked_at, created_at, updated_at, sign_salt, prev_sign_salt`

// Create makes a key from spec (name required; role defaults to user) and
// returns it with the key itself, which is never retrievable again; with
// spec.Signing, the key's SigningSecret is set, shown once likewise.
func (r *Repo) Create(ctx context.Context, spec Spec) (Key, string, error) {
	if spec.Name == nil {
		return Key{}, "", invalid("name: required")
	}
	now := r.now().UTC()
	k := Key{Role: auth.RoleUser, Enabled: true, Models: []string{}, Routes: []string{},
		Budgets: []auth.Budget{}, Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	if err := spec.apply(&k); err != nil {
		return Key{}, "", err
	}
	secret, digest, err := generate()
	if err != nil {
		return Key{}, "", err
	}
	if k.ID, err = newID(); err != nil {
		return Key{}, "", err
	}
	if spec.Signing != nil && *spec.Signing {
		if err := r.sign(&k, nil); err != nil {
			return Key{}, "", err
		}
	}
	k.hash, k.Prefix = digest, secret[:shown]
	err = r.st.Tx(ctx, func(tx *sql.Tx) error {
		if err := r.nameFree(ctx, tx, k.Name, ""); err != nil {
			return err
		}
		vals, err := values(&k)
		if err != nil {
			return err
		}
		if _, err := r.st.Exec(ctx, tx, `INSERT INTO gateway_keys (`+columns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, vals...); err != nil {
			return fmt.Errorf("keys: create: %w", err)
		}
		return r.bump(ctx, tx)
	})
	if err != nil {
		return Key{}, "", err
	}
	return k, secret, nil
}

// List returns every key, revoked ones included, oldest first.
func (r *Repo) List(ctx context.Context) ([]Key, error) {
	rows, err := r.st.Query(ctx, nil, `SELECT `+columns+` FROM gateway_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("keys: list: %w", err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		k, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("keys: list: %w", err)
	}
	return out, nil
}

// Get returns the key with id or name ref.
func (r *Repo) Get(ctx context.Context, ref string) (Key, error) {
	return r.get(ctx, nil, ref)
}

func (r *Repo) get(ctx context.Context, q store.Querier, ref string) (Key, error) {
	k, err := scan(r.st.QueryRow(ctx, q, `SELECT `+columns+` FROM gateway_keys WHERE id = ? OR name = ?`, ref, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, ErrNotFound
	}
	return k, err
}

// Update applies spec to the key ref. Signing may only be turned off
// here: a new signing secret comes with a rotation, which shows it.
func (r *Repo) Update(ctx context.Context, ref string, spec Spec) (Key, error) {
	if spec.Signing != nil && *spec.Signing {
		return Key{}, invalid("signing: a key gets a signing secret when it is created or rotated (rotate with \"signing\": true), where it is shown once")
	}
	return r.change(ctx, ref, func(k *Key) error {
		if spec.Signing != nil {
			k.salt, k.prevSalt, k.Signing = "", "", false
		}
		return spec.apply(k)
	})
}

// Rotate gives the key ref a new secret, returned once. The old one stays
// valid for grace (0: not at all). A key that signs gets a new signing
// secret with the same grace, in the returned Key's SigningSecret; sign
// gives one to a key that has none.
func (r *Repo) Rotate(ctx context.Context, ref string, grace time.Duration, sign bool) (Key, string, error) {
	secret, digest, err := generate()
	if err != nil {
		return Key{}, "", err
	}
	k, err := r.change(ctx, ref, func(k *Key) error {
		if k.RevokedAt != nil {
			return invalid("key is revoked: create a new one")
		}
		k.prevHash, k.GraceUntil = k.hash, nil
		if grace > 0 {
			until := r.now().UTC().Add(grace)
			k.GraceUntil = &until
		} else {
			k.prevHash = ""
		}
		k.hash, k.Prefix = digest, secret[:shown]
		if k.Signing || sign {
			return r.sign(k, k.GraceUntil)
		}
		return nil
	})
	if err != nil {
		return Key{}, "", err
	}
	return k, secret, nil
}

// Revoke ends the key ref for good (its rotation grace too).
func (r *Repo) Revoke(ctx context.Context, ref string) (Key, error) {
	return r.change(ctx, ref, func(k *Key) error {
		if k.RevokedAt == nil {
			now := r.now().UTC()
			k.RevokedAt = &now
		}
		k.prevHash, k.prevSalt, k.GraceUntil = "", "", nil
		return nil
	})
}

// change reads the key ref, lets f modify it and writes it back, in one
// transaction.
func (r *Repo) change(ctx context.Context, ref string, f func(*Key) error) (Key, error) {
	var k Key
	err := r.st.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if k, err = r.get(ctx, tx, ref); err != nil {
			return err
		}
		oldName := k.Name
		if err := f(&k); err != nil {
			return err
		}
		if k.Name != oldName {
			if err := r.nameFree(ctx, tx, k.Name, k.ID); err != nil {
				return err
			}
		}
		k.UpdatedAt = r.now().UTC()
		vals, err := values(&k)
		if err != nil {
			return err
		}
		_, err = r.st.Exec(ctx, tx, `UPDATE gateway_keys SET name=?, prefix=?, hash=?, prev_hash=?, prev_until=?, role=?, team=?,
			tag=?, models=?, routes=?, limits=?, budgets=?, metadata=?, expires_at=?, enabled=?, revoked_at=?, created_at=?, updated_at=?,
			sign_salt=?, prev_sign_salt=? WHERE id = ?`, append(vals[1:], k.ID)...)
		if err != nil {
			return fmt.Errorf("keys: update: %w", err)
		}
		return r.bump(ctx, tx)
	})
	return k, err
}

func (r *Repo) nameFree(ctx context.Context, tx *sql.Tx, name, self string) error {
	if what, ok := r.reservedAs(name); ok {
		return &NameTakenError{Msg: fmt.Sprintf("name: %q is %s; a managed key needs another name", name, what)}
	}
	var n int
	if err := r.st.QueryRow(ctx, tx, `SELECT COUNT(*) FROM gateway_keys WHERE (name = ? OR id = ?) AND id <> ?`, name, name, self).Scan(&n); err != nil {
		return fmt.Errorf("keys: check name: %w", err)
	}
	if n > 0 {
		return &NameTakenError{Msg: fmt.Sprintf("name: %q is already used by another managed key", name)}
	}
	return nil
}

// reservedAs says whose name is, if it is reserved (SetReserved).
func (r *Repo) reservedAs(name string) (string, bool) {
	if m := r.reserved.Load(); m != nil {
		what, ok := (*m)[name]
		return what, ok
	}
	return "", false
}

func (r *Repo) bump(ctx context.Context, tx *sql.Tx) error {
	if _, err := r.st.Exec(ctx, tx, `UPDATE key_state SET version = version + 1 WHERE id = 1`); err != nil {
		return fmt.Errorf("keys: bump version: %w", err)
	}
	return nil
}

// Version is the keys' version: it changes with every write.
func (r *Repo) Version(ctx context.Context) (int64, error) {
	var v int64
	if err := r.st.QueryRow(ctx, nil, `SELECT version FROM key_state WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("keys: read version: %w", err)
	}
	return v, nil
}

type scanner interface{ Scan(dest ...any) error }

func scan(s scanner) (Key, error) {
	var (
		k                                         Key
		models, routes, limits, budgets, metadata string
		prevUntil, expires, revoked, created, upd int64
		enabled                                   int
	)
	err := s.Scan(&k.ID, &k.Name, &k.Prefix, &k.hash, &k.prevHash, &prevUntil, &k.Role, &k.Team, &k.Tag,
		&models, &routes, &limits, &budgets, &metadata, &expires, &enabled, &revoked, &created, &upd, &k.salt, &k.prevSalt)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Key{}, err
		}
		return Key{}, fmt.Errorf("keys: read: %w", err)
	}
	for _, f := range []struct {
		src string
		dst any
	}{{models, &k.Models}, {routes, &k.Routes}, {limits, &k.Limits}, {budgets, &k.Budgets}, {metadata, &k.Metadata}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return Key{}, fmt.Errorf("keys: key %s: %w", k.ID, err)
		}
	}
	k.Enabled, k.Signing = enabled != 0, k.salt != ""
	k.GraceUntil, k.ExpiresAt, k.RevokedAt = timePtr(prevUntil), timePtr(expires), timePtr(revoked)
	k.CreatedAt, k.UpdatedAt = store.Time(created), store.Time(upd)
	return k, nil
}

// values is k's columns in the order of columns.
func values(k *Key) ([]any, error) {
	enc := func(v any) string {
		b, _ := json.Marshal(v) // slices, maps and a struct of ints: cannot fail
		return string(b)
	}
	enabled := 0
	if k.Enabled {
		enabled = 1
	}
	return []any{k.ID, k.Name, k.Prefix, k.hash, k.prevHash, micros(k.GraceUntil), string(k.Role), k.Team, k.Tag,
		enc(nonNil(k.Models)), enc(nonNil(k.Routes)), enc(k.Limits), enc(k.Budgets), enc(k.Metadata),
		micros(k.ExpiresAt), enabled, micros(k.RevokedAt), store.Micros(k.CreatedAt), store.Micros(k.UpdatedAt),
		k.salt, k.prevSalt}, nil
}

func micros(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return store.Micros(*t)
}

func timePtr(us int64) *time.Time {
	if us == 0 {
		return nil
	}
	t := store.Time(us)
	return &t
}
