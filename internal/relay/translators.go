package relay

// Every conversion the relay makes, in one file. Between client formats
// and Anthropic's: a request translated once per request (not per target
// or attempt), its answer translated back once, after the retry loop chose
// it. For a target whose upstream speaks another format (Chat
// Completions): the Anthropic call translated once per target (prepare;
// panic routing's second pass reuses it), each attempt's answer
// translated back (convert.Do, in attempt).

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/convert"
	"github.com/ferrygw/ferry/internal/openai"
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
// for its OpenAI client; an error answer takes OpenAI's error shape.
func (c *converted) answer(resp *provider.Response) (*provider.Response, error) {
	info := c.info
	if resp.Events != nil {
		resp.Events = newTranslated(resp.Events, translate.NewAnthropicToOpenAIStream(info))
		return resp, nil
	}
	if resp.Status != http.StatusOK {
		b, err := readBody(resp)
		if err != nil {
			return nil, err
		}
		return withJSONBody(resp, translate.AnthropicToOpenAIError(resp.Status, b)), nil
	}
	return wholeAnswer(resp, anthropic.MessageUsage, translate.AnthropicToOpenAIResponse, info)
}

// OpenAIRequest is an OpenAI Chat Completions request translated to the
// Messages API ahead of the relay. The server does this when a guard
// applies to an OpenAI client's request: the guard reads Anthropic bodies
// and Anthropic answer streams only, so such a request takes the Anthropic
// path on every route (an OpenAI-compatible upstream gets it translated
// back by its provider) and its answer is translated for the client after
// the guard's answer filter ran.
type OpenAIRequest struct {
	Body []byte // the Messages request
	c    *converted
}

// FromOpenAI translates an OpenAI request; an untranslatable one is the
// client's error.
func FromOpenAI(body []byte) (*OpenAIRequest, error) {
	c, err := convertOpenAI(body)
	if err != nil {
		return nil, err
	}
	return &OpenAIRequest{Body: c.body, c: c}, nil
}

// Answer converts the Anthropic-format answer for the OpenAI client.
func (o *OpenAIRequest) Answer(resp *provider.Response) (*provider.Response, error) {
	return o.c.answer(resp)
}

// Complete is a legacy Text Completions request translated to the Messages
// API, so that it works on any route. Error answers keep Anthropic's error
// shape, which is also that API's.
type Complete = legacy[*translate.CompleteInfo]

// FromComplete translates a legacy Text Completions request; an
// untranslatable one is the client's error.
func FromComplete(body []byte) (*Complete, error) { return fromLegacy(body, &completeAPI) }

var completeAPI = legacyAPI[*translate.CompleteInfo]{
	request: translate.CompleteToAnthropicRequest,
	stream:  func(i *translate.CompleteInfo) frameTranslator { return translate.NewAnthropicToCompleteStream(i) },
	whole:   translate.AnthropicToCompleteResponse,
	usage:   anthropic.MessageUsage,
}

// OpenAICompletion is a request of OpenAI's legacy Completions API
// (POST /v1/completions) made a Chat Completions request, which the relay
// serves on any route as it serves /v1/chat/completions. Error answers
// keep OpenAI's error shape, which is also this API's.
type OpenAICompletion = legacy[*translate.OpenAICompletionInfo]

// FromOpenAICompletion translates a completion request; an error is the
// client's to fix.
func FromOpenAICompletion(body []byte) (*OpenAICompletion, error) {
	return fromLegacy(body, &openAICompletionAPI)
}

var openAICompletionAPI = legacyAPI[*translate.OpenAICompletionInfo]{
	request: translate.OpenAICompletionToChatRequest,
	stream: func(i *translate.OpenAICompletionInfo) frameTranslator {
		return translate.NewOpenAIChatToCompletionStream(i)
	},
	whole: translate.OpenAIChatToCompletionResponse,
	usage: openai.ReadUsage,
}

// legacy is a request of a legacy completions API made a request of the
// API that followed it, the one shape of Complete and OpenAICompletion;
// info is what translating it learned.
type legacy[I any] struct {
	Body []byte // the request in the newer API
	info I
	api  *legacyAPI[I]
}

// legacyAPI is the translator of one legacy API: its request, and its
// answers back, streamed (stream) or whole (whole, with usage to read the
// answer's usage before the translation drops it).
type legacyAPI[I any] struct {
	request func([]byte, translate.Env) ([]byte, I, error)
	stream  func(I) frameTranslator
	whole   func([]byte, I) ([]byte, error)
	usage   func([]byte, *anthropic.Totals) bool
}

func fromLegacy[I any](body []byte, api *legacyAPI[I]) (*legacy[I], error) {
	b, info, err := api.request(body, convert.Env())
	if err != nil {
		return nil, apierr.Wrap(apierr.InvalidRequest, err, err.Error())
	}
	return &legacy[I]{Body: b, info: info, api: api}, nil
}

// Answer converts an answer of the newer API for the legacy client: a
// stream, or a success's JSON body. Error answers pass as they are.
func (c *legacy[I]) Answer(resp *provider.Response) (*provider.Response, error) {
	if resp.Events != nil {
		resp.Events = newTranslated(resp.Events, c.api.stream(c.info))
		return resp, nil
	}
	if resp.Status != http.StatusOK {
		return resp, nil
	}
	return wholeAnswer(resp, c.api.usage, c.api.whole, c.info)
}

// wholeAnswer translates a successful JSON answer with tr, the one
// whole-answer loop of the client translators. Its usage is read first
// with usage (the translation may not carry it) unless the answer has it
// already (read before an earlier translation).
func wholeAnswer[I any](resp *provider.Response, usage func([]byte, *anthropic.Totals) bool, tr func([]byte, I) ([]byte, error), info I) (*provider.Response, error) {
	b, err := readBody(resp)
	if err != nil {
		return nil, err
	}
	if resp.Usage == nil {
		var t anthropic.Totals
		if usage(b, &t) {
			resp.Usage = &t
		}
	}
	if b, err = tr(b, info); err != nil {
		return nil, err
	}
	return withJSONBody(resp, b), nil
}

// readBody reads and closes resp's body.
func readBody(resp *provider.Response) ([]byte, error) {
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return b, err
}

// withJSONBody gives resp a translated JSON body b.
func withJSONBody(resp *provider.Response, b []byte) *provider.Response {
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.Header.Set("Content-Type", "application/json")
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	return resp
}
