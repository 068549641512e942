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
	return changedOne(ctx, c.Store, "usage: alert claim", `INSERT INTO usage_alert_claims (alert_key, until_us) VALUES (?, ?) ON CONFLICT (alert_key) DO NOTHING`,
		key, store.Micros(until))
}

// changedOne runs a statement and reports whether it changed exactly one
// row (a conditional UPDATE that applied, an INSERT that was not a
// conflict); errors are wrapped with what.
func changedOne(ctx context.Context, s *store.Store, what, query string, args ...any) (bool, error) {
	res, err := s.Exec(ctx, nil, query, args...)
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return n == 1, nil
}
