package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/ferrygw/ferry/internal/auth"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/keys"
	"github.com/ferrygw/ferry/internal/store"
)

// managed is the store and the managed keys. With a store passed in (the
// one `ferry serve` opens for the ledger too) the keys live there; else the
// store opens at start when it is configured (store, admin_key) or its
// SQLite file already exists, and otherwise on the first /admin/keys
// request: a gateway nobody manages writes no file.
type managed struct {
	cfg    *config.Config // the config at start: its restart-only settings
	cache  *keys.Cache
	log    *slog.Logger
	shared *store.Store // the caller's store: used, never closed here

	mu       sync.Mutex
	st       *store.Store
	repo     *keys.Repo
	reserved map[string]string // the serving config's reservedNames, kept from managed keys
}

func newManaged(ctx context.Context, cfg *config.Config, log *slog.Logger, shared *store.Store) (*managed, error) {
	m := &managed{cfg: cfg, cache: keys.NewCache(nil, log), log: log, shared: shared, reserved: reservedNames(cfg)}
	if shared != nil || cfg.Store != "" || cfg.AdminKey != "" || fileExists(filepath.Join(cfg.DataDir, store.SQLiteFile)) {
		if _, err := m.open(ctx); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// open opens and migrates the store on first need, and loads the keys.
func (m *managed) open(ctx context.Context) (*keys.Repo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.repo != nil {
		return m.repo, nil
	}
	st, owned := m.shared, false
	if st == nil {
		var err error
		if st, err = store.Open(ctx, store.Options{URL: m.cfg.Store.Reveal(), DataDir: m.cfg.DataDir}); err != nil {
			return nil, err
		}
		owned = true
	}
	fail := func(err error) (*keys.Repo, error) {
		if owned {
			st.Close()
		}
		return nil, err
	}
	if err := st.Migrate(ctx, keys.Schema()); err != nil {
		return fail(err)
	}
	repo := keys.NewRepo(st, nil)
	repo.SetReserved(m.reserved)
	if master := m.cfg.HMAC.MasterSecret.Reveal(); master != "" {
		repo.SignWith([]byte(master))
	}
	m.cache.Attach(repo)
	if err := m.cache.Refresh(ctx); err != nil {
		return fail(fmt.Errorf("load managed keys: %w", err))
	}
	m.warnTaken()
	if owned {
		m.st = st
	}
	m.repo = repo
	return repo, nil
}

// warnTaken logs the names the config reserves that managed keys already
// have (a key store shared with an instance configured otherwise, or a
// config edited while stopped). A reload refuses such names (taken); the
// start only warns, as refusing would take the gateway down: both keys
// still work, but rate limits, the ledger and audit count them as one.
func (m *managed) warnTaken() {
	names := m.cache.Taken(m.reserved)
	for _, n := range names {
		m.log.Warn("a managed key has a name the config file reserves; rate limits, usage and audit count the two as one key: rename the managed key (PATCH /admin/keys/NAME) or the config's",
			slog.String("name", n), slog.String("reserved_as", m.reserved[n]))
	}
}

// opened is the repository, nil while the store is not open.
func (m *managed) opened() *keys.Repo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.repo
}

// run keeps the cache fresh until ctx ends.
func (m *managed) run(ctx context.Context) {
	every := m.cfg.KeysRefresh
	if every <= 0 {
		every = config.DefaultKeysRefresh
	}
	m.cache.Run(ctx, every)
}

func (m *managed) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st != nil {
		m.st.Close()
	}
}

// reservedNames are the names cfg gives keys that managed keys may not
// take, each with whose it is: the rate limits, ledger and audit tell keys
// apart by name.
func reservedNames(cfg *config.Config) map[string]string {
	out := map[string]string{}
	for _, k := range cfg.Keys {
		out[k.Name] = "a static key's name in the config file"
	}
	for _, n := range []string{auth.AdminKeyName, "admin_token", "anonymous"} {
		out[n] = "reserved for the admin credentials"
	}
	for _, k := range cfg.HMAC.Keys {
		out[k.ID] = "a signing key's id in hmac.keys"
	}
	return out
}

// taken names the names cfg reserves (reservedNames) anew that managed
// keys already have, by name or id, each with whose it is in cfg,
// refreshing the managed keys first (a failed refresh checks the last set
// read). A reload refuses them, as a managed key is refused a reserved
// name. Names the serving config reserves already are not checked: a
// clash from before (a key store shared with a differently configured
// instance) is the start's to judge, and must not block every reload.
func (m *managed) taken(ctx context.Context, cfg *config.Config) []string {
	added := reservedNames(cfg)
	m.mu.Lock()
	for n := range m.reserved {
		delete(added, n)
	}
	m.mu.Unlock()
	if len(added) == 0 {
		return nil
	}
	if err := m.cache.Refresh(ctx); err != nil {
		m.log.Warn("managed keys could not be refreshed: a reload's key names are checked against the last set read", slog.Any("error", err))
	}
	names := m.cache.Taken(added)
	for i, n := range names {
		names[i] = fmt.Sprintf("%q (%s)", n, added[n])
	}
	return names
}

// reserve keeps cfg's reserved names (reservedNames) from managed keys
// from now on: a reload's config replaces the one before.
func (m *managed) reserve(cfg *config.Config) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reserved = reservedNames(cfg)
	if m.repo != nil {
		m.repo.SetReserved(m.reserved)
	}
}

// keyring is cfg's static keys and bootstrap admin key, and the managed
// ones (which a reload does not touch: they live in the store).
func (m *managed) keyring(cfg *config.Config) (*auth.Keyring, error) {
	return auth.Build(auth.Options{Keys: cfg.Keys, AdminKey: cfg.AdminKey.Reveal(), Source: m.cache})
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
