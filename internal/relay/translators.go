package relay

// Every conversion the relay makes, in one file. Between client formats
// and Anthropic's: a request translated once per request (not per target
// or attempt), its answer translated back once, after the retry loop chose
// it. For a target whose upstream speaks another format (Chat
// Completions): the Anthropic call translated once per target (prepare),
// each attempt's answer translated back (convert.Do, in attempt).

import (
	"bytes"
	"io"
	"net/http"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/convert"
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

// prepare translates a call for a target whose upstream speaks another
// format (an OpenAI-compatible upstream: Anthropic to Chat Completions,
// by its vendor profile), once per target, before the first attempt;
// each attempt's answer is translated back by convert.Do.
func prepare(p Provider, c *provider.Call) { convert.Prepare(p, c) }

// frameTranslator turns Anthropic events into another format's frames.
// translate.AnthropicToOpenAIStream and translate.AnthropicToCompleteStream are the two.
type frameTranslator interface {
	Feed(ev sse.Event)
	Finish(err error)
	Next() ([]byte, bool)
}

// frames adapts a frameTranslator to provider.Translated, the one
// stream-translation loop: each frame becomes an event. The translators
// end only when their source does.
type frames struct{ tr frameTranslator }

func (f *frames) Feed(ev sse.Event) { f.tr.Feed(ev) }
func (f *frames) Finish(err error)  { f.tr.Finish(err) }
func (*frames) Done() bool          { return false }

func (f *frames) Next() (sse.Event, bool) {
	b, ok := f.tr.Next()
	if !ok {
		return sse.Event{}, false
	}
	name, data := splitFrame(b)
	return sse.Event{Name: name, Data: data, Raw: b}, true
}

// newTranslated yields the frames tr makes of src's Anthropic events.
// Usage and Note stay the source's: the Anthropic usage, which the
// translated frames may not carry (an OpenAI client that did not ask for
// include_usage).
func newTranslated(src provider.Stream, tr frameTranslator) provider.Stream {
	t := &translatedFrames{fr: frames{tr}} // one allocation for the loop and its adapter
	t.Translated = provider.Translated{StreamBase: provider.StreamBase{Src: src}, Tr: &t.fr}
	return t
}

type translatedFrames struct {
	provider.Translated
	fr frames
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
	ab, info, err := translate.OpenAIToAnthropicRequest(body, convert.Env())
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
	mb, info, err := translate.CompleteToAnthropicRequest(body, convert.Env())
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
