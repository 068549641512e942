package app

import (
	"log/slog"

	"github.com/ferrygw/ferry/internal/auth"
)

// hmac builds the verifier of signed service requests (nil without
// hmac.keys). With Redis, a signature used on one instance is refused on
// every other; without it, each instance remembers its own.
func (a *App) hmac(log *slog.Logger) (*auth.HMAC, error) {
	if len(a.cfg.HMAC.Keys) == 0 {
		return nil, nil
	}
	var replays auth.Replays
	if rdb := a.redisClient(); rdb != nil {
		replays = auth.NewRedisReplays(rdb, "", nil)
	}
	log.Debug("signed requests on", "keys", len(a.cfg.HMAC.Keys), "shared_replays", replays != nil)
	return auth.NewHMAC(auth.HMACOptions{Config: a.cfg.HMAC, Replays: replays})
}
