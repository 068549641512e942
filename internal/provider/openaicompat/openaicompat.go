// Package openaicompat forwards calls to OpenAI-compatible Chat Completions
// upstreams (OpenAI, Zhipu GLM, DashScope Qwen, Qianfan ERNIE, DeepSeek,
// Moonshot Kimi, vLLM, Ollama): transport and vendor error handling; vendor
// quirks are data, in profiles.yaml (read by profiles.go).
//
// An Anthropic call arrives translated by the relay (package convert, with
// ChatProfile, once per target) and is sent as such; its success goes back
// as the upstream sent it, for the relay to translate, and an upstream
// error is turned into Anthropic's error envelope with a status chosen
// from the vendor's business code first (errors.go), a context-length
// error in the words Claude Code acts on (context.go). An OpenAI call is
// forwarded as bytes, and its answer returned untouched but for a
// context-length error, which gets OpenAI's own wording. count_tokens is
// answered locally with an estimate (count.go).
package openaicompat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/openai"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/sse"
)

const (
	// chatPath is appended to every base URL; modelsPath too, for health
	// checks (every OpenAI-compatible server lists its models there).
	chatPath   = "/chat/completions"
	modelsPath = "/models"
	// maxAnswer bounds a non-streaming answer read for translation: the
	// 32 MiB of Anthropic's request limit, far above any real answer.
	maxAnswer = 32 << 20
	// maxErrorBody bounds an error body read for classification; the
	// message is all that is needed.
	maxErrorBody = 1 << 20
)

// Options configure a Provider. Upstream.BaseURLs default to the
// profile's DefaultBaseURL.
type Options struct {
	provider.Upstream
	Profile string // a name from Names()
}

// Provider is an OpenAI-compatible upstream with one or more nodes.
type Provider struct {
	provider.Conn // a node's URLs are its base with chatPath, then modelsPath
	profile       Profile
	auth          []string // the Authorization value, nil without a key
}

// New builds a Provider.
func New(o Options) (*Provider, error) {
	if o.Name == "" {
		return nil, errors.New("openai provider: name required")
	}
	prof, ok := Lookup(o.Profile)
	if !ok {
		return nil, fmt.Errorf("openai provider %s: unknown profile %q (known: %s)", o.Name, o.Profile, strings.Join(Names(), ", "))
	}
	bases := o.BaseURLs
	if len(bases) == 0 {
		if prof.DefaultBaseURL == "" {
			return nil, fmt.Errorf("openai provider %s: profile %s has no default base URL: base_urls required", o.Name, prof.Name)
		}
		bases = []string{prof.DefaultBaseURL}
	}
	if prof.KeyRequired && o.APIKey == "" {
		return nil, fmt.Errorf("openai provider %s: profile %s needs an api_key", o.Name, prof.Name)
	}
	conn, err := o.Connect("openai provider", bases, []string{chatPath, modelsPath})
	if err != nil {
		return nil, err
	}
	p := &Provider{Conn: conn, profile: prof}
	if o.APIKey != "" {
		p.auth = []string{"Bearer " + o.APIKey.Reveal()}
	}
	return p, nil
}

// Probe checks that a node answers: GET {base}/models with the provider's
// key.
func (p *Provider) Probe(ctx context.Context, node int) error {
	n, err := p.Node(node)
	if err != nil {
		return err
	}
	return provider.Probe(ctx, p.RT, n.URLs[1], p.header(0))
}

// Speaks reports the formats the provider takes: Anthropic (translated by
// the relay with ChatProfile) and OpenAI (forwarded as is). The relay asks.
func (p *Provider) Speaks(f provider.Format) bool {
	return f == provider.FormatAnthropic || f == provider.FormatOpenAI
}

// ChatProfile is the vendor's dialect, which the relay translates
// Anthropic calls for (convert.ChatTarget).
func (p *Provider) ChatProfile() *openai.Profile { return &p.profile.Profile }

