package usage

import (
	"math"
	"math/bits"
	"slices"
)

// DefaultAlertPercents are the shares of a budget at which an alert goes
// out when a budget names none. 100 is the hard stop's own alert.
func DefaultAlertPercents() []int { return []int{80, 100} }

// Crossed returns the percents of limit that spending passed on the way
// from before to after: before < pct% of limit <= after. Integer arithmetic
// only; each percent is reported once per step, ascending. A limit of 0 or
// less has no thresholds.
func Crossed(before, after, limit Micros, percents []int) []int {
	if limit <= 0 || after <= before {
		return nil
	}
	var out []int
	for _, pct := range percents {
		if pct <= 0 {
			continue
		}
		at := mulDivCeil(limit, pct)
		if before < at && after >= at {
			out = append(out, pct)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Reached is the largest percent in percents whose share of limit spent
// has reached, and false if none.
func Reached(spent, limit Micros, percents []int) (int, bool) {
	best, ok := 0, false
	for _, pct := range percents {
		if pct > 0 && limit > 0 && spent >= mulDivCeil(limit, pct) && pct > best {
			best, ok = pct, true
		}
	}
	return best, ok
}

// mulDivCeil is limit*pct/100 rounded up, so that 80% of 1 micro is 1, not
// 0 (an alert at 0 spent would be wrong).
func mulDivCeil(limit Micros, pct int) Micros {
	hi, lo := bits.Mul64(uint64(limit), uint64(pct))
	lo, c := bits.Add64(lo, 99, 0)
	hi += c
	if hi >= 100 {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, 100)
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return Micros(q)
}
