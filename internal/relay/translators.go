package relay

// Every conversion the relay makes between client formats and Anthropic's,
// in one file: the one place the relay calls translate. A request is
// translated once per request (not per target or attempt), and its answer
// translated back once, after the retry loop chose it.

import (
	"bytes"
	"io"
	"net/http"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/sse"
	"github.com/ferrygw/ferry/internal/translate"
)

// speaker is implemented by providers that take formats other than
// Anthropic's natively (an OpenAI-compatible upstream takes OpenAI calls as
// they are). Providers without it speak Anthropic only.
type speaker interface {
	Speaks(provider.Format) bool
}

func speaks(p Provider, f provider.Format) bool {
	if f == provider.FormatAnthropic {
		return true
	}
	s, ok := p.(speaker)
	return ok && s.Speaks(f)
}

// preparer is a provider that translates a call for its upstream itself
// (openaicompat: Anthropic to Chat Completions, by its vendor profile).
// The relay has it do so once per target, before the first attempt.
type preparer interface {
	Prepare(*provider.Call)
}

func prepare(p Provider, c *provider.Call) {
	if pp, ok := p.(preparer); ok {
		pp.Prepare(c)
	}
}

// frameTranslator turns Anthropic events into another format's frames.
// translate.AnthropicToOpenAIStream and translate.AnthropicToCompleteStream are the two.
type frameTranslator interface {
	Feed(ev sse.Event)
	Finish(err error)
	Next() ([]byte, bool)
}

// translatedSource reads Anthropic events from its source and yields the
// frames a translator makes of them. The translator ends every stream it
// is given with a closing frame (the end marker, or an error frame), so
// io.EOF from here is always a clean end; a source's failure (a cut, a
// read error) becomes the stream's Fault. Usage and Note are the source's:
// the Anthropic usage, which the translated frames may not carry (an
// OpenAI client that did not ask for include_usage).
type translatedSource struct {
	provider.StreamBase
	tr    frameTranslator
	ended bool
	fault error // the source's failure, closed with an error frame
}

func newTranslated(src provider.Stream, tr frameTranslator) *translatedSource {
	return &translatedSource{StreamBase: provider.StreamBase{Src: src}, tr: tr}
}

func (t *translatedSource) Next() (sse.Event, error) {
	for {
		if f, ok := t.tr.Next(); ok {
			name, data := splitFrame(f)
			return sse.Event{Name: name, Data: data, Raw: f}, nil
		}
		if t.ended {
			return sse.Event{}, io.EOF
		}
		ev, err := t.Src.Next()
		if err != nil {
			t.ended = true
			if err == io.EOF {
				err = nil
			}
			t.fault = err
			t.tr.Finish(err)
			continue
		}
		t.tr.Feed(ev)
	}
}

// Fault is the source's failure, or the error event it carried.
func (t *translatedSource) Fault() error {
	if t.fault != nil {
		return t.fault
	}
	return t.Src.Fault()
}

// splitFrame reads the event name and data of a frame the gateway wrote
// itself (one optional "event:" line, one "data:" line).
func splitFrame(f []byte) (name, data []byte) {
	rest := f
	if bytes.HasPrefix(rest, []byte("event: ")) {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return nil, nil
		}
		name, rest = rest[len("event: "):i], rest[i+1:]
	}
	if bytes.HasPrefix(rest, []byte("data: ")) {
		rest = rest[len("data: "):]
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			data = rest[:i]
		}
	}
	return name, data
}

// converted is an OpenAI request translated to Anthropic's format.
type converted struct {
	body []byte
	peek anthropic.Peek
	info *translate.OpenAIRequestInfo
}

func convertOpenAI(body []byte) (*converted, error) {
	ab, info, err := translate.OpenAIToAnthropicRequest(body, TranslateEnv())
	if err != nil {
		return nil, apierr.Wrap(apierr.InvalidRequest, err, err.Error())
	}
	peek, err := anthropic.Inspect(ab)
	if err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "request translation failed")
	}
	return &converted{body: ab, peek: peek, info: info}, nil
}

// answer converts the Anthropic-format answer to the translated request
// for its OpenAI client.
func (c *converted) answer(resp *provider.Response) (*provider.Response, error) {
	info := c.info
	if resp.Events != nil {
		resp.Events = newTranslated(resp.Events, translate.NewAnthropicToOpenAIStream(info))
		return resp, nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.Status == http.StatusOK {
		var t anthropic.Totals
		if anthropic.MessageUsage(b, &t) {
			resp.Usage = &t
		}
		b, err = translate.AnthropicToOpenAIResponse(b, info)
		if err != nil {
			return nil, err
		}
	} else {
		b = translate.AnthropicToOpenAIError(resp.Status, b)
	}
	return withJSONBody(resp, b), nil
}

// Complete is a legacy Text Completions request translated to the Messages
// API, so that it works on any route.
type Complete struct {
	Body []byte // the Messages request
	info *translate.CompleteInfo
}

// FromComplete translates a legacy Text Completions request; an
// untranslatable one is the client's error.
func FromComplete(body []byte) (*Complete, error) {
	mb, info, err := translate.CompleteToAnthropicRequest(body, TranslateEnv())
	if err != nil {
		return nil, apierr.Wrap(apierr.InvalidRequest, err, err.Error())
	}
	return &Complete{Body: mb, info: info}, nil
}

// Answer converts an Anthropic-format answer for the legacy client. Error
// answers keep Anthropic's error shape, which is also that API's.
func (c *Complete) Answer(resp *provider.Response) (*provider.Response, error) {
	info := c.info
	if resp.Events != nil {
		resp.Events = newTranslated(resp.Events, translate.NewAnthropicToCompleteStream(info))
		return resp, nil
	}
	if resp.Status != http.StatusOK {
		return resp, nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var t anthropic.Totals
	if anthropic.MessageUsage(b, &t) {
		resp.Usage = &t
	}
	if b, err = translate.AnthropicToCompleteResponse(b, info); err != nil {
		return nil, err
	}
	return withJSONBody(resp, b), nil
}
