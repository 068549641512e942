package app

import (
	"github.com/ferrygw/ferry/internal/auth"
	"github.com/ferrygw/ferry/internal/config"
)

// hmac builds the verifier of cfg's signed service requests (nil without
// hmac.keys or hmac.master_secret): the configured keys, and the managed
// ones that sign, on the app's one replay memory (replayMemory): a reload
// that changes the keys keeps every signature already seen refused.
func (a *App) hmac(cfg *config.Config) (*auth.HMAC, error) {
	if len(cfg.HMAC.Keys) == 0 && cfg.HMAC.MasterSecret == "" {
		return nil, nil
	}
	return auth.NewHMAC(auth.HMACOptions{Config: cfg.HMAC, Signers: a.managed.cache, Replays: a.replayMemory()})
}

// replayMemory is the memory of signatures used, built on first need and
// kept over reloads. With Redis, a signature used on one instance is
// refused on every other; without it, each instance remembers its own.
// Called while building a generation (New, or a reload under its lock).
func (a *App) replayMemory() auth.Replays {
	if a.replays == nil {
		if rdb := a.redisClient(); rdb != nil {
			a.replays = auth.NewRedisReplays(rdb, "", nil)
		} else {
			a.replays = auth.NewMemoryReplays(nil)
		}
	}
	return a.replays
}
