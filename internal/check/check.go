// Package check is `ferry check`: for every configured upstream node it
// resolves the host, connects, shakes hands and sends a one-token request
// per route target, and says what most likely went wrong when a step fails.
// It talks only to the configured upstreams.
package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

// Step names, in the order they run.
const (
	StepDNS     = "dns"
	StepTCP     = "tcp"
	StepTLS     = "tls"
	StepRequest = "request" // authentication and a one-token request
)

// Result is one step against one node.
type Result struct {
	Step     string  `json:"step"`
	Provider string  `json:"provider"`
	Node     string  `json:"node"`
	Route    string  `json:"route,omitempty"` // request steps: the route's match
	Model    string  `json:"model,omitempty"`
	Millis   float64 `json:"ms"`
	OK       bool    `json:"ok"`
	Skipped  bool    `json:"skipped,omitempty"`
	Cause    string  `json:"cause,omitempty"`  // the likely cause, when not OK
	Detail   string  `json:"detail,omitempty"` // what was seen: an error or a status
}

// Options are the checker's dependencies; the zero value is the real network.
type Options struct {
	Timeout time.Duration                                                     // per step, default 10s
	Lookup  func(ctx context.Context, host string) ([]string, error)          // default net.DefaultResolver.LookupHost
	Dial    func(ctx context.Context, network, addr string) (net.Conn, error) // default a net.Dialer
	RootCAs *x509.CertPool                                                    // nil: the system's
	Proxy   func(*http.Request) (*url.URL, error)                             // default http.ProxyFromEnvironment
	Clock   func() time.Time                                                  // default time.Now
}

// Failed reports whether any result failed.
func Failed(rs []Result) bool {
	for _, r := range rs {
		if !r.OK && !r.Skipped {
			return true
		}
	}
	return false
}

// Run checks every node of every non-simulator provider of cfg, then sends a
// one-token request for every route target through the target provider's
// first reachable node.
func Run(ctx context.Context, cfg *config.Config, o Options) []Result {
	o = o.withDefaults()
	var out []Result
	reachable := map[string]string{} // provider -> first node whose connection checks passed
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		if p.Type == config.TypeSimulator {
			continue
		}
		for _, base := range baseURLs(p) {
			rs := o.connect(ctx, p.Name, base)
			out = append(out, rs...)
			if _, ok := reachable[p.Name]; !ok && !Failed(rs) {
				reachable[p.Name] = base
			}
		}
	}
	for _, r := range cfg.Routes {
		for _, t := range routeTargets(r) {
			p := providerByName(cfg, t.Provider)
			if p == nil || p.Type == config.TypeSimulator {
				continue
			}
			res := Result{Step: StepRequest, Provider: p.Name, Route: r.Match, Model: modelFor(r, t)}
			base, ok := reachable[p.Name]
			switch {
			case res.Model == "":
				res.Skipped, res.Detail = true, "the route passes the client's model name on; set a target model to check it"
			case !ok:
				res.Skipped, res.Detail = true, "no node of the provider is reachable (see above)"
			default:
				res = o.request(ctx, p, t.Headers, base, res)
			}
			out = append(out, res)
		}
	}
	return out
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Lookup == nil {
		o.Lookup = net.DefaultResolver.LookupHost
	}
	if o.Dial == nil {
		o.Dial = (&net.Dialer{}).DialContext
	}
	if o.Proxy == nil {
		o.Proxy = http.ProxyFromEnvironment
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return o
}

