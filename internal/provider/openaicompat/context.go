package openaicompat

// Context-length errors: every vendor's sentence for "the conversation
// outgrew the model", read into numbers, so that the client gets the
// sentence it acts on (tokens/overflow.go): Claude Code compacts or
// shrinks max_tokens only when the error says so in its own words.
//
// Where the vendor gives the numbers they are used as given. Where it
// gives only the limit (DashScope) or nothing (Zhipu 1261), the input is
// counted with Ferry's tokenizer (count.go) and the limit taken from the
// error or from the profile's ContextWindows, and the access log's note
// says the count is an estimate. Each wording's source is beside it, and
// a fixture of it is in testdata/*_error_context*.txtar.

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/openai"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/tokens"
)

// ContextWindow is a model family's documented context window: models
// whose name starts with Prefix take Tokens in all (input and output).
// Source says where the figure comes from.
type ContextWindow struct {
	Prefix string
	Tokens int64
	Source string
}

// contextWindow is the window of model by the longest matching prefix; 0
// when unknown.
func (p *Profile) contextWindow(model string) int64 {
	model = strings.ToLower(model)
	var best ContextWindow
	for _, w := range p.ContextWindows {
		if strings.HasPrefix(model, w.Prefix) && len(w.Prefix) > len(best.Prefix) {
			best = w
		}
	}
	return best.Tokens
}

// contextFacts is what is known of the request whose error is read.
type contextFacts struct {
	model     string // the upstream model
	maxTokens int64  // max_tokens as sent upstream; 0 unknown
	// input counts the request's input tokens with Ferry's tokenizer (an
	// estimate, not the vendor's count); nil when it cannot.
	input func() (int64, error)
}

// anthropicFacts describes an Anthropic call the upstream refused; body is
// its translation, as sent. Built on the error path only: reading
// max_tokens walks the body.
func anthropicFacts(c *provider.Call, body []byte) *contextFacts {
	return &contextFacts{model: c.Model, maxTokens: sentMaxTokens(body), input: func() (int64, error) { return CountTokens(c.Body) }}
}

// contextOverflow reads a context-length error into numbers. kind is the
// error's class (apierr.ContextLength when the vendor's code says so without
// numbers); f may be nil. note is set when the input was counted by Ferry,
// or a context-length error could not be put in numbers. ok is false when
// the error is not a context-length error or its numbers cannot be had;
// the vendor's message then stands.
func (p *Profile) contextOverflow(e upstreamError, kind apierr.Kind, f *contextFacts) (c tokens.ContextOverflow, note string, ok bool) {
	if e.promptTokens > 0 && e.contextSize > 0 {
		// llama.cpp's numbers beside its message.
		return tokens.ContextOverflow{Input: e.promptTokens, Limit: e.contextSize}, "", true
	}
	var maxTokens int64
	if f != nil {
		maxTokens = f.maxTokens
	}
	c, limitOnly, ok := tokens.ParseVendorContextMessage(e.message, maxTokens)
	if ok && !limitOnly {
		return c, "", true
	}
	// The limit without the input's size (from the message, or the
	// model's documented window): count the input.
	if !ok && kind == apierr.ContextLength && f != nil {
		c.Limit = p.contextWindow(f.model)
	}
	if c.Limit <= 0 && kind == apierr.ContextLength && f != nil {
		return c, fmt.Sprintf("context-length error without numbers, and no documented window for model %q: the vendor's message is passed on", f.model), false
	}
	if c.Limit <= 0 || f == nil || f.input == nil {
		return c, "", false
	}
	n, err := f.input()
	if err != nil {
		return c, "", false
	}
	// The upstream refused the input as over what the window leaves it;
	// an estimate below that (another tokenizer than the vendor's) would
	// contradict the refusal, so the count reported is at least one more,
	// and the log says so.
	over := c.Limit - c.MaxTokens + 1
	c.Input = max(n, over)
	note = fmt.Sprintf("context-length error without a token count: input counted by Ferry (o200k_base, an estimate): %d tokens, limit %d", n, c.Limit)
	if n < over {
		note += fmt.Sprintf(", reported as %d since the upstream refused it", over)
	}
	return c, note, true
}

// sentMaxTokens is the max_tokens an upstream request body carries (either
// field name); 0 when it has none.
func sentMaxTokens(body []byte) int64 {
	for _, name := range []string{"max_completion_tokens", "max_tokens"} {
		if v := jsonpeek.Member(body, name); v != nil {
			if n, err := strconv.ParseInt(string(v), 10, 64); err == nil && n > 0 {
				return n
			}
		}
	}
	return 0
}

// failureNote is the access log's note for an upstream error answer, with
// how a context-length count was had when Ferry made it.
func failureNote(status int, body []byte, f upstreamFailure) error {
	if f.note != "" {
		return fmt.Errorf("upstream answered %d: %.300s; %s", status, body, f.note)
	}
	return fmt.Errorf("upstream answered %d: %.300s", status, body)
}

// openaiError answers an OpenAI client whose call the upstream refused
// (x is a non-2xx answer). A context-length error, in whatever words the
// vendor used, becomes OpenAI's own: 400, code context_length_exceeded,
// OpenAI's sentence with the numbers (counted by Ferry where the vendor
// gave none). Any other error passes as received.
func (p *Provider) openaiError(c *provider.Call, x *exchange) *provider.Response {
	out := &provider.Response{Status: x.resp.StatusCode, Header: x.header(), Node: x.node}
	b, err := io.ReadAll(io.LimitReader(x.body, maxErrorBody))
	if err != nil || len(b) == maxErrorBody {
		// Cut short, or too long for an error object: passed on as it is.
		out.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), x.body), x.body}
		return out
	}
	x.body.Close()
	out.Body = io.NopCloser(bytes.NewReader(b))
	f := p.profile.classifyFailure(x.resp.StatusCode, b, openaiFacts(c))
	if f.overflow == nil {
		return out
	}
	param := "messages"
	nb, err := openai.Marshal(openai.ErrorBody{Error: openai.ErrorDetail{
		Message: f.overflow.OpenAIMessage(), Type: "invalid_request_error", Param: &param, Code: "context_length_exceeded",
	}})
	if err != nil { // cannot happen: strings only
		return out
	}
	out.Status = apierr.ContextLength.Status()
	out.Header["Content-Type"] = jsonContentType
	out.Body = io.NopCloser(bytes.NewReader(nb))
	out.Note = failureNote(x.resp.StatusCode, b, f)
	return out
}

// openaiFacts describes an OpenAI call the upstream refused: its input is
// counted as it was sent, in OpenAI's shapes (CountOpenAITokens).
func openaiFacts(c *provider.Call) *contextFacts {
	return &contextFacts{model: c.Model, maxTokens: sentMaxTokens(c.Body), input: func() (int64, error) { return CountOpenAITokens(c.Body) }}
}
