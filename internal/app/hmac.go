package app

import (
	"log/slog"

	"github.com/ferrygw/ferry/internal/auth"
)

// hmac builds the verifier of signed service requests (nil without
// hmac.keys or hmac.master_secret): the configured keys, and the managed
// ones that sign. With Redis, a signature used on one instance is refused
// on every other; without it, each instance remembers its own.
func (a *App) hmac(log *slog.Logger) (*auth.HMAC, error) {
	if len(a.cfg.HMAC.Keys) == 0 && a.cfg.HMAC.MasterSecret == "" {
		return nil, nil
	}
	var replays auth.Replays
	if rdb := a.redisClient(); rdb != nil {
		replays = auth.NewRedisReplays(rdb, "", nil)
	}
	log.Debug("signed requests on", "keys", len(a.cfg.HMAC.Keys), "managed", a.cfg.HMAC.MasterSecret != "", "shared_replays", replays != nil)
	return auth.NewHMAC(auth.HMACOptions{Config: a.cfg.HMAC, Signers: a.managed.cache, Replays: replays})
}