// connect runs the DNS, TCP and TLS steps against one node, stopping at the
// first failure.
func (o Options) connect(ctx context.Context, provider, base string) []Result {
	node := base
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return []Result{{Step: StepDNS, Provider: provider, Node: node, Cause: "the base URL does not parse", Detail: fmt.Sprint(err)}}
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[bool]string{true: "443", false: "80"}[u.Scheme == "https"]
	}
	node = u.Host
	proxied := o.proxyFor(u) != nil
	var out []Result
	step := func(name string, f func(context.Context) (string, error)) bool {
		sctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		start := o.Clock()
		detail, err := f(sctx)
		r := Result{Step: name, Provider: provider, Node: node, Millis: ms(o.Clock().Sub(start)), OK: err == nil, Detail: detail}
		if err != nil {
			r.Detail, r.Cause = err.Error(), connectCause(name, err)
		}
		out = append(out, r)
		return err == nil
	}
	if proxied {
		// Through a proxy the proxy resolves and connects; the request step
		// tells whether it works.
		out = append(out, Result{Step: StepDNS, Provider: provider, Node: node, Skipped: true, Detail: "through the proxy from the environment"})
		return out
	}
	var addrs []string
	if !step(StepDNS, func(ctx context.Context) (string, error) {
		var err error
		addrs, err = o.Lookup(ctx, host)
		return strings.Join(addrs, " "), err
	}) {
		return out
	}
	var conn net.Conn
	if !step(StepTCP, func(ctx context.Context) (string, error) {
		var err error
		conn, err = o.Dial(ctx, "tcp", net.JoinHostPort(addrs[0], port))
		if err != nil {
			return "", err
		}
		return conn.RemoteAddr().String(), nil
	}) {
		return out
	}
	defer conn.Close()
	if u.Scheme != "https" {
		return out
	}
	step(StepTLS, func(ctx context.Context) (string, error) {
		tc := tls.Client(conn, &tls.Config{ServerName: host, RootCAs: o.RootCAs, NextProtos: []string{"h2", "http/1.1"}})
		if err := tc.HandshakeContext(ctx); err != nil {
			return "", err
		}
		st := tc.ConnectionState()
		return tls.VersionName(st.Version) + " " + st.NegotiatedProtocol, nil
	})
	return out
}

func (o Options) proxyFor(u *url.URL) *url.URL {
	p, err := o.Proxy(&http.Request{URL: u})
	if err != nil {
		return nil
	}
	return p
}

// connectCause names the likely cause of a failed connection step.
func connectCause(step string, err error) string {
	var dnsErr *net.DNSError
	switch {
	case step == StepDNS && errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "host not found: a typo in base_urls, or a private name only an internal resolver knows"
	case step == StepDNS:
		return "DNS failed: no resolver reachable; proxy needed (set HTTPS_PROXY) or fix /etc/resolv.conf"
	case step == StepTCP && errors.Is(err, context.DeadlineExceeded), step == StepTCP && isTimeout(err):
		return "connection timed out: a firewall drops it; proxy needed (set HTTPS_PROXY) or the region is blocked"
	case step == StepTCP:
		return "connection refused: nothing listens there; check the port and scheme in base_urls"
	default:
		var unk x509.UnknownAuthorityError
		var host x509.HostnameError
		switch {
		case errors.As(err, &unk):
			return "certificate from an unknown authority: an intercepting proxy (add its CA), or a self-signed relay"
		case errors.As(err, &host):
			return "certificate is for another host: wrong host in base_urls, or a proxy in the way"
		}
		return "TLS handshake failed: http:// vs https:// mixed up, wrong port, or a proxy in the way"
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func baseURLs(p *config.Provider) []string {
	if len(p.BaseURLs) > 0 {
		return p.BaseURLs
	}
	if p.Type == config.TypeAnthropic {
		return []string{config.DefaultAnthropicBaseURL}
	}
	if prof, ok := config.VendorProfileByName(p.Profile); ok && prof.DefaultBaseURL != "" {
		return []string{prof.DefaultBaseURL}
	}
	return nil
}

// routeTargets are every target a route may send to: its trait rules'
// targets, its own, and its shadow.
func routeTargets(r config.Route) []config.Target {
	var ts []config.Target
	for _, w := range r.When {
		ts = append(ts, w.Targets...)
	}
	ts = append(ts, r.Targets...)
	if r.Shadow.Provider != "" {
		ts = append(ts, config.Target{Provider: r.Shadow.Provider, Model: r.Shadow.Model})
	}
	return ts
}

func providerByName(cfg *config.Config, name string) *config.Provider {
	for i := range cfg.Providers {
		if cfg.Providers[i].Name == name {
			return &cfg.Providers[i]
		}
	}
	return nil
}

// modelFor is the model a one-token request uses: the target's rewrite, or
// the route's match when it is an exact name.
func modelFor(r config.Route, t config.Target) string {
	if t.Model != "" {
		return t.Model
	}
	if !strings.Contains(r.Match, "*") {
		return r.Match
	}
	return ""
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
