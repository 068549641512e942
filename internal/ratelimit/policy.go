package ratelimit

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/ferrygw/ferry/internal/config"
)

// policy is what a hot reload may change in a running Limiter: the rules,
// the trusted proxies, the tag header and on_store_failure. The counters
// (windows, buckets, concurrency slots, outage debts) are kept by scope and
// value, not by rule, so they carry over: a limit lowered by a reload
// counts what was already taken in the current minute.
type policy struct {
	rules     *rules
	proxies   []netip.Prefix
	tagHeader string
	failOpen  bool
	mode      string
}

func newPolicy(c config.RateLimits) (*policy, error) {
	rs, err := compile(c.Rules)
	if err != nil {
		return nil, err
	}
	p := &policy{rules: rs, tagHeader: c.TagHeader, failOpen: c.OnStoreFailure != config.FailClosed, mode: c.OnStoreFailure}
	if p.mode == "" {
		p.mode = config.FailOpen
	}
	for _, s := range c.TrustedProxies {
		pr, ok := config.ParseTrustedProxy(s)
		if !ok {
			return nil, fmt.Errorf("ratelimit: trusted_proxies: %q is not an address or CIDR prefix", s)
		}
		p.proxies = append(p.proxies, pr)
	}
	return p, nil
}

// ErrBackendChange refuses a Reconfigure that changes the backend: the
// store is chosen at start.
var ErrBackendChange = errors.New("ratelimit: the backend cannot change without a restart")

// Reconfigure puts c's rules, trusted proxies, tag header and
// on_store_failure in force for the decisions that start after it,
// keeping every counter. Tickets already admitted settle as they were
// admitted. It refuses a change of backend.
func (l *Limiter) Reconfigure(c config.RateLimits) error {
	if normBackend(c.Backend) != normBackend(l.backend) {
		return ErrBackendChange
	}
	p, err := newPolicy(c)
	if err != nil {
		return err
	}
	if l.red != nil {
		l.mem.mu.Lock()
		l.mem.fallback = p.failOpen
		l.mem.mu.Unlock()
		if !p.rules.empty() {
			l.red.startBeat() // idempotent
		}
	}
	l.pol.Store(p)
	return nil
}

func normBackend(b string) string {
	if b == "" {
		return config.BackendMemory
	}
	return b
}