// Do performs the call. An upstream's HTTP error is a Response (in the
// call's format); an error means no answer was had: every node
// unreachable, a timeout, the client gone.
func (p *Provider) Do(ctx context.Context, c *provider.Call) (*provider.Response, error) {
	switch {
	case c.Op == provider.OpCountTokens && c.Format == provider.FormatAnthropic:
		return countResponse(c.Body), nil
	case c.Op != provider.OpMessages:
		return nil, apierr.New(apierr.NotFound, "operation %s is not supported by provider %s", c.Op, p.Name())
	case c.Format == provider.FormatOpenAI:
		return p.passthrough(ctx, c)
	case c.Format == provider.FormatAnthropic:
		return p.messages(ctx, c)
	}
	return nil, apierr.New(apierr.InvalidRequest, "format %d is not supported by provider %s", c.Format, p.Name())
}

// exchange is one upstream answer, its body under the idle guard.
type exchange struct {
	resp *http.Response
	body io.ReadCloser // under the idle guard
	node string
}

func (x *exchange) header() http.Header { return answerHeader.Keep(x.resp.Header) }

// eventsHeader is header for a translated stream: the upstream's content
// type describes its own framing, not the events the client gets.
func (x *exchange) eventsHeader() http.Header {
	h := x.header()
	delete(h, "Content-Type")
	return h
}

// roundTrip POSTs body to the call's node, once. The exchange is a value:
// it lives on the caller's stack.
func (p *Provider) roundTrip(ctx context.Context, c *provider.Call, body []byte) (exchange, error) {
	n, err := p.Node(c.Node)
	if err != nil {
		return exchange{}, err
	}
	firstByte, idle := c.Timeouts(p.FirstByte, p.Idle)
	resp, g, err := provider.Post(ctx, p.RT, n.URLs[0], p.callHeader(c), body, firstByte, idle)
	if err != nil {
		return exchange{}, err
	}
	return exchange{resp: resp, node: n.Label, body: provider.GuardBody(resp.Body, g)}, nil
}

// header builds the upstream request headers: the provider's key and
// static headers, never anything of the client's (its key, anthropic-*).
func (p *Provider) header(extra int) http.Header {
	h := make(http.Header, 2+len(p.Static)+extra) // extra more to come: made at its final size

	h["Content-Type"] = jsonContentType
	if p.auth != nil {
		h["Authorization"] = p.auth
	}
	for _, kv := range p.Static {
		h[kv[0]] = []string{kv[1]}
	}
	return h
}

// callHeader is header for a call, with the header policy's headers last.
func (p *Provider) callHeader(c *provider.Call) http.Header {
	h := p.header(len(c.SetHeader))
	c.ApplySetHeader(h)
	return h
}

// passthrough forwards an OpenAI call as bytes: the body already names the
// upstream model. The answer goes back untouched, status included, except
// a context-length error, which gets OpenAI's own shape and wording
// (openaiError, context.go).
func (p *Provider) passthrough(ctx context.Context, c *provider.Call) (*provider.Response, error) {
	x, err := p.roundTrip(ctx, c, c.Body)
	if err != nil {
		return nil, err
	}
	if st := x.resp.StatusCode; st < 200 || st > 299 {
		return p.openaiError(c, &x), nil
	}
	out := &provider.Response{Status: x.resp.StatusCode, Header: x.header(), Node: x.node}
	if c.Stream && x.resp.StatusCode == http.StatusOK && provider.IsEventStream(x.resp.Header.Get("Content-Type")) {
		out.Events = provider.Plain(sse.NewReader(x.body, 0))
	} else {
		out.Body = x.body
	}
	return out, nil
}

