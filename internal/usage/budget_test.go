package usage

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/store"
	"github.com/ferrygw/ferry/internal/store/storetest"
)

// halfYuan prices a request of 100k input and 400k max_tokens at ¥0.50.
var halfYuanReq = Request{Key: "alice", Team: "search", Provider: "deepseek", Model: "cheap", InputTokens: 100_000, MaxTokens: 400_000}

func testTable() *Table {
	return NewTable(nil, []Price{
		{Model: "cheap", Currency: CNY, Rates: Rates{Input: 1_000_000, Output: 1_000_000}},
		{Model: "claude-x", Currency: USD, Rates: Rates{Input: 1_000_000, Output: 1_000_000}},
	})
}

var budgetNow = time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC) // 12:00 Beijing

func newBudgets(t *testing.T, s *store.Store, n Notifier, bs ...Budget) *Budgets {
	t.Helper()
	b, err := NewBudgets(BudgetOptions{Store: s, Budgets: bs, Prices: testTable(), Notifier: n, USDToCNY: 7_200_000,
		Now: func() time.Time { return budgetNow }})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var tenYuan = Budget{Name: "alice-daily", Scope: ScopeKey, Match: "alice", Period: Daily, Currency: CNY, Limit: 10_000_000}

// TestBudgetExactAcrossInstances is the test: a ¥10 budget, 100
// concurrent requests estimated at ¥0.5 each on two instances sharing one
// database: total spend at most ¥10.5, the rest refused with 429 naming the
// budget and retry-after at the period's end.
func TestBudgetExactAcrossInstances(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		exactness(t, storetest.Open(t, url, Schema), storetest.Open(t, url, Schema))
	})
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		open := func() *store.Store {
			s, err := store.Open(context.Background(), store.Options{DataDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if err := s.Migrate(context.Background(), Schema); err != nil {
				t.Fatal(err)
			}
			return s
		}
		exactness(t, open(), open())
	})
}

func exactness(t *testing.T, s1, s2 *store.Store) {
	instances := []*Budgets{newBudgets(t, s1, nil, tenYuan), newBudgets(t, s2, nil, tenYuan)}
	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			b := instances[i%2]
			r, err := b.Reserve(context.Background(), halfYuanReq)
			if err != nil {
				var ae *apierr.Error
				if !errors.As(err, &ae) || ae.Kind != apierr.RateLimit || !strings.Contains(ae.Public, `"alice-daily"`) ||
					ae.RetryAfter != 12*time.Hour || strings.Contains(ae.Public, "alice\"") {
					t.Errorf("refusal = %#v", err)
				}
				refused.Add(1)
				return
			}
			admitted.Add(1)
			if err := b.Settle(context.Background(), r, 500_000, CNY, 500_000); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	spent, reserved, err := instances[0].Spent(context.Background(), "alice-daily", "")
	if err != nil {
		t.Fatal(err)
	}
	if spent > 10_500_000 || reserved != 0 || admitted.Load()+refused.Load() != 100 || refused.Load() == 0 {
		t.Errorf("spent %s, reserved %s, admitted %d, refused %d", spent, reserved, admitted.Load(), refused.Load())
	}
	t.Logf("spent ¥%s, admitted %d, refused %d", spent, admitted.Load(), refused.Load())
}

type crossings struct {
	mu sync.Mutex
	cs []Crossing
}

func (c *crossings) BudgetCrossed(_ context.Context, x Crossing) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cs = append(c.cs, x)
}

