package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Validate checks c as ApplyDefaults leaves it and returns every problem
// found, as Problems, or nil. The problems carry paths but no file or line:
// Parse adds those for a Config read from a file.
func (c *Config) Validate() error {
	return validate(c, nil).err()
}

// MaxRequestBytesLimit is the largest limits.max_request_bytes allowed.
const MaxRequestBytesLimit = 1 << 30

// MinKeyLength is the shortest gateway key accepted.
const MinKeyLength = 20

// knownTypes lists the provider types, for messages.
const knownTypes = TypeAnthropic + ", " + TypeOpenAI + ", " + TypeSimulator

// validate checks c. notes maps paths to why interpolation left them empty
// (see expand), to explain a missing required value; nil for a Config built
// in code.
func validate(c *Config, notes map[string]string) Problems {
	v := &validator{notes: notes}
	v.listen(c)
	v.keys(c.Keys)
	v.providers(c.Providers)
	v.routes(c.Routes, c.Providers)
	v.policies(c)
	v.resilience(c)
	v.rateLimits(c)
	v.cache(c)
	v.guard(c)
	v.tls(c)
	v.usage(c)
	v.store(c)
	v.observe(c)
	if n := c.Limits.MaxRequestBytes; n <= 0 || n > MaxRequestBytesLimit {
		v.addf("limits.max_request_bytes", "%d is out of range: it must be more than 0 and at most %d (1 GiB)", n, MaxRequestBytesLimit)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.addf("log.level", "%q is unknown: use debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		v.addf("log.format", "%q is unknown: use json or text", c.Log.Format)
	}
	v.nonNegative("shutdown_timeout", c.ShutdownTimeout)
	v.nonNegative("limits.body_timeout", c.Limits.BodyTimeout)
	return v.problems
}

type validator struct {
	notes    map[string]string
	problems Problems
}

func (v *validator) add(path, msg string) {
	v.problems = append(v.problems, Problem{Path: path, Msg: msg})
}

func (v *validator) addf(path, format string, args ...any) {
	v.add(path, fmt.Sprintf(format, args...))
}

// missing reports an empty value that is required. When ${VAR}
// interpolation left it empty, it says which variable did.
func (v *validator) missing(path, msg string) {
	if note := v.notes[path]; note != "" {
		v.add(path, "is empty: "+note)
		return
	}
	v.add(path, msg)
}

// oneOf reports a value that is none of allowed, naming them: "%q is
// unknown: use a, b or c".
func (v *validator) oneOf(path, value string, allowed ...string) {
	if slices.Contains(allowed, value) {
		return
	}
	last := len(allowed) - 1
	v.addf(path, "%q is unknown: use %s or %s", value, strings.Join(allowed[:last], ", "), allowed[last])
}

// named checks the name of list[i], at path: it is set, and not used by an
// earlier element (seen holds their names and indexes). It reports whether
// the name is new, and records it then.
func (v *validator) named(path, list, name string, i int, seen map[string]int) bool {
	first, dup := seen[name]
	switch {
	case name == "":
		v.missing(path, "is required")
	case dup:
		v.addf(path, "%q is already used by %s[%d]", name, list, first)
	default:
		seen[name] = i
		return true
	}
	return false
}

func (v *validator) nonNegative(path string, d time.Duration) {
	if d < 0 {
		v.add(path, "must not be negative")
	}
}

// share checks a probability.
func (v *validator) share(path string, x float64) {
	if !(x >= 0 && x <= 1) { // also catches NaN
		v.addf(path, "%g is not between 0 and 1", x)
	}
}

func (v *validator) listen(c *Config) {
	listenOK := validHostPort(c.Listen)
	switch {
	case c.Listen == "":
		v.missing("listen", "is required")
	case !listenOK:
		v.addf("listen", "%q is not host:port with a numeric port (e.g. 127.0.0.1:8080)", c.Listen)
	case len(c.Keys) == 0 && len(c.HMAC.Keys) == 0 && c.AdminKey == "" && !IsLoopback(c.Listen):
		// Without keys anyone who can reach the port spends the providers'
		// credits: only the local machine may.
		v.addf("listen", "%q is not a loopback address and no keys are configured: configure keys, or listen on 127.0.0.1", c.Listen)
	}
	switch a := c.Admin.Listen; {
	case a == AdminOff:
	case a == "":
		v.missing("admin.listen", `is required (or "off")`)
	case !validHostPort(a):
		v.addf("admin.listen", `%q is not host:port with a numeric port (e.g. 127.0.0.1:8081) or "off"`, a)
	case listenOK && sameAddress(a, c.Listen):
		v.addf("admin.listen", "%q must differ from listen", a)
	}
}

// validHostPort reports whether s is host:port with a numeric port; the
// host may be empty (every interface).
func validHostPort(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	_, err = strconv.ParseUint(port, 10, 16)
	return err == nil
}

// sameAddress reports whether two valid listen addresses would collide: the
// same port on the same host, or on every interface. Port 0 picks a free
// port, so it never collides.
func sameAddress(a, b string) bool {
	ah, ap, _ := net.SplitHostPort(a)
	bh, bp, _ := net.SplitHostPort(b)
	an, _ := strconv.ParseUint(ap, 10, 16)
	bn, _ := strconv.ParseUint(bp, 10, 16)
	if an != bn || an == 0 {
		return false
	}
	return strings.EqualFold(ah, bh) || unspecified(ah) || unspecified(bh)
}

func unspecified(host string) bool {
	if host == "" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsUnspecified()
}

func (v *validator) keys(keys []Key) {
	names := map[string]int{}
	digests := map[[sha256.Size]byte]int{}
	for i, k := range keys {
		p := fmt.Sprintf("keys[%d]", i)
		v.named(p+".name", "keys", k.Name, i, names)
		switch {
		case k.Key != "" && k.KeySHA256 != "":
			v.add(p, ": set key or key_sha256, not both")
			continue
		case k.Key == "" && k.KeySHA256 == "":
			if v.notes[p+".key"] != "" {
				v.missing(p+".key", "")
			} else {
				v.add(p, ": set key or key_sha256")
			}
			continue
		}
		field := p + ".key"
		if n := utf8.RuneCountInString(k.Key.Reveal()); k.Key != "" && n < MinKeyLength {
			// A short key can be guessed: refuse it, whatever else is wrong.
			v.addf(field, "is %d characters long: a gateway key needs at least %d (for example: openssl rand -hex 24)", n, MinKeyLength)
		}
		d := sha256.Sum256([]byte(k.Key.Reveal()))
		if k.KeySHA256 != "" {
			field = p + ".key_sha256"
			b, err := hex.DecodeString(k.KeySHA256)
			if err != nil || len(b) != sha256.Size {
				v.add(field, "is not 64 hex characters (the SHA-256 of the key)")
				continue
			}
			d = [sha256.Size]byte(b)
		}
		if first, dup := digests[d]; dup {
			v.addf(field, "is the same key as keys[%d]", first)
			continue
		}
		digests[d] = i
	}
}

func (v *validator) providers(ps []Provider) {
	if len(ps) == 0 {
		v.add("providers", ": at least one provider is required")
		return
	}
	names := map[string]int{}
	for i, pr := range ps {
		p := fmt.Sprintf("providers[%d]", i)
		if v.named(p+".name", "providers", pr.Name, i, names) && !validProviderName(pr.Name) {
			v.addf(p+".name", "%q is invalid: use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit", pr.Name)
		}
		switch pr.Type {
		case "":
			v.addf(p+".type", "is required (known types: %s)", knownTypes)
		case TypeAnthropic:
			v.anthropic(p, pr)
		case TypeSimulator:
			v.simulated(p, pr)
		case TypeOpenAI:
			v.openai(p, pr)
		default:
			v.addf(p+".type", "%q is an unknown type (known types: %s)", pr.Type, knownTypes)
		}
		v.headers(p+".headers", pr.Headers)
		t := pr.Timeouts
		v.nonNegative(p+".timeouts.connect", t.Connect)
		v.nonNegative(p+".timeouts.tls_handshake", t.TLSHandshake)
		v.nonNegative(p+".timeouts.response_header", t.ResponseHeader)
		v.nonNegative(p+".timeouts.stream_idle", t.StreamIdle)
		v.nonNegative(p+".timeouts.node_down", t.NodeDown)
	}
}

// validProviderName matches ^[a-z0-9][a-z0-9._-]*$: names appear in logs,
// metrics labels and error messages, where they should need no quoting.
func validProviderName(s string) bool {
	for i, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return s != ""
}

func (v *validator) anthropic(p string, pr Provider) {
	v.baseURLs(p, pr.BaseURLs)
	if pr.APIKey == "" {
		v.missing(p+".api_key", "is required")
	}
	if pr.Auth != AuthXAPIKey && pr.Auth != AuthBearer {
		v.addf(p+".auth", "%q is unknown: use x-api-key or bearer", pr.Auth)
	}
	if pr.Profile != "" {
		v.add(p+".profile", "must not be set: profiles apply only to type openai")
	}
	if pr.Simulator != (Simulator{}) {
		v.add(p+".simulator", "must not be set: it applies only to type simulator")
	}
}

func (v *validator) openai(p string, pr Provider) {
	vp, ok := VendorProfileByName(pr.Profile)
	switch {
	case pr.Profile == "":
		v.addf(p+".profile", "is required for type openai (known profiles: %s)", vendorProfileNames())
	case !ok:
		v.addf(p+".profile", "%q is unknown (known profiles: %s)", pr.Profile, vendorProfileNames())
	}
	v.baseURLs(p, pr.BaseURLs)
	if ok && vp.KeyRequired && pr.APIKey == "" {
		v.missing(p+".api_key", "is required")
	}
	if pr.Auth != "" {
		v.add(p+".auth", "must not be set: OpenAI-compatible upstreams take a bearer token")
	}
	if pr.Simulator != (Simulator{}) {
		v.add(p+".simulator", "must not be set: it applies only to type simulator")
	}
}

func (v *validator) baseURLs(p string, urls []string) {
	if len(urls) == 0 {
		v.add(p+".base_urls", ": at least one base URL is required")
	}
	seen := map[string]int{}
	for i, raw := range urls {
		path := fmt.Sprintf("%s.base_urls[%d]", p, i)
		// The URL is never quoted: it might carry a credential.
		u, err := url.Parse(raw)
		switch {
		case raw == "":
			v.missing(path, "is empty")
			continue
		case err != nil || (u.Scheme != "http" && u.Scheme != "https"):
			v.add(path, "is not an absolute http:// or https:// URL")
			continue
		case u.Hostname() == "":
			v.add(path, "has no host")
			continue
		case u.User != nil:
			v.add(path, "must not hold a user name or password: put the credential in api_key")
			continue
		case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
			v.add(path, "must not have a query or fragment")
			continue
		}
		norm := strings.TrimRight(raw, "/") // the provider trims it too
		if first, dup := seen[norm]; dup {
			v.addf(path, "repeats base_urls[%d]", first)
			continue
		}
		seen[norm] = i
	}
}

func (v *validator) simulated(p string, pr Provider) {
	const why = "must not be set: a simulator makes no upstream calls"
	if len(pr.BaseURLs) > 0 {
		v.add(p+".base_urls", why)
	}
	if pr.APIKey != "" {
		v.add(p+".api_key", why)
	}
	if pr.Auth != "" {
		v.add(p+".auth", why)
	}
	if pr.Profile != "" {
		v.add(p+".profile", why)
	}
	s := pr.Simulator
	p += ".simulator"
	v.nonNegative(p+".first_token", s.FirstToken)
	if !(s.TokensPerSecond >= 0) {
		v.add(p+".tokens_per_second", "must be 0 or more")
	}
	v.share(p+".tool_use", s.ToolUse)
	e := s.Errors
	v.share(p+".errors.rate_limit", e.RateLimit)
	v.share(p+".errors.api_error", e.APIError)
	v.share(p+".errors.overloaded", e.Overloaded)
	// A little slack: 0.1+0.2+0.7 is 1.0000000000000002 in floating point.
	if sum := e.RateLimit + e.APIError + e.Overloaded; sum > 1+1e-9 {
		v.addf(p+".errors", ": rate_limit, api_error and overloaded add up to %g, more than 1", sum)
	}
}

func (v *validator) headers(p string, h map[string]string) {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names) // map order is random; problems should not be
	seen := map[string]string{}
	for _, name := range names {
		path := p + "[" + strconv.Quote(name) + "]"
		lower := strings.ToLower(name)
		switch {
		case !validHeaderName(name):
			v.add(path, "is not a valid header name")
			continue
		case lower == "x-api-key" || lower == "authorization":
			v.add(path, "must not be set: Ferry sends the credential from api_key, as auth says")
		case lower == "host" || lower == "content-length":
			v.add(path, "must not be set: Ferry sets it for each request")
		case isHopByHop(lower):
			v.add(path, "must not be set: it is a hop-by-hop header")
		}
		if first, dup := seen[lower]; dup {
			v.addf(path, "is the same header as headers[%q]", first)
		} else {
			seen[lower] = name
		}
		if !validHeaderValue(h[name]) {
			// The value is never quoted: it might be a credential.
			v.add(path, "has a value with control characters, which HTTP forbids")
		}
	}
}

