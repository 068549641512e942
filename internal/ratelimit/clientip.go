package ratelimit

import (
	"net/netip"
	"strings"
)

// ClientIP is the address a request is limited as. It is the connection's
// peer (remoteAddr, "host:port" as net/http gives it) unless that peer is a
// trusted proxy (rate_limits.trusted_proxies); then X-Forwarded-For (xff:
// every header line, in order) is read from the right, each trusted address
// skipped, and the first untrusted one is the client. Reading stops at an
// entry that is not an address, and the last address read stands: whatever
// is left of it was written by someone no trusted proxy vouches for. When
// every entry is trusted the leftmost is the client. An entry with a zone
// ("fe80::1%eth0") is not an address here: a zone names an interface of
// whoever wrote it. The zero Addr means the
// peer itself is not an address (then no IP rule applies).
//
// Entries may carry a port ("192.0.2.1:4711", "[2001:db8::1]:80"), as some
// proxies write them. IPv4-mapped IPv6 addresses are read as IPv4, so one
// client has one address however it connects.
func (l *Limiter) ClientIP(remoteAddr string, xff []string) netip.Addr {
	return clientIP(l.pol.Load().proxies, remoteAddr, xff)
}

func clientIP(trusted []netip.Prefix, remoteAddr string, xff []string) netip.Addr {
	ip, ok := parseHostPort(remoteAddr)
	if !ok {
		return netip.Addr{}
	}
	// A link-local peer's zone names our interface: the address is the client.
	ip = ip.WithZone("")
	if !isTrusted(trusted, ip) {
		return ip
	}
	for i := len(xff) - 1; i >= 0; i-- {
		line := xff[i]
		for {
			var entry string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				entry, line = line[j+1:], line[:j]
			} else {
				entry, line = line, ""
			}
			a, ok := parseHostPort(strings.Trim(entry, " \t"))
			if !ok || a.Zone() != "" {
				return ip
			}
			ip = a
			if !isTrusted(trusted, ip) {
				return ip
			}
			if line == "" {
				break
			}
		}
	}
	return ip
}

// parseHostPort reads an address with or without a port. It picks the form
// before parsing: a failed parse allocates its error, and the usual inputs
// (RemoteAddr is always host:port) should cost nothing.
func parseHostPort(s string) (netip.Addr, bool) {
	var a netip.Addr
	if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	} else {
		var err error
		if a, err = netip.ParseAddr(s); err != nil {
			return netip.Addr{}, false
		}
	}
	return a.Unmap(), true
}

func isTrusted(trusted []netip.Prefix, a netip.Addr) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
