package ratelimit

import (
	"encoding/hex"
	"fmt"

	"github.com/zeebo/xxh3"

	"github.com/ferrygw/ferry/internal/config"
)

// Scopes, in the order a Subject lists them.
const (
	scopeKey = iota
	scopeIP
	scopeRoute
	scopeTag
	numScopes
)

var scopeNames = [numScopes]string{config.ScopeKey, config.ScopeIP, config.ScopeRoute, config.ScopeTag}

// What a refusal was for, as the rejected-requests metric names it.
const (
	LimitRPM         = "rpm"
	LimitTPM         = "tpm"
	LimitConcurrency = "concurrency"
)

// rule is one compiled config rule.
type rule struct {
	scope          int
	rpm, tpm, conc int64
	burst          bool // token buckets (bucket.go), not sliding windows (window.go)
}

// rules holds, per scope, the rule for every value (match empty) and the
// rules for single values (match set). A single value's rule replaces the
// every-value rule for that value: a key given 600 rpm is not also held to
// the 60 rpm every other key gets.
type rules [numScopes]struct {
	each   *rule
	single map[string]*rule
}

func compile(rs []config.RateRule) (*rules, error) {
	out := new(rules)
	for i, r := range rs {
		s := -1
		for j, name := range scopeNames {
			if r.Scope == name {
				s = j
			}
		}
		if s < 0 {
			return nil, fmt.Errorf("ratelimit: rules[%d]: unknown scope %q", i, r.Scope)
		}
		if r.RPM < 0 || r.TPM < 0 || r.Concurrency < 0 || r.RPM > config.MaxRate || r.TPM > config.MaxRate {
			return nil, fmt.Errorf("ratelimit: rules[%d]: limits out of range", i)
		}
		c := &rule{scope: s, rpm: r.RPM, tpm: r.TPM, conc: r.Concurrency, burst: r.Burst}
		sc := &out[s]
		if r.Match == "" {
			if sc.each != nil {
				return nil, fmt.Errorf("ratelimit: rules[%d]: a second %s rule for every value", i, r.Scope)
			}
			sc.each = c
			continue
		}
		if sc.single == nil {
			sc.single = make(map[string]*rule)
		}
		if sc.single[r.Match] != nil {
			return nil, fmt.Errorf("ratelimit: rules[%d]: a second %s rule for %q", i, r.Scope, r.Match)
		}
		sc.single[r.Match] = c
	}
	return out, nil
}

// empty reports whether no rule is configured.
func (rs *rules) empty() bool {
	for _, sc := range rs {
		if sc.each != nil || len(sc.single) > 0 {
			return false
		}
	}
	return true
}

// anyConcurrency reports whether some rule limits concurrency.
func (rs *rules) anyConcurrency() bool {
	for _, sc := range rs {
		if sc.each != nil && sc.each.conc > 0 {
			return true
		}
		for _, r := range sc.single {
			if r.conc > 0 {
				return true
			}
		}
	}
	return false
}

// applied is one rule that applies to a request, with the scope value it
// applies to.
type applied struct {
	rule  *rule
	value string
}

// match fills out with the rules that apply to s, in scope order, and
// returns how many do. A scope whose value is empty (no key, no tag header)
// has nothing to apply to.
func (rs *rules) match(s *Subject, out *[numScopes]applied) int {
	n := 0
	for i := range rs {
		v := s.value(i)
		if v == "" {
			continue
		}
		sc := &rs[i]
		r := sc.each
		if sc.single != nil {
			if one := sc.single[v]; one != nil {
				r = one
			}
		}
		if i == scopeKey && s.Own != (Own{}) {
			r = s.Own.over(r)
		}
		if r != nil {
			out[n] = applied{rule: r, value: storeValue(v)}
			n++
		}
	}
	return n
}

// maxValue is the longest scope value used as it is in a store key; longer
// ones (only a client's tag header can be that long) are replaced by their
// hash, so a client cannot make keys of any size.
const maxValue = 128

// Subject is what a request is limited as: its value in each scope. An
// empty value leaves that scope out.
type Subject struct {
	Key   string // the gateway key's name
	IP    string // the client's address, canonical (netip.Addr.String)
	Route string // the route's match pattern
	Tag   string // the tag header's value
	// Own is the key's own limits (a managed key's), which replace the
	// configured key rule's limits for that key where they are set.
	Own Own
}

// Own is a gateway key's own limits; zero leaves a limit to the configured
// rules.
type Own struct {
	RPM, TPM, Concurrency int64
}

// over is the rule for a key with limits o, on top of the configured rule
// base (nil: none). The key's limits are sliding windows, and so become
// the base's other limits for that key.
func (o Own) over(base *rule) *rule {
	r := &rule{scope: scopeKey}
	if base != nil {
		r.rpm, r.tpm, r.conc = base.rpm, base.tpm, base.conc
	}
	if o.RPM > 0 {
		r.rpm = min(o.RPM, config.MaxRate)
	}
	if o.TPM > 0 {
		r.tpm = min(o.TPM, config.MaxRate)
	}
	if o.Concurrency > 0 {
		r.conc = o.Concurrency
	}
	return r
}

func (s *Subject) value(scope int) string {
	switch scope {
	case scopeKey:
		return s.Key
	case scopeIP:
		return s.IP
	case scopeRoute:
		return s.Route
	case scopeTag:
		return s.Tag
	}
	return ""
}

// storeValue is the form of a scope value used in store keys.
func storeValue(v string) string {
	if len(v) > maxValue {
		h := xxh3.HashString128(v).Bytes()
		v = "xxh3:" + hex.EncodeToString(h[:])
	}
	return v
}
