// Package anthropic forwards calls to Anthropic-format upstreams: the
// Anthropic API itself, relay nodes in front of it, and vendors'
// Anthropic-compatible endpoints.
//
// Same-format traffic is forwarded as bytes: the request body arrives with
// its model already patched, and the answer goes back undecoded, as a JSON
// body or as an event source over the upstream's stream.
package anthropic

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/sse"
)

// DefaultVersion is sent when the client sent no anthropic-version header:
// the API requires one.
const DefaultVersion = "2023-06-01"

// Options configure a Provider.
type Options struct {
	provider.Upstream
	Auth string // config.AuthXAPIKey (default) or config.AuthBearer
}

// Provider is an Anthropic-format upstream with one or more nodes.
type Provider struct {
	provider.Conn          // a node's URLs are per operation, indexed by Op
	authKey       string   // canonical header name
	authValue     []string // shared by every request's header: sent, never changed
}

// New builds a Provider.
func New(o Options) (*Provider, error) {
	if o.Name == "" {
		return nil, errors.New("anthropic provider: name required")
	}
	if len(o.BaseURLs) == 0 {
		return nil, fmt.Errorf("anthropic provider %s: no base_urls", o.Name)
	}
	if o.APIKey == "" {
		return nil, fmt.Errorf("anthropic provider %s: no api_key", o.Name)
	}
	conn, err := o.Connect("anthropic provider", o.BaseURLs, paths[:])
	if err != nil {
		return nil, err
	}
	p := &Provider{Conn: conn}
	switch o.Auth {
	case "", config.AuthXAPIKey:
		p.authKey, p.authValue = "X-Api-Key", []string{o.APIKey.Reveal()}
	case config.AuthBearer:
		p.authKey, p.authValue = "Authorization", []string{"Bearer " + o.APIKey.Reveal()}
	default:
		return nil, fmt.Errorf("anthropic provider %s: unknown auth %q", o.Name, o.Auth)
	}
	return p, nil
}

// NewTransport is provider.NewTransport, the transport New builds when
// Options.Transport is nil.
func NewTransport(t config.Timeouts) *provider.Transport { return provider.NewTransport(t) }

// probe indexes the health-check URL in a node's URLs, after the
// operations' own.
const probe = provider.OpCountTokens + 1

var paths = [...]string{provider.OpMessages: "/v1/messages", provider.OpCountTokens: "/v1/messages/count_tokens", probe: "/v1/models"}

// Probe checks that a node answers: GET /v1/models?limit=1 with the
// provider's credential, the cheapest authenticated call the API has.
func (p *Provider) Probe(ctx context.Context, node int) error {
	n, err := p.Node(node)
	if err != nil {
		return err
	}
	u := *n.URLs[probe]
	u.RawQuery = "limit=1"
	return provider.Probe(ctx, p.RT, &u, p.header(nil, 0))
}

// Do sends the call to the node it names, once. Anything the upstream
// answers, errors included, is returned as a Response for the client to
// see unmodified, but for a vendor's context-length error reworded as
// Claude Code needs it (context.go); an error means no answer was had (see
// provider.Failure).
func (p *Provider) Do(ctx context.Context, c *provider.Call) (*provider.Response, error) {
	if c.Op >= probe {
		return nil, apierr.New(apierr.NotFound, "operation %s is not supported by provider %s", c.Op, p.Name())
	}
	n, err := p.Node(c.Node)
	if err != nil {
		return nil, err
	}
	u := n.URLs[c.Op]
	if c.Query != "" {
		q := *u
		q.RawQuery = c.Query
		u = &q
	}
	firstByte, idle := c.Timeouts(p.FirstByte, p.Idle)
	resp, g, err := provider.Post(ctx, p.RT, u, p.callHeader(c), c.Body, firstByte, idle)
	if err != nil {
		return nil, err
	}
	out := &provider.Response{Status: resp.StatusCode, Header: answerHeader.Keep(resp.Header), Node: n.Label}
	if c.Stream && resp.StatusCode == http.StatusOK && provider.IsEventStream(resp.Header.Get("Content-Type")) {
		out.Events = provider.Plain(&events{r: sse.NewReader(resp.Body, 0), g: g})
	} else {
		out.Body = provider.GuardBody(resp.Body, g)
		rewordContextError(out, c) // context.go
	}
	return out, nil
}

// header builds the upstream request headers from an allowlist of the
// client's headers plus the provider's own credential. The client's key
// (x-api-key, Authorization) is never copied. The map is made at its final
// size, extra more to come (the header policy's).
func (p *Provider) header(in http.Header, extra int) http.Header {
	h := provider.SelectHeader(in, forwardName, 3+len(p.Static)+extra) // the version, the content type, the credential
	if len(h["Anthropic-Version"]) == 0 {
		h["Anthropic-Version"] = []string{DefaultVersion}
	}
	h["Content-Type"] = jsonContentType
	h[p.authKey] = p.authValue
	for _, kv := range p.Static {
		h[kv[0]] = []string{kv[1]}
	}
	return h
}

// callHeader is header for a call, with the header policy's headers last.
func (p *Provider) callHeader(c *provider.Call) http.Header {
	h := p.header(c.Header, len(c.SetHeader))
	c.ApplySetHeader(h)
	return h
}

var jsonContentType = []string{"application/json"}

// forwardName is the request header allowlist (provider.SelectHeader's
// name: k when it is forwarded, "" when not). Keys are canonical (net/http
// canonicalizes incoming headers).
func forwardName(k string) string {
	switch {
	case k == "Accept", k == "User-Agent", k == "X-App", k == "X-Claude-Code-Session-Id",
		// anthropic-version, anthropic-beta (every value), and the newer
		// anthropic-* request parameters; X-Stainless-* describe the SDK.
		strings.HasPrefix(k, "Anthropic-"), strings.HasPrefix(k, "X-Stainless-"):
		return k
	}
	return ""
}

// answerHeader keeps the upstream headers a client may act on, with
// Anthropic's names.
var answerHeader = provider.AnswerHeader{RequestID: "Request-Id", RateLimit: "Anthropic-Ratelimit-", ShouldRetry: true}

// ErrIdle is provider.ErrIdle, the cause when an upstream stays silent
// longer than stream_idle.
var ErrIdle = provider.ErrIdle

// events is an upstream's event stream under the idle guard, which each
// event (rather than each read, as for a body) touches: stream_idle is the
// longest silence between two events.
type events struct {
	r *sse.Reader
	g *provider.IdleGuard
}

func (e *events) Next() (sse.Event, error) {
	ev, err := e.r.Next()
	if err != nil {
		return ev, e.g.Err(err)
	}
	e.g.Touch()
	return ev, nil
}

// Ready is the reader's: whether a frame (or the end) is buffered.
func (e *events) Ready() bool { return e.r.Ready() }

// Close closes the body before stopping the guard, whose cancel would
// close the connection of a body the transport could still finish
// (guardedBody.Close).
func (e *events) Close() error {
	err := e.r.Close()
	e.g.Stop()
	return err
}
