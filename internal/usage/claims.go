package usage

import (
	"context"
	"fmt"
	"time"

	"github.com/ferrygw/ferry/internal/store"
)

// Claims makes "one alert per threshold per period" hold for the whole
// fleet: the first instance to insert an alert's key sends it. It is the
// alert package's Claimer.
type Claims struct {
	Store *store.Store
	Now   func() time.Time
}

// Claim reports whether this caller is the first to claim key; claims
// whose period ended are deleted on the way.
func (c *Claims) Claim(ctx context.Context, key string, until time.Time) (bool, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if _, err := c.Store.Exec(ctx, nil, `DELETE FROM usage_alert_claims WHERE until_us < ?`, store.Micros(now())); err != nil {
		return false, fmt.Errorf("usage: alert claims: %w", err)
	}
	res, err := c.Store.Exec(ctx, nil, `INSERT INTO usage_alert_claims (alert_key, until_us) VALUES (?, ?) ON CONFLICT (alert_key) DO NOTHING`,
		key, store.Micros(until))
	if err != nil {
		return false, fmt.Errorf("usage: alert claim: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("usage: alert claim: %w", err)
	}
	return n == 1, nil
}
