package usage

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMicrosString(t *testing.T) {
	for m, want := range map[Micros]string{0: "0.00", 1_500_000: "1.50", 2_800: "0.0028", 10_000_000: "10.00", -250_000: "-0.25", 1: "0.000001"} {
		if got := m.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int64(m), got, want)
		}
	}
}

func TestCost(t *testing.T) {
	sonnet := Price{Currency: USD, Rates: Rates{Input: 3_000_000, Output: 15_000_000, CacheRead: 300_000, CacheWrite: 3_750_000},
		Tiers: []Tier{{Above: 200_000, Rates: Rates{Input: 6_000_000, Output: 22_500_000}}}}
	flash := Price{Currency: CNY, Rates: Rates{Input: 2_000_000, Output: 8_000_000, CacheRead: 40_000},
		OffPeak: &Rates{Input: 1_000_000, Output: 4_000_000, CacheRead: 20_000}}
	peak := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)     // Monday 10:00 Beijing
	lunch := time.Date(2026, 12, 7, 4, 30, 0, 0, time.UTC)   // Monday 12:30 Beijing: off-peak
	sunday := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)   // Sunday 10:00 Beijing
	evening := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC) // Monday 18:00 Beijing: off-peak
	for _, tc := range []struct {
		name string
		p    Price
		t    Tokens
		at   time.Time
		want Micros
	}{
		{"nothing", sonnet, Tokens{}, peak, 0},
		{"100k input", sonnet, Tokens{Input: 100_000}, peak, 300_000},
		{"every class", sonnet, Tokens{Input: 1000, Output: 500, CacheRead: 10_000, CacheWrite: 2000}, peak, 3000 + 7500 + 3000 + 7500},
		{"one token rounds once over the sum", sonnet, Tokens{Input: 1}, peak, 3},
		{"a third of a micro rounds down", Price{Rates: Rates{Input: 333_333}}, Tokens{Input: 1}, peak, 0},
		{"half a micro rounds up", Price{Rates: Rates{Input: 500_000}}, Tokens{Input: 1}, peak, 1},
		{"fractions add before rounding", Price{Rates: Rates{Input: 400_000, Output: 400_000}}, Tokens{Input: 1, Output: 1}, peak, 1},
		{"long context tier bills every token", sonnet, Tokens{Input: 150_000, CacheRead: 60_000, Output: 1000}, peak, 922_500},
		{"at the tier boundary: base", sonnet, Tokens{Input: 200_000}, peak, 600_000},
		{"deepseek peak", flash, Tokens{Input: 1_000_000, Output: 1_000_000}, peak, 10_000_000},
		{"deepseek lunch off-peak", flash, Tokens{Input: 1_000_000, Output: 1_000_000}, lunch, 5_000_000},
		{"deepseek sunday off-peak", flash, Tokens{Input: 1_000_000, Output: 1_000_000}, sunday, 5_000_000},
		{"deepseek 18:00 off-peak", flash, Tokens{Input: 1_000_000, Output: 1_000_000}, evening, 5_000_000},
		{"negative counts are zero", sonnet, Tokens{Input: -5, Output: 1_000_000}, peak, 15_000_000},
		{"saturates", Price{Rates: Rates{Input: math.MaxInt64}}, Tokens{Input: math.MaxInt64}, peak, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Cost(tc.t, tc.at); got != tc.want {
				t.Errorf("Cost = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestEstimate(t *testing.T) {
	p := Price{Currency: CNY, Rates: Rates{Input: 2_000_000, Output: 8_000_000}, OffPeak: &Rates{Input: 1, Output: 1},
		Tiers: []Tier{{Above: 32_000, Rates: Rates{Input: 4_000_000, Output: 16_000_000}}}}
	if got, want := p.Estimate(1000, 4096), Micros(2_000+32_768); got != want {
		t.Errorf("Estimate = %d, want %d (peak rates)", got, want)
	}
	if got, want := p.Estimate(40_000, 1000), Micros(160_000+16_000); got != want {
		t.Errorf("Estimate over the tier = %d, want %d", got, want)
	}
}

func TestLookup(t *testing.T) {
	tab := NewTable(DefaultPrices(), []Price{
		{Provider: "relay", Model: "claude-sonnet-4-5", Currency: CNY, Rates: Rates{Input: 1}},
		{Model: "gpt-4o", Currency: USD, Rates: Rates{Input: 7}},
	})
	for _, tc := range []struct {
		provider, model string
		want            Micros // Input rate
		ok              bool
	}{
		{"anthropic", "claude-sonnet-4-5", 3_000_000, true},
		{"anthropic", "claude-sonnet-4-5-20250929", 3_000_000, true},
		{"anthropic", "Claude-Opus-4-1-20250805", 15_000_000, true},
		{"anthropic", "claude-opus-4-5", 5_000_000, true},
		{"relay", "claude-sonnet-4-5-20250929", 1, true},
		{"openai", "gpt-4o", 7, true},
		{"openai", "gpt-4o-mini", 150_000, true},
		{"openai", "gpt-4o-2024-08-06", 7, true},
		{"deepseek", "deepseek-flash", 2_000_000, true},
		{"ollama", "qwen3-max:latest", 2_500_000, true},
		{"ollama", "llama3", 0, false},
		{"x", "", 0, false},
	} {
		p, ok := tab.Lookup(tc.provider, tc.model)
		if ok != tc.ok || p.Input != tc.want {
			t.Errorf("Lookup(%q, %q) = %d, %v; want %d, %v", tc.provider, tc.model, p.Input, ok, tc.want, tc.ok)
		}
	}
}

// TestDefaultPrices checks that the shipped list builds (m panics on a
// typo), that every entry is dated, sourced, in a known currency, with tiers
// ascending, and that no model is listed twice.
func TestDefaultPrices(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range DefaultPrices() {
		if p.Model == "" || p.Taken == "" || p.Source == "" || !ValidCurrency(p.Currency) {
			t.Errorf("incomplete entry %+v", p)
		}
		if _, err := time.Parse(time.DateOnly, p.Taken); err != nil {
			t.Errorf("%s: taken %q: %v", p.Model, p.Taken, err)
		}
		if seen[p.Model] {
			t.Errorf("%s listed twice", p.Model)
		}
		seen[p.Model] = true
		for i := 1; i < len(p.Tiers); i++ {
			if p.Tiers[i].Above <= p.Tiers[i-1].Above {
				t.Errorf("%s: tiers out of order", p.Model)
			}
		}
		if strings.ToLower(p.Model) != p.Model {
			t.Errorf("%s: not lower case", p.Model)
		}
	}
	for _, vendor := range []string{"claude-", "gpt-", "deepseek-", "qwen", "glm-", "kimi-", "ernie-"} {
		found := false
		for m := range seen {
			found = found || strings.HasPrefix(m, vendor)
		}
		if !found {
			t.Errorf("no default price for a %s model", vendor)
		}
	}
}

func TestConvert(t *testing.T) {
	rate := Micros(7_200_000) // 7.2 CNY per USD
	if got := Convert(1_000_000, USD, CNY, rate); got != 7_200_000 {
		t.Errorf("USD->CNY = %d", got)
	}
	if got := Convert(7_200_000, CNY, USD, rate); got != 1_000_000 {
		t.Errorf("CNY->USD = %d", got)
	}
	if got := Convert(5, CNY, CNY, rate); got != 5 {
		t.Errorf("same currency = %d", got)
	}
}

func TestWindow(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-12-05 17:30 UTC is Sunday 2026-12-06 01:30 in Beijing: Beijing's
	// today, not UTC's (the open-ace#1322 bug).
	at := time.Date(2026, 12, 5, 17, 30, 0, 0, time.UTC)
	got := map[Period]Window{}
	for _, p := range []Period{Daily, Weekly, Monthly} {
		got[p] = p.Window(at, sh)
	}
	want := map[Period]Window{
		Daily:   {Start: time.Date(2026, 12, 6, 0, 0, 0, 0, sh), End: time.Date(2026, 12, 7, 0, 0, 0, 0, sh), Key: "daily:2026-12-06"},
		Weekly:  {Start: time.Date(2026, 11, 30, 0, 0, 0, 0, sh), End: time.Date(2026, 12, 7, 0, 0, 0, 0, sh), Key: "weekly:2026-11-30"},
		Monthly: {Start: time.Date(2026, 12, 1, 0, 0, 0, 0, sh), End: time.Date(2027, 1, 1, 0, 0, 0, 0, sh), Key: "monthly:2026-12-01"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("windows (-want +got):\n%s", d)
	}
	if got := Daily.Window(at, time.UTC).Key; got != "daily:2026-12-05" {
		t.Errorf("UTC day = %s", got)
	}
	if got := want[Daily].RetryAfter(at); got != 22*time.Hour+30*time.Minute {
		t.Errorf("RetryAfter = %v", got)
	}
	if got := want[Daily].RetryAfter(want[Daily].End.Add(time.Second)); got != time.Second {
		t.Errorf("RetryAfter past the end = %v", got)
	}
	if got := want[Daily].RetryAfter(want[Daily].End.Add(-1500 * time.Millisecond)); got != 2*time.Second {
		t.Errorf("RetryAfter rounds up: %v", got)
	}
}

func TestCrossed(t *testing.T) {
	for _, tc := range []struct {
		before, after, limit Micros
		want                 []int
	}{
		{0, 7_999_999, 10_000_000, nil},
		{0, 8_000_000, 10_000_000, []int{80}},
		{7_000_000, 10_500_000, 10_000_000, []int{80, 100}},
		{8_000_000, 9_000_000, 10_000_000, nil},
		{9_000_000, 8_000_000, 10_000_000, nil},
		{0, 1, 1, []int{80, 100}},
		{0, 0, 1, nil},
		{0, 100, 0, nil},
	} {
		if got := Crossed(tc.before, tc.after, tc.limit, []int{100, 80, 80, 0}); !cmp.Equal(got, tc.want) {
			t.Errorf("Crossed(%d, %d, %d) = %v, want %v", tc.before, tc.after, tc.limit, got, tc.want)
		}
	}
	if pct, ok := Reached(9_000_000, 10_000_000, DefaultAlertPercents()); !ok || pct != 80 {
		t.Errorf("Reached = %d, %v", pct, ok)
	}
	if _, ok := Reached(1, 10_000_000, DefaultAlertPercents()); ok {
		t.Error("Reached at 1 micro")
	}
}

// FuzzMicrosString checks that every amount prints as a decimal that parses
// back to itself.
func FuzzMicrosString(f *testing.F) {
	for _, v := range []int64{0, 1, 2800, 1_500_000, 9_000_000_000_000_000_000} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v int64) {
		if v < 0 || v > 9_000_000_000_000_000_000 {
			return
		}
		back, err := ParseMicros(Micros(v).String())
		if err != nil || back != Micros(v) {
			t.Fatalf("%d -> %q -> %d, %v", v, Micros(v).String(), back, err)
		}
	})
}

func BenchmarkCost(b *testing.B) {
	tab := NewTable(DefaultPrices(), nil)
	at := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		p, _ := tab.Lookup("anthropic", "claude-sonnet-4-5-20250929")
		_ = p.Cost(Tokens{Input: 1200, Output: 800, CacheRead: 30_000}, at)
	}
}
