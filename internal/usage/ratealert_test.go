package usage

import (
	"context"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/store"
	"github.com/ferrygw/ferry/internal/store/storetest"
)

func TestRateWatch(t *testing.T) {
	storetest.Both(t, func(t *testing.T, s *store.Store) {
		now := time.Date(2026, 12, 6, 4, 10, 30, 0, time.UTC)
		l, err := NewLedger(LedgerOptions{Store: s})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			l.Record(Row{At: now.Add(-time.Duration(i) * time.Hour), Key: "alice", Tag: "batch", Cost: 1, Currency: CNY, Tokens: Tokens{Input: 10}})
		}
		l.Record(Row{At: now.Add(-50 * time.Second), Key: "bob", Tag: "chat", Cost: 3_000_000, Currency: CNY})
		l.Record(Row{At: now.Add(-40 * time.Second), Key: "bob", Tag: "chat", Cost: 1_000_000, Currency: USD})
		l.Record(Row{At: now.Add(-40 * time.Second), Key: "bob", Tag: "chat", Cost: 9_000_000, Currency: CNY, Shadow: true})
		if err := l.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		w := &RateWatch{Store: s, Location: time.UTC, USDToCNY: 7_200_000, Rules: []RateRule{
			{Name: "calls", Scope: ScopeKey, Period: Daily, Calls: 4},
			{Name: "batch", Scope: ScopeTag, Match: "batch", Period: Daily, Calls: 5},
			{Name: "burn", Scope: ScopeKey, PerMinute: 10_000_000, Currency: CNY},
		}}
		hits, err := w.Check(context.Background(), now)
		if err != nil {
			t.Fatal(err)
		}
		// alice: 5 calls today > 4; bob: 3 calls not > 4, but ¥3 + $1 (¥7.20)
		// = ¥10.20 in the minute 04:09 > ¥10; the shadow row is not counted;
		// batch: 5 calls is not above 5.
		if len(hits) != 2 || hits[0].Subject != "alice" || hits[0].Calls != 5 || hits[0].Tokens != 50 || hits[0].Spend ||
			hits[1].Subject != "bob" || !hits[1].Spend || hits[1].Spent != 10_200_000 || hits[1].Window.Key != "minute:2026-12-06T04:09" {
			t.Errorf("hits %+v", hits)
		}
	}, Schema)
}