// messages sends an Anthropic call as the relay translated it
// (convert.Prepare: Call.PreparedBody), once. An upstream error is
// classified into Anthropic's error shape here, by the vendor's profile; a
// success is returned as the upstream sent it (an event stream, or a JSON
// body read whole), for the relay to translate back. A 2xx body that is an
// error object and no answer (Baidu's error_code, some proxies'
// {"error":…}) is classified like any upstream error.
func (p *Provider) messages(ctx context.Context, c *provider.Call) (*provider.Response, error) {
	body := c.PreparedBody
	if body == nil {
		return nil, apierr.New(apierr.Internal, "provider %s: an Anthropic call reaches it translated (convert.Prepare)", p.Name())
	}
	x, err := p.roundTrip(ctx, c, body)
	if err != nil {
		return nil, err
	}
	status := x.resp.StatusCode
	if status < 200 || status > 299 {
		b, _ := readAtMost(x.body, maxErrorBody) // a cut-short body still classifies by status
		x.body.Close()
		f := p.profile.classifyFailure(status, b, anthropicFacts(c, body))
		r := errorResponse(f.kind, f.message, x.resp.Header, x.node)
		r.Note = failureNote(status, b, f)
		return r, nil
	}
	if c.Stream && provider.IsEventStream(x.resp.Header.Get("Content-Type")) {
		return &provider.Response{Status: status, Header: x.eventsHeader(), Events: upstreamChunks{sse.NewReader(x.body, 0)}, Node: x.node}, nil
	}
	// Memory as bytes arrive, and an over-size answer cut as it passes
	// the bound (io.ReadAll's growth allocated several times it). A
	// declared length sizes the first block, up to 64 KiB: one byte past
	// it lets the read see the end without another block.
	var start []byte
	if n := x.resp.ContentLength; n >= 0 {
		start = make([]byte, 0, min(n+1, 64<<10))
	}
	b, _, err := provider.ReadBounded(x.body, start, maxAnswer)
	x.body.Close()
	if errors.Is(err, provider.ErrTooLarge) {
		err = fmt.Errorf("upstream answer over %d bytes: %w", maxAnswer, err)
	}
	if err != nil {
		return nil, readFailure(err)
	}
	if !isAnswer(b) {
		if _, ok := parseUpstreamError(b); ok {
			var facts *contextFacts
			if !c.Stream {
				facts = anthropicFacts(c, body)
			}
			f := p.profile.classifyFailure(status, b, facts)
			return errorResponse(f.kind, f.message, x.resp.Header, x.node), nil
		}
	}
	return &provider.Response{Status: status, Header: x.header(), Body: provider.NewBytesBody(b), Node: x.node}, nil
}

// isAnswer reports whether b looks like a chat.completion: choices, and no
// error object (openai.IsErrorChunk's test), both found in one pass over
// b rather than two. The pass skims (jsonpeek.Skim): the translation
// validates b, and an invalid b fails there whatever isAnswer said (and
// parseUpstreamError refuses it).
func isAnswer(b []byte) bool {
	var ch, e []byte
	jsonpeek.Skim(b, func(key []byte, start, end int) bool {
		switch {
		case ch == nil && jsonpeek.KeyIs(key, "choices"):
			ch = b[start:end]
		case e == nil && jsonpeek.KeyIs(key, "error"):
			e = b[start:end]
		}
		return true
	})
	isError := len(b) > 0 && b[0] == '{' && e != nil && string(e) != "null"
	return len(ch) > 2 && ch[0] == '[' && !isError
}

// readAtMost reads r whole, failing when it holds more than limit bytes.
func readAtMost(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("upstream answer over %d bytes", limit)
	}
	return b, err
}

// readFailure classifies a failure to read an answer body.
func readFailure(err error) error {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae // the idle timeout
	}
	return apierr.Wrap(apierr.BadGateway, err, "upstream answer could not be read")
}

// upstreamChunks is the upstream's Chat Completions stream, which the
// relay translates (provider.Plain's, without its allocation: the reader
// is the one word of an interface value). What it would say of usage,
// notes and faults, the translation says.
type upstreamChunks struct{ *sse.Reader }

func (upstreamChunks) Usage() (anthropic.Totals, bool) { return anthropic.Totals{}, false }
func (upstreamChunks) Note() error                     { return nil }
func (upstreamChunks) Fault() error                    { return nil }