func isHopByHop(lower string) bool {
	switch lower {
	case "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade":
		return true
	}
	return strings.HasPrefix(lower, "proxy-")
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 §5.6.2).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s holds no control character but tab.
func validHeaderValue(s string) bool {
	for _, c := range []byte(s) {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func (v *validator) routes(rs []Route, ps []Provider) {
	if len(rs) == 0 {
		v.add("routes", ": at least one route is required")
		return
	}
	defined := map[string]bool{}
	for _, pr := range ps {
		defined[pr.Name] = true
	}
	matches := map[string]int{}
	for i, r := range rs {
		p := fmt.Sprintf("routes[%d]", i)
		if r.Match != "" && !validMatch(r.Match) {
			v.addf(p+".match", `%q is not a valid pattern: use an exact name, "prefix*", "*suffix" or "*"`, r.Match)
		} else {
			v.named(p+".match", "routes", r.Match, i, matches)
		}
		models := map[string]int{}
		for j, m := range r.Models {
			mp := fmt.Sprintf("%s.models[%d]", p, j)
			if first, dup := models[m]; m == "" {
				v.missing(mp, "is empty")
			} else if dup {
				v.addf(mp, "%q is already listed as models[%d]", m, first)
			} else {
				models[m] = j
			}
		}
		if len(r.Targets) == 0 {
			v.add(p+".targets", ": at least one target is required")
		}
		for j, t := range r.Targets {
			v.definedProvider(fmt.Sprintf("%s.targets[%d].provider", p, j), t.Provider, defined)
		}
	}
}

// definedProvider checks that a target's provider (at path) is set and
// defined.
func (v *validator) definedProvider(path, name string, defined map[string]bool) {
	switch {
	case name == "":
		v.missing(path, "is required")
	case !defined[name]:
		v.addf(path, "%q is not defined", name)
	}
}

// validMatch reports whether a route's match is an exact name, "prefix*",
// "*suffix" or "*".
func validMatch(m string) bool {
	switch strings.Count(m, "*") {
	case 0:
		return true
	case 1:
		return strings.HasPrefix(m, "*") || strings.HasSuffix(m, "*")
	}
	return false
}

// IsLoopback reports whether a listen address binds only loopback
// interfaces. An empty host binds every interface, so it is not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
