// Package usage holds Ferry's money arithmetic: the price table, the cost of
// a request in integer micro-units, budget periods and alert thresholds.
// Everything here is pure: no I/O, clock or logger inside, so that every
// figure a bill depends on is table-tested.
package usage

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ferrygw/ferry/internal/config"
)

// Micros is an amount of money as an integer count of millionths of its
// currency's unit (1 CNY = 1,000,000 Micros). Money is never a float: the
// float quota of one-api is the cautionary tale.
type Micros int64

// MicrosPerUnit is how many Micros make one yuan or one dollar.
const MicrosPerUnit = 1_000_000

// Currencies.
const (
	CNY = "CNY"
	USD = "USD"
)

// ValidCurrency reports whether c is a currency prices and budgets may use.
func ValidCurrency(c string) bool { return c == CNY || c == USD }

// String formats m as a decimal with six places, trailing zeros trimmed to
// two: 1500000 -> "1.50", 2800 -> "0.0028".
func (m Micros) String() string {
	sign := ""
	u := uint64(m)
	if m < 0 {
		sign, u = "-", uint64(-m)
	}
	frac := fmt.Sprintf("%06d", u%MicrosPerUnit)
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	return sign + strconv.FormatUint(u/MicrosPerUnit, 10) + "." + frac
}

// ParseMicros parses a decimal amount of a currency unit exactly (see
// config.ParseMoney, the one parser of amounts).
func ParseMicros(s string) (Micros, error) {
	n, err := config.ParseMoney(s)
	return Micros(n), err
}

// Convert converts m from one currency to another at rate, the Micros of
// `to` that one unit of `from` buys (e.g. CNY per USD = 7.2 is 7200000),
// rounding half up. Same currency: m unchanged. A report converts with the
// configured exchange rate; budgets never convert (they are kept in the
// currency of their prices).
func Convert(m Micros, from, to string, usdToCNY Micros) Micros {
	switch {
	case from == to || usdToCNY <= 0:
		return m
	case from == USD && to == CNY:
		return Micros(mulDivRound(uint64(abs(m)), uint64(usdToCNY), MicrosPerUnit) * sign(m))
	default: // CNY -> USD
		return Micros(mulDivRound(uint64(abs(m)), MicrosPerUnit, uint64(usdToCNY)) * sign(m))
	}
}

func abs(m Micros) Micros {
	if m < 0 {
		return -m
	}
	return m
}

func sign(m Micros) int64 {
	if m < 0 {
		return -1
	}
	return 1
}
