package usage

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/store"
	"github.com/ferrygw/ferry/internal/store/storetest"
)

// TestClaimsOnceAcrossInstances: two instances on one database, 20
// concurrent claims of one alert: exactly one wins; after its period ends
// the key can be claimed again.
func TestClaimsOnceAcrossInstances(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		claimsOnce(t, storetest.Open(t, url, Schema), storetest.Open(t, url, Schema))
	})
	t.Run("sqlite", func(t *testing.T) {
		s := storetest.SQLite(t, Schema)
		claimsOnce(t, s, s)
	})
}

func claimsOnce(t *testing.T, s1, s2 *store.Store) {
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cs := []*Claims{{Store: s1, Now: clock}, {Store: s2, Now: clock}}
	until := now.Add(time.Hour)
	var won atomic.Int64
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			ok, err := cs[i%2].Claim(context.Background(), "budget|team|search|b|80|daily:2026-12-06", until)
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Errorf("%d claims won, want 1", won.Load())
	}
	now = until.Add(time.Second)
	if ok, err := cs[1].Claim(context.Background(), "budget|team|search|b|80|daily:2026-12-06", now.Add(time.Hour)); !ok || err != nil {
		t.Errorf("after the period: %v, %v", ok, err)
	}
}