func TestBudgetSettleAndAlerts(t *testing.T) {
	s := storetest.SQLite(t, Schema)
	var got crossings
	team := Budget{Name: "teams", Scope: ScopeTeam, Period: Monthly, Currency: CNY, Limit: 1_000_000, Percents: []int{50, 80, 100}}
	b := newBudgets(t, s, &got, team)
	ctx := context.Background()
	r, err := b.Reserve(ctx, halfYuanReq)
	if err != nil {
		t.Fatal(err)
	}
	if _, reserved, _ := b.Spent(ctx, "teams", "search"); reserved != 500_000 {
		t.Errorf("reserved %d, want the estimate", reserved)
	}
	// Real cost below the estimate: the difference is freed.
	if err := b.Settle(ctx, r, 600_000, CNY, 10); err != nil {
		t.Fatal(err)
	}
	b.Settle(ctx, r, 600_000, CNY, 10) // twice: no effect
	spent, reserved, _ := b.Spent(ctx, "teams", "search")
	if spent != 600_000 || reserved != 0 {
		t.Errorf("spent %d reserved %d", spent, reserved)
	}
	if len(got.cs) != 1 || got.cs[0].Percent != 50 || got.cs[0].Subject != "search" || got.cs[0].Window.Key != "monthly:2026-12-01" {
		t.Errorf("crossings %+v", got.cs)
	}
	r, _ = b.Reserve(ctx, halfYuanReq)
	b.Settle(ctx, r, 500_000, CNY, 10)
	if len(got.cs) != 3 || got.cs[1].Percent != 80 || got.cs[2].Percent != 100 {
		t.Errorf("crossings %+v", got.cs)
	}
	if _, err := b.Reserve(ctx, halfYuanReq); err == nil {
		t.Error("admitted past the limit")
	}
	// Another team has its own budget of the same definition.
	other := halfYuanReq
	other.Team = "ads"
	if _, err := b.Reserve(ctx, other); err != nil {
		t.Errorf("another team refused: %v", err)
	}
}

func TestBudgetOverrunCurrencyAndUnpriced(t *testing.T) {
	s := storetest.SQLite(t, Schema)
	over := Budget{Name: "loose", Scope: ScopeKey, Match: "alice", Period: Daily, Currency: CNY, Limit: 1, AllowOverrun: true}
	b := newBudgets(t, s, nil, over)
	ctx := context.Background()
	for range 3 {
		r, err := b.Reserve(ctx, halfYuanReq)
		if err != nil {
			t.Fatalf("overrun allowed but refused: %v", err)
		}
		b.Settle(ctx, r, 500_000, CNY, 0)
	}
	usd := halfYuanReq
	usd.Model = "claude-x" // $0.50 estimate, charged as ¥3.60
	r, err := b.Reserve(ctx, usd)
	if err != nil {
		t.Fatal(err)
	}
	if _, reserved, _ := b.Spent(ctx, "loose", ""); reserved != 3_600_000 {
		t.Errorf("reserved %d, want ¥3.60", reserved)
	}
	b.Settle(ctx, r, 100_000, USD, 0) // $0.10 = ¥0.72
	if spent, _, _ := b.Spent(ctx, "loose", ""); spent != 1_500_000+720_000 {
		t.Errorf("spent %d", spent)
	}
	unpriced := halfYuanReq
	unpriced.Model = "mystery"
	if r, err := b.Reserve(ctx, unpriced); err != nil || len(r.holds) != 0 {
		t.Errorf("unpriced: %v, %d holds", err, len(r.holds))
	}
}

func TestBudgetStoreDownAdmits(t *testing.T) {
	s := storetest.SQLite(t, Schema)
	b := newBudgets(t, s, nil, tenYuan)
	s.Close()
	r, err := b.Reserve(context.Background(), halfYuanReq)
	if err != nil || len(r.holds) != 0 {
		t.Errorf("store down: %v, %d holds; want admitted, nothing held", err, len(r.holds))
	}
}

