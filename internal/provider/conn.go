package provider

import (
	"net/http"
	"net/textproto"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

// Upstream is what the Options of every HTTP provider hold: the
// provider's name, nodes, credential, static headers, timeouts and
// transport. A provider's Options embed it and add their own settings.
type Upstream struct {
	Name     string
	BaseURLs []string // the nodes, http or https URLs
	// NodeNames, optional, one per base URL, are the nodes' labels.
	NodeNames []string
	APIKey    config.Secret
	Headers   map[string]string // static headers added to every upstream request
	Timeouts  config.Timeouts
	// Transport overrides the HTTP transport (tests). Nil builds one with
	// NewTransport from Timeouts, without any proxy from the environment.
	Transport http.RoundTripper
}

// Conn is what every HTTP provider keeps of its Upstream; a Provider
// embeds it, and with it Name, Nodes and CloseIdleConnections.
type Conn struct {
	name  string
	nodes *Nodes
	RT    http.RoundTripper
	// Static are the configured headers, names canonical.
	Static [][2]string
	// FirstByte and Idle are the defaults of Call.FirstByte and
	// Call.StreamIdle.
	FirstByte, Idle time.Duration
}

// Connect builds u's Conn: bases (u.BaseURLs, or the provider's default)
// joined with each of paths (NewNodes); what names the provider in errors
// ("anthropic provider").
func (u Upstream) Connect(what string, bases, paths []string) (Conn, error) {
	ns, err := NewNodes(what+" "+u.Name, bases, u.NodeNames, paths)
	if err != nil {
		return Conn{}, err
	}
	c := Conn{name: u.Name, nodes: ns, RT: u.Transport, FirstByte: u.Timeouts.ResponseHeader, Idle: u.Timeouts.StreamIdle}
	for k, v := range u.Headers {
		c.Static = append(c.Static, [2]string{textproto.CanonicalMIMEHeaderKey(k), v})
	}
	if c.RT == nil {
		c.RT = NewTransport(u.Timeouts)
	}
	return c, nil
}

// Name is the provider's configured name.
func (c *Conn) Name() string { return c.name }

// Nodes are the labels of the provider's base URLs; Call.Node indexes them.
func (c *Conn) Nodes() []string { return c.nodes.Labels() }

// Node returns node i (Nodes.Get).
func (c *Conn) Node(i int) (*Node, error) { return c.nodes.Get(i) }

// CloseIdleConnections closes the provider's idle upstream connections.
func (c *Conn) CloseIdleConnections() {
	if ci, ok := c.RT.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}
