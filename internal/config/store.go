package config

import (
	"strings"
	"time"
)

// Store settings: where Ferry keeps managed keys (and, with later issues,
// the usage ledger and budgets), and the bootstrap admin key.
const (
	DefaultDataDir     = "./ferry-data"
	DefaultKeysRefresh = time.Second
	// MaxKeysRefresh bounds keys_refresh: a revoked key must stop working
	// on every instance within 5 s.
	MaxKeysRefresh = 5 * time.Second
	// EnvAdminKey names the environment variable the bootstrap admin key
	// is read from when admin_key is not set.
	EnvAdminKey = "FERRY_ADMIN_KEY"
)

// storeDefaults fills the store fields; env supplies FERRY_ADMIN_KEY.
func (c *Config) storeDefaults(env func(string) (string, bool)) {
	if c.AdminKey == "" && env != nil {
		if v, ok := env(EnvAdminKey); ok {
			c.AdminKey = Secret(v)
		}
	}
}

func (c *Config) storeFieldDefaults() {
	setDefault(&c.DataDir, DefaultDataDir)
	setDefault(&c.KeysRefresh, DefaultKeysRefresh)
}

func (v *validator) store(c *Config) {
	if s := c.Store.Reveal(); s != "" && !strings.HasPrefix(s, "postgres://") && !strings.HasPrefix(s, "postgresql://") {
		v.addf("store", "must be a postgres:// URL (leave it empty for SQLite in data_dir)")
	}
	if k := c.AdminKey.Reveal(); k != "" && len(k) < MinKeyLength {
		v.addf("admin_key", "is %d characters: use at least %d (e.g. the output of `openssl rand -hex 32`)", len(k), MinKeyLength)
	}
	if r := c.KeysRefresh; r != 0 && r < 100*time.Millisecond || r > MaxKeysRefresh {
		v.addf("keys_refresh", "%v is out of range: 100ms to %v (a revoked key must stop working everywhere within 5s)", r, MaxKeysRefresh)
	}
}
