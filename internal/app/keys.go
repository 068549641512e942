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
	cfg    *config.Config
	cache  *keys.Cache
	shared *store.Store // the caller's store: used, never closed here

	mu   sync.Mutex
	st   *store.Store
	repo *keys.Repo
}

func newManaged(ctx context.Context, cfg *config.Config, log *slog.Logger, shared *store.Store) (*managed, error) {
	m := &managed{cfg: cfg, cache: keys.NewCache(nil, log), shared: shared}
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
	static := make([]string, len(m.cfg.Keys))
	for i, k := range m.cfg.Keys {
		static[i] = k.Name
	}
	repo.Reserve("a static key's name in the config file", static...)
	repo.Reserve("reserved for the admin credentials", auth.AdminKeyName, "admin_token", "anonymous")
	signing := make([]string, len(m.cfg.HMAC.Keys))
	for i, k := range m.cfg.HMAC.Keys {
		signing[i] = k.ID
	}
	repo.Reserve("a signing key's id in hmac.keys", signing...)
	if master := m.cfg.HMAC.MasterSecret.Reveal(); master != "" {
		repo.SignWith([]byte(master))
	}
	m.cache.Attach(repo)
	if err := m.cache.Refresh(ctx); err != nil {
		return fail(fmt.Errorf("load managed keys: %w", err))
	}
	if owned {
		m.st = st
	}
	m.repo = repo
	return repo, nil
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

// keyring is cfg's static keys and bootstrap admin key, and the managed
// ones (which a reload does not touch: they live in the store).
func (m *managed) keyring(cfg *config.Config) (*auth.Keyring, error) {
	return auth.Build(auth.Options{Keys: cfg.Keys, AdminKey: cfg.AdminKey.Reveal(), Source: m.cache})
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
