package usage

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The shipped price list is data, kept with its sources, dates and notes in
// prices_default.yaml; this file only reads it.
//
//go:embed prices_default.yaml
var shippedPrices []byte

// shippedFile is prices_default.yaml's layout (described at its top).
type shippedFile struct {
	Taken   string            `yaml:"taken"`
	Sources map[string]string `yaml:"sources"`
	Prices  []struct {
		Models   []string     `yaml:"models"`
		Currency string       `yaml:"currency"`
		Rates    shippedRates `yaml:"rates"`
		Tiers    []struct {
			Above int64        `yaml:"above"`
			Rates shippedRates `yaml:"rates"`
		} `yaml:"tiers"`
		OffPeak *shippedRates `yaml:"off_peak"`
		Sources []string      `yaml:"sources"`
	} `yaml:"prices"`
}

// shippedRates are figures as decimal strings, so that YAML never reads
// them as floats; the cache rates may be left out (0).
type shippedRates struct {
	Input      string `yaml:"input"`
	Output     string `yaml:"output"`
	CacheRead  string `yaml:"cache_read"`
	CacheWrite string `yaml:"cache_write"`
}

// DefaultPrices returns the shipped price list, a new copy on every call.
// The embedded file is fixed at build time, so a mistake in it (an unknown
// field or source, a figure that is not an amount) panics, and
// TestDefaultPrices, which builds the whole list, fails on it.
func DefaultPrices() []Price {
	var f shippedFile
	dec := yaml.NewDecoder(bytes.NewReader(shippedPrices))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		panic(fmt.Sprintf("prices_default.yaml: %v", err))
	}
	var ps []Price
	for _, e := range f.Prices {
		srcs := make([]string, len(e.Sources))
		for i, key := range e.Sources {
			src, ok := f.Sources[key]
			if !ok {
				panic(fmt.Sprintf("prices_default.yaml: %v: unknown source %q", e.Models, key))
			}
			srcs[i] = src
		}
		for _, model := range e.Models {
			p := Price{Model: model, Currency: e.Currency, Rates: e.Rates.micros(), Taken: f.Taken, Source: strings.Join(srcs, "; ")}
			for _, t := range e.Tiers {
				p.Tiers = append(p.Tiers, Tier{Above: t.Above, Rates: t.Rates.micros()})
			}
			if e.OffPeak != nil {
				r := e.OffPeak.micros()
				p.OffPeak = &r
			}
			ps = append(ps, p)
		}
	}
	return ps
}

func (r shippedRates) micros() Rates {
	return Rates{Input: m(r.Input), Output: m(r.Output), CacheRead: optional(r.CacheRead), CacheWrite: optional(r.CacheWrite)}
}

// m is a figure in Micros from a decimal number of units per million
// tokens: m("0.0028").
func m(units string) Micros {
	v, err := ParseMicros(units)
	if err != nil {
		panic(fmt.Sprintf("prices_default.yaml: %v", err))
	}
	return v
}

func optional(units string) Micros {
	if units == "" {
		return 0
	}
	return m(units)
}