func TestBudgetRefusalReleasesEarlierHolds(t *testing.T) {
	s := storetest.SQLite(t, Schema)
	big := Budget{Name: "team", Scope: ScopeTeam, Match: "search", Period: Daily, Currency: CNY, Limit: 100_000_000}
	tiny := Budget{Name: "key", Scope: ScopeKey, Match: "alice", Period: Daily, Currency: CNY, Limit: 1}
	b := newBudgets(t, s, nil, big, tiny)
	ctx := context.Background()
	r, _ := b.Reserve(ctx, halfYuanReq)
	b.Settle(ctx, r, 1, CNY, 0) // the key's budget is now spent
	if _, err := b.Reserve(ctx, halfYuanReq); err == nil {
		t.Fatal("admitted")
	}
	if _, reserved, _ := b.Spent(ctx, "team", ""); reserved != 0 {
		t.Errorf("the team budget still holds %d after the key budget refused", reserved)
	}
}

func TestBudgetRowsSwept(t *testing.T) {
	s := storetest.SQLite(t, Schema)
	day := Budget{Name: "d", Scope: ScopeKey, Period: Daily, Currency: CNY, Limit: 100_000_000}
	now := budgetNow
	b, err := NewBudgets(BudgetOptions{Store: s, Budgets: []Budget{day}, Prices: testTable(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		b.rows.Range(func(any, any) bool { n++; return true })
		return n
	}
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		req := halfYuanReq
		req.Key, req.At = k, now
		r, err := b.Reserve(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		b.Settle(ctx, r, 1, CNY, 0)
	}
	if count() != 3 {
		t.Fatalf("rows %d, want 3", count())
	}
	now = now.Add(48 * time.Hour) // those windows ended
	req := halfYuanReq
	req.At = now
	if _, err := b.Reserve(ctx, req); err != nil {
		t.Fatal(err)
	}
	if count() != 1 {
		t.Errorf("rows %d after the windows ended, want only today's", count())
	}
}

// TestBudgetStatus: Status answers each budget in its current window: a
// matched one with zeros before traffic, a per-value one a row per value
// (not confusing a budget whose name extends another's), extra budgets
// after the configured ones.
func TestBudgetStatus(t *testing.T) {
	s := storetest.SQLite(t, Schema)
	perTeam := Budget{Name: "team", Scope: ScopeTeam, Period: Monthly, Currency: CNY, Limit: 100_000_000}
	perTeam2 := Budget{Name: "team-2", Scope: ScopeTeam, Period: Monthly, Currency: CNY, Limit: 100_000_000}
	b := newBudgets(t, s, nil, tenYuan, perTeam, perTeam2)
	ctx := context.Background()
	st, err := b.Status(ctx)
	if err != nil || len(st) != 3 || st[0].Spent != 0 || st[0].Subject != "alice" || st[1].Subject != "" {
		t.Fatalf("before traffic: %+v, %v", st, err)
	}
	for _, req := range []Request{halfYuanReq, {Key: "bob", Team: "ads", Provider: "deepseek", Model: "cheap", InputTokens: 100_000, MaxTokens: 400_000}} {
		r, err := b.Reserve(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Settle(ctx, r, 250_000, CNY, 1000); err != nil {
			t.Fatal(err)
		}
	}
	held, err := b.Reserve(ctx, halfYuanReq) // still running: reserved
	if err != nil {
		t.Fatal(err)
	}
	extra := Budget{Name: "key alice daily", Scope: ScopeKey, Match: "alice", Period: Daily, Currency: CNY, Limit: 1_000_000}
	st, err = b.Status(ctx, extra)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range st {
		got = append(got, x.Name+"/"+x.Subject+" "+x.Spent.String()+"+"+x.Reserved.String())
	}
	want := "alice-daily/alice 0.25+0.50|team/ads 0.25+0.00|team/search 0.25+0.50|team-2/ads 0.25+0.00|team-2/search 0.25+0.50|key alice daily/alice 0.00+0.00"
	if strings.Join(got, "|") != want {
		t.Errorf("status:\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
	if w := st[1].Window; w.Start.Day() != 1 || w.End.Sub(w.Start) < 28*24*time.Hour || !strings.HasPrefix(w.Key, "monthly:") {
		t.Errorf("monthly window %+v", w)
	}
	b.Settle(ctx, held, 0, CNY, 0)
}
