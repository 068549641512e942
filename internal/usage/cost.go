package usage

import (
	"math"
	"math/bits"
	"time"
)

// Tokens is one request's token counts, each class counted once: Input
// excludes the cache reads and writes (Anthropic's input_tokens; for OpenAI
// upstreams prompt_tokens minus prompt_tokens_details.cached_tokens, which
// OpenAI counts inside prompt_tokens).
type Tokens struct {
	Input      int64
	Output     int64
	CacheRead  int64
	CacheWrite int64
}

// Prompt is every token of the prompt: input plus cache reads and writes,
// the figure long-context tiers are chosen by.
func (t Tokens) Prompt() int64 { return t.Input + t.CacheRead + t.CacheWrite }

// Cost is what t costs at p, at time at (which picks peak or off-peak
// rates), in Micros of p.Currency, rounded half up once over the sum of the
// classes so that many small requests do not each lose a fraction. Negative
// counts count as zero; a sum beyond int64 saturates at math.MaxInt64.
func (p Price) Cost(t Tokens, at time.Time) Micros {
	r := p.RatesFor(t.Prompt(), at)
	var hi, lo uint64
	add := func(n int64, rate Micros) {
		if n <= 0 || rate <= 0 {
			return
		}
		h, l := bits.Mul64(uint64(n), uint64(rate))
		var c uint64
		lo, c = bits.Add64(lo, l, 0)
		hi, _ = bits.Add64(hi, h, c)
	}
	add(t.Input, r.Input)
	add(t.Output, r.Output)
	add(t.CacheRead, r.CacheRead)
	add(t.CacheWrite, r.CacheWrite)
	return Micros(divRound(hi, lo, perMillion))
}

// Estimate is the most a request can cost before it runs: its counted input
// tokens and max_tokens of output, at the prompt's tier and the peak rate.
// Budgets reserve it at entry and settle to Cost at the end.
func (p Price) Estimate(inputTokens, maxTokens int64) Micros {
	r := p.RatesFor(inputTokens, time.Time{})
	return p.withRates(r).Cost(Tokens{Input: inputTokens, Output: maxTokens}, time.Time{})
}

// withRates is p priced flat at r, without tiers or off-peak hours.
func (p Price) withRates(r Rates) Price {
	return Price{Currency: p.Currency, Rates: r}
}

const perMillion = 1_000_000

// divRound divides the 128-bit hi:lo by d, rounding half up, saturating at
// math.MaxInt64.
func divRound(hi, lo, d uint64) uint64 {
	if hi >= d {
		return math.MaxInt64
	}
	q, r := bits.Div64(hi, lo, d)
	if r >= d-r { // r >= d/2 without overflow
		q++
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return q
}

// mulDivRound is a*b/d rounded half up, saturating at math.MaxInt64.
func mulDivRound(a, b, d uint64) int64 {
	hi, lo := bits.Mul64(a, b)
	return int64(divRound(hi, lo, d))
}
