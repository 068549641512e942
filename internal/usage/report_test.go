package usage

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/store"
	"github.com/ferrygw/ferry/internal/store/storetest"
)

func fillLedger(t *testing.T, s *store.Store) {
	t.Helper()
	l, err := NewLedger(LedgerOptions{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 5, 15, 30, 0, 0, time.UTC) // 23:30 Beijing, 5 Dec
	rows := []Row{
		{At: base, Team: "search", Key: "alice", Tokens: Tokens{Input: 10, Output: 5}, Cost: 1_000_000, Currency: CNY},
		{At: base.Add(time.Hour), Team: "search", Key: "alice", Tokens: Tokens{Input: 20, Output: 5}, Cost: 2_000_000, Currency: CNY, Estimated: true},
		{At: base.Add(time.Hour), Team: "search", Key: "bob", Tokens: Tokens{Input: 1}, Cost: 1_000_000, Currency: USD},
		{At: base.Add(2 * time.Hour), Team: "ads", Key: "carol", Tokens: Tokens{Output: 7}, Cost: 500_000, Currency: CNY, Shadow: true},
		{At: base.Add(48 * time.Hour), Team: "ads", Key: "carol", Cost: 9, Currency: CNY}, // outside the range
	}
	for _, r := range rows {
		l.Record(r)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestReport(t *testing.T) {
	sh := time.FixedZone("Asia/Shanghai", 8*3600)
	from := time.Date(2026, 12, 5, 0, 0, 0, 0, sh)
	storetest.Both(t, func(t *testing.T, s *store.Store) {
		fillLedger(t, s)
		ctx := context.Background()
		rep, err := Usage(ctx, s, Query{From: from, To: from.Add(48 * time.Hour), GroupBy: []string{"team", "day"}, Location: sh})
		if err != nil {
			t.Fatal(err)
		}
		want := []ReportRow{
			{Group: map[string]string{"team": "ads", "day": "2026-12-06"}, Requests: 1, Output: 7, Cost: 500_000, Currency: CNY},
			{Group: map[string]string{"team": "search", "day": "2026-12-05"}, Requests: 1, Input: 10, Output: 5, Cost: 1_000_000, Currency: CNY},
			{Group: map[string]string{"team": "search", "day": "2026-12-06"}, Requests: 1, Input: 20, Output: 5, Estimated: 1, Cost: 2_000_000, Currency: CNY},
			{Group: map[string]string{"team": "search", "day": "2026-12-06"}, Requests: 1, Input: 1, Cost: 1_000_000, Currency: USD},
		}
		if d := cmp.Diff(want, rep.Rows); d != "" {
			t.Errorf("rows (-want +got):\n%s", d)
		}
		wantTotals := []ReportRow{
			{Group: map[string]string{}, Requests: 3, Input: 30, Output: 17, Estimated: 1, Cost: 3_500_000, Currency: CNY},
			{Group: map[string]string{}, Requests: 1, Input: 1, Cost: 1_000_000, Currency: USD},
		}
		if d := cmp.Diff(wantTotals, rep.Totals); d != "" {
			t.Errorf("totals (-want +got):\n%s", d)
		}
		conv, err := Usage(ctx, s, Query{From: from, To: from.Add(48 * time.Hour), GroupBy: []string{"shadow"}, Currency: CNY, USDToCNY: 7_200_000})
		if err != nil {
			t.Fatal(err)
		}
		wantConv := []ReportRow{
			{Group: map[string]string{"shadow": "primary"}, Requests: 3, Input: 31, Output: 10, Estimated: 1, Cost: 10_200_000, Currency: CNY},
			{Group: map[string]string{"shadow": "shadow"}, Requests: 1, Output: 7, Cost: 500_000, Currency: CNY},
		}
		if d := cmp.Diff(wantConv, conv.Rows); d != "" {
			t.Errorf("converted (-want +got):\n%s", d)
		}
		var csv, table bytes.Buffer
		conv.WriteCSV(&csv)
		conv.WriteTable(&table)
		if !strings.HasPrefix(csv.String(), "shadow,requests,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost,currency\nprimary,3,31,10,0,0,10.20,CNY\n") {
			t.Errorf("csv:\n%s", csv.String())
		}
		if !strings.Contains(table.String(), "TOTAL") || !strings.Contains(table.String(), "10.70") {
			t.Errorf("table:\n%s", table.String())
		}
		if _, err := Usage(ctx, s, Query{GroupBy: []string{"password"}}); err == nil || !strings.Contains(err.Error(), `"password"`) {
			t.Errorf("unknown dimension: %v", err)
		}
	}, Schema)
}
