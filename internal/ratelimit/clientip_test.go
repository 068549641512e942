package ratelimit

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/config"
)

func prefixes(t testing.TB, list ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range list {
		p, ok := config.ParseTrustedProxy(s)
		if !ok {
			t.Fatalf("bad prefix %q", s)
		}
		out = append(out, p)
	}
	return out
}

func TestClientIP(t *testing.T) {
	trusted := prefixes(t, "10.0.0.0/8", "127.0.0.1", "2001:db8:ffff::/48")
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string // "" : the zero Addr
	}{
		{"untrusted peer: its address, whatever the header says", "192.0.2.9:5000", []string{"1.2.3.4"}, "192.0.2.9"},
		{"trusted peer without the header", "10.1.1.1:5000", nil, "10.1.1.1"},
		{"trusted peer: the header's last entry", "10.1.1.1:5000", []string{"203.0.113.7"}, "203.0.113.7"},
		{"trusted hops are skipped from the right", "127.0.0.1:5000", []string{"198.51.100.1, 203.0.113.7, 10.2.2.2"}, "203.0.113.7"},
		{"a client's forged entries left of the real one are ignored", "10.1.1.1:5000", []string{"6.6.6.6, 203.0.113.7"}, "203.0.113.7"},
		{"several header lines are one list", "10.1.1.1:5000", []string{"198.51.100.1", "203.0.113.7, 10.3.3.3"}, "203.0.113.7"},
		{"every entry trusted: the leftmost", "10.1.1.1:5000", []string{"10.9.9.9, 10.8.8.8"}, "10.9.9.9"},
		{"an invalid entry stops the walk at the last address", "10.1.1.1:5000", []string{"203.0.113.7, unknown, 10.2.2.2"}, "10.2.2.2"},
		{"an empty entry stops the walk", "10.1.1.1:5000", []string{"203.0.113.7,,"}, "10.1.1.1"},
		{"an empty header line stops the walk", "10.1.1.1:5000", []string{"203.0.113.7", ""}, "10.1.1.1"},
		{"entries with ports", "10.1.1.1:5000", []string{"[2001:db8::7]:443, 10.2.2.2:80"}, "2001:db8::7"},
		{"spaces and tabs around entries", "10.1.1.1:5000", []string{" \t203.0.113.7\t "}, "203.0.113.7"},
		{"IPv4-mapped peer and entries read as IPv4", "[::ffff:10.1.1.1]:5000", []string{"::ffff:203.0.113.7"}, "203.0.113.7"},
		{"IPv6 trusted proxy", "[2001:db8:ffff::1]:5000", []string{"2001:db8::42"}, "2001:db8::42"},
		{"an entry with a zone is not an address", "10.1.1.1:5000", []string{"fe80::1%eth0"}, "10.1.1.1"},
		{"a peer's zone is dropped", "[fe80::1%eth0]:5000", nil, "fe80::1"},
		{"peer without a port", "192.0.2.9", nil, "192.0.2.9"},
		{"peer that is no address", "@", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clientIP(trusted, tt.remote, tt.xff)
			gs := ""
			if got.IsValid() {
				gs = got.String()
			}
			if gs != tt.want {
				t.Errorf("clientIP(%q, %q) = %q, want %q", tt.remote, tt.xff, gs, tt.want)
			}
		})
	}
}

func TestClientIPAllocs(t *testing.T) {
	trusted := prefixes(t, "10.0.0.0/8")
	xff := []string{"198.51.100.1, 203.0.113.7, 10.2.2.2"}
	if n := testing.AllocsPerRun(100, func() { clientIP(trusted, "10.1.1.1:5000", xff) }); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

// clientIPReference is a plain reading of the rule, to check the parser
// against: split everything, walk from the right.
func clientIPReference(trusted []netip.Prefix, remote string, xff []string) netip.Addr {
	ip, ok := parseHostPort(remote)
	if !ok {
		return netip.Addr{}
	}
	ip = ip.WithZone("")
	var entries []string
	for _, line := range xff {
		entries = append(entries, strings.Split(line, ",")...)
	}
	for i := len(entries) - 1; i >= 0 && isTrusted(trusted, ip); i-- {
		a, ok := parseHostPort(strings.Trim(entries[i], " \t"))
		if !ok || a.Zone() != "" {
			break
		}
		ip = a
	}
	return ip
}

func FuzzClientIP(f *testing.F) {
	trusted := prefixes(f, "10.0.0.0/8", "127.0.0.1", "2001:db8::/32")
	f.Add("10.1.1.1:5000", "198.51.100.1, 203.0.113.7, 10.2.2.2", "")
	f.Add("127.0.0.1:1", "[2001:db8::7]:443,10.0.0.1", "6.6.6.6")
	f.Add("[::ffff:10.0.0.1]:1", "::ffff:203.0.113.7, fe80::1%eth0", "")
	f.Add("192.0.2.1:1", "", "")
	f.Add("10.0.0.1:1", ",,,", " \t")
	f.Fuzz(func(t *testing.T, remote, line1, line2 string) {
		xff := []string{line1, line2}
		got := clientIP(trusted, remote, xff)
		want := clientIPReference(trusted, remote, xff)
		if got != want {
			t.Fatalf("clientIP(%q, %q) = %v, reference %v", remote, xff, got, want)
		}
		if !got.IsValid() {
			return
		}
		if got.Zone() != "" || got.Is4In6() {
			t.Fatalf("clientIP = %v: zones and mapped addresses must not come out", got)
		}
		// The result is the peer or one of the header's entries.
		peer, _ := parseHostPort(remote)
		if got != peer.WithZone("") && !containsAddr(xff, got) {
			t.Fatalf("clientIP = %v is neither the peer nor in the header", got)
		}
	})
}

func containsAddr(xff []string, a netip.Addr) bool {
	for _, line := range xff {
		for _, e := range strings.Split(line, ",") {
			if b, ok := parseHostPort(strings.Trim(e, " \t")); ok && b == a {
				return true
			}
		}
	}
	return false
}
