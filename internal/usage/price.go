package usage

import (
	"strings"
	"time"
)

// Rates are prices per million tokens, in Micros of the price's currency.
type Rates struct {
	Input      Micros
	Output     Micros
	CacheRead  Micros
	CacheWrite Micros // Anthropic's 5-minute write; 1-hour writes are priced as these
}

// Tier replaces the base rates for a request whose prompt (input + cache
// read + cache write tokens) exceeds Above: the vendor then bills every
// token of the request at the tier's rates (Anthropic's long context,
// DashScope's and Bailian's input-length tiers).
type Tier struct {
	Above int64
	Rates Rates
}

// Price is what one provider model costs.
type Price struct {
	Provider string // a provider name from the config; empty: any provider serving Model
	Model    string // the upstream model name; also prices its dated variants (Model + "-…")
	Currency string // CNY or USD
	Rates
	Tiers   []Tier // ascending by Above
	OffPeak *Rates // DeepSeek: the rates outside Beijing weekday hours 09-12 and 14-18
	Taken   string // the date the figures were read, YYYY-MM-DD
	Source  string // the page they were read from
}

// beijing is UTC+8 without DST, the zone DeepSeek's peak hours are in;
// fixed so that no tz database is needed.
var beijing = time.FixedZone("Asia/Shanghai", 8*3600)

// RatesFor returns the rates a request with prompt tokens pays at time at:
// the highest tier the prompt exceeds, else the base rates; off-peak rates
// when p has them and at is outside DeepSeek's peak hours. A zero at means
// peak, the dearer, for estimates. Chinese public holidays are off-peak at
// DeepSeek but not known here, so they are priced as peak (over, never
// under).
func (p Price) RatesFor(prompt int64, at time.Time) Rates {
	r := p.Rates
	for _, t := range p.Tiers {
		if prompt > t.Above {
			r = t.Rates
		}
	}
	if p.OffPeak != nil && !at.IsZero() && !deepSeekPeak(at) {
		r = *p.OffPeak
	}
	return r
}

// deepSeekPeak reports whether t is in DeepSeek's peak hours: Beijing time
// Monday to Friday, 09:00-12:00 and 14:00-18:00
// (api-docs.deepseek.com/zh-cn/quick_start/pricing).
func deepSeekPeak(t time.Time) bool {
	b := t.In(beijing)
	if wd := b.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	h := b.Hour()
	return (h >= 9 && h < 12) || (h >= 14 && h < 18)
}

// Table is the price list: the shipped defaults with the config's entries
// over them. Build it with NewTable; it is read-only afterwards and safe for
// concurrent use.
type Table struct {
	exact map[string]Price // provider + "\x00" + model, and "\x00" + model for any provider
}

// NewTable builds a table from the shipped defaults and overrides; an
// override replaces a default with the same provider and model.
func NewTable(defaults, overrides []Price) *Table {
	t := &Table{exact: make(map[string]Price, len(defaults)+len(overrides))}
	for _, ps := range [][]Price{defaults, overrides} {
		for _, p := range ps {
			t.exact[tableKey(p.Provider, p.Model)] = p
		}
	}
	return t
}

func tableKey(provider, model string) string {
	return provider + "\x00" + strings.ToLower(model)
}

// Lookup finds the price of model served by provider: an entry for that
// provider before one for any provider, and the exact name before its
// longest priced prefix at a "-", ":" or "@" boundary, so that
// claude-sonnet-4-5-20250929 is priced as claude-sonnet-4-5.
func (t *Table) Lookup(provider, model string) (Price, bool) {
	m := strings.ToLower(model)
	for {
		if p, ok := t.exact[provider+"\x00"+m]; ok {
			return p, true
		}
		if p, ok := t.exact["\x00"+m]; ok {
			return p, true
		}
		i := strings.LastIndexAny(m, "-:@")
		if i <= 0 {
			return Price{}, false
		}
		m = m[:i]
	}
}

// Prices lists the table's entries, for `ferry prices` and the docs.
func (t *Table) Prices() []Price {
	out := make([]Price, 0, len(t.exact))
	for _, p := range t.exact {
		out = append(out, p)
	}
	return out
}
