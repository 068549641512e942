package usage

import (
	"context"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/store/storetest"
)

func TestRecorder(t *testing.T) {
	s := storetest.SQLite(t, Schema)
	l, err := NewLedger(LedgerOptions{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	rec := &Recorder{Prices: testTable(), Budgets: newBudgets(t, s, nil, tenYuan), Ledger: l, USDToCNY: 7_200_000}
	ctx := context.Background()
	e := Entry{RequestID: "req_1", SessionID: "sess", Key: "alice", ClientModel: "claude-x",
		Targets: []Target{{"deepseek", "cheap"}, {"anthropic", "claude-x"}}, InputTokens: 100_000, MaxTokens: 400_000}
	tk, err := rec.Reserve(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	// The fallback (claude-x, $0.50 = ¥3.60) is dearer than the first
	// target (¥0.50): the dearer is held.
	if _, reserved, _ := rec.Budgets.Spent(ctx, "alice-daily", ""); reserved != 3_600_000 {
		t.Errorf("reserved %d, want the dearest target's ¥3.60", reserved)
	}
	rec.Finish(ctx, tk, Outcome{Route: "claude-*", Provider: "deepseek", Model: "cheap", Tokens: Tokens{Input: 1000, Output: 1000}, Status: 200, Attempts: 1})
	tk2, _ := rec.Reserve(ctx, e)
	rec.Finish(ctx, tk2, Outcome{Provider: "deepseek", Model: "cheap", Tokens: Tokens{Input: 1000, Output: 1000}, Status: 200, Cached: true})
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	spent, reserved, _ := rec.Budgets.Spent(ctx, "alice-daily", "")
	if spent != 2000 || reserved != 0 {
		t.Errorf("spent %d reserved %d; want ¥0.002 (the cached answer costs nothing), nothing held", spent, reserved)
	}
	rep, err := Usage(ctx, s, Query{GroupBy: []string{"session"}, To: tk.start.Add(1e9)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 1 || rep.Rows[0].Requests != 2 || rep.Rows[0].Cost != 2000 || rep.Rows[0].Group["session"] != "sess" {
		t.Errorf("ledger %+v", rep.Rows)
	}
	// An answer without usage: the row is marked estimated, its input the
	// entry's estimate.
	l2, _ := NewLedger(LedgerOptions{Store: s})
	rec.Ledger = l2
	tk3, _ := rec.Reserve(ctx, e)
	rec.Finish(ctx, tk3, Outcome{Provider: "deepseek", Model: "cheap", Tokens: Tokens{Output: 7}, Estimated: true, Status: 200})
	l2.Close(ctx)
	var in, out int64
	var est int
	if err := s.QueryRow(ctx, nil, `SELECT input_tokens, output_tokens, estimated FROM usage_ledger WHERE estimated = 1`).Scan(&in, &out, &est); err != nil || in != 100_000 || out != 7 {
		t.Errorf("estimated row: %d %d %d, %v", in, out, est, err)
	}
	var nilRec *Recorder
	if tk, err := nilRec.Reserve(ctx, e); tk != nil || err != nil {
		t.Error("a nil Recorder must admit")
	}
	nilRec.Finish(ctx, nil, Outcome{})
}

// TestRecorderKeyBudgets: budgets a managed key carries are enforced like
// configured ones.
func TestRecorderKeyBudgets(t *testing.T) {
	s := storetest.SQLite(t, Schema)
	rec := &Recorder{Prices: testTable(), Budgets: newBudgets(t, s, nil)}
	ctx := context.Background()
	e := Entry{Key: "alice", Targets: []Target{{"deepseek", "cheap"}}, InputTokens: 100_000, MaxTokens: 400_000,
		KeyBudgets: []Budget{{Name: "key alice daily", Scope: ScopeKey, Match: "alice", Period: Daily, Currency: CNY, Limit: 500_000}}}
	tk, err := rec.Reserve(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	rec.Finish(ctx, tk, Outcome{Provider: "deepseek", Model: "cheap", Tokens: Tokens{Input: 100_000, Output: 400_000}, Status: 200})
	if _, err := rec.Reserve(ctx, e); err == nil || !strings.Contains(err.Error(), `"key alice daily"`) {
		t.Errorf("second request: %v, want refused by the key's budget", err)
	}
	e.Key, e.KeyBudgets = "bob", nil
	if _, err := rec.Reserve(ctx, e); err != nil {
		t.Errorf("another key refused: %v", err)
	}
}
