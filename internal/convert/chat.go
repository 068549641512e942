// Package convert holds the relay's conversion of an Anthropic call for an
// upstream that speaks OpenAI's Chat Completions (package translate, with
// the vendor's openai.Profile): the request translated once per target,
// before the first attempt, and each attempt's answer translated back (a
// JSON body, an event stream, or a whole chat.completion sent to a
// streaming call). The provider only sends the translation and classifies
// the vendor's errors: it imports no translator.
package convert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/ids"
	"github.com/ferrygw/ferry/internal/openai"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/sse"
	"github.com/ferrygw/ferry/internal/translate"
)

// ChatTarget is a provider whose upstream speaks Chat Completions: an
// Anthropic call to it is translated with its vendor profile.
type ChatTarget interface {
	ChatProfile() *openai.Profile
}

// Doer is what Do calls: a provider.
type Doer interface {
	Do(ctx context.Context, c *provider.Call) (*provider.Response, error)
}

// chat is an Anthropic Messages call translated for a Chat Completions
// upstream: what translating the request learned, and the dialect.
type chat struct {
	info *translate.RequestInfo
	prof *openai.Profile
}

// Env is the Env the gateway's translations run with (translate itself
// reads no clock and no random source): the one id generator, the wall
// clock.
func Env() translate.Env { return translate.Env{ID: ids.New, Now: time.Now} }

// Prepare translates c for p, once, when p is a ChatTarget and c an
// Anthropic Messages call: c.PreparedBody is what every attempt sends,
// c.Prepared what Do reads (the *translate.RequestInfo, or the error of a
// request that cannot be translated, which Do answers without an upstream
// call).
func Prepare(p any, c *provider.Call) {
	t, ok := p.(ChatTarget)
	if !ok || c.Op != provider.OpMessages || c.Format != provider.FormatAnthropic {
		return
	}
	body, info, err := translate.AnthropicToOpenAIRequest(c.Body, c.Model, t.ChatProfile())
	if err != nil {
		c.Prepared, c.PreparedBody = err, nil
		return
	}
	c.Prepared, c.PreparedBody = info, body
}

// Do makes one attempt of c on p: for a call Prepare translated, the
// refusal of an untranslatable request, or p's answer translated back to
// Anthropic's format; any other call as p answers it.
func Do(ctx context.Context, p Doer, c *provider.Call) (*provider.Response, error) {
	var info *translate.RequestInfo
	switch v := c.Prepared.(type) {
	case nil:
		return p.Do(ctx, c)
	case *translate.RequestInfo:
		info = v
	case error:
		return refusal(v)
	}
	t, ok := p.(ChatTarget)
	if !ok {
		return nil, apierr.New(apierr.Internal, "call prepared for a Chat Completions upstream sent to another")
	}
	resp, err := p.Do(ctx, c)
	if err != nil || resp.Status < 200 || resp.Status > 299 {
		return resp, err // the provider's error answers are Anthropic's already
	}
	return chat{info: info, prof: t.ChatProfile()}.answer(resp)
}

// refusal is the answer to a call that could not be translated: the
// request's own fault (a 400 in Anthropic's shape), or a gateway error.
func refusal(err error) (*provider.Response, error) {
	var te *translate.Error
	if errors.As(err, &te) {
		return errorResponse(apierr.InvalidRequest, te.Msg, ""), nil
	}
	return nil, apierr.Wrap(apierr.Internal, err, "request could not be translated")
}

// answer translates a success: an event stream, or a JSON body (turned
// into a stream when the client asked for one: some servers ignore
// "stream").
func (ch chat) answer(resp *provider.Response) (*provider.Response, error) {
	resp.Status = http.StatusOK // a 2xx translated is Anthropic's 200
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	if resp.Events != nil {
		st := translate.NewOpenAIToAnthropicStream(ch.info, ch.prof, ids.New("msg_"))
		resp.Events = newChunkEvents(resp.Events, st)
		return resp, nil
	}
	b, err := bodyBytes(resp.Body)
	if err != nil {
		return nil, err
	}
	if ch.info.Stream {
		return ch.synthesizedStream(b, resp), nil
	}
	out, totals, err := translate.OpenAIToAnthropicResponse(b, ch.info, ch.prof, Env())
	if err != nil && !translate.IsNote(err) {
		r := errorResponse(apierr.BadGateway, "upstream answer could not be translated", resp.Node)
		r.Note = fmt.Errorf("untranslatable answer: %w", err)
		return r, nil
	}
	// err, if any, is a note: tool arguments that were not a JSON object
	// became {}, or tool calls beyond the one the client allowed were
	// dropped. The body is complete and valid (the client's tool
	// validation tells the model what is missing); the log still says so.
	resp.Header["Content-Type"] = jsonContentType
	resp.Header.Del("Content-Length")
	// The translation is valid JSON by construction
	// (translate.OpenAIToAnthropicResponse, fuzzed): the relay does not
	// check it again.
	bb, ok := resp.Body.(*provider.BytesBody)
	if !ok {
		bb = &provider.BytesBody{}
		resp.Body = bb
	}
	bb.SetWritten(out) // the upstream's bytes are read: the body holds the translation now
	resp.Usage, resp.Note = &totals, err
	return resp, nil
}

// bodyBytes is a success's body, read whole and bounded by the provider.
func bodyBytes(body io.ReadCloser) ([]byte, error) {
	if bb, ok := body.(*provider.BytesBody); ok {
		return bb.Bytes(), nil
	}
	defer body.Close()
	return io.ReadAll(body)
}

// synthesizedStream answers a streaming call whose upstream sent a whole
// chat.completion: its choice becomes the delta of one chunk, fed to the
// stream translator with the usage, then [DONE]. The translator already
// handles a chunk that carries everything at once (Zhipu sends whole tool
// calls in one chunk), so nothing is duplicated here.
func (ch chat) synthesizedStream(b []byte, resp *provider.Response) *provider.Response {
	data, ok := wholeChunk(b)
	if !ok {
		return errorResponse(apierr.BadGateway, "upstream answer could not be translated", resp.Node)
	}
	st := translate.NewOpenAIToAnthropicStream(ch.info, ch.prof, ids.New("msg_"))
	st.Feed(data) // a failure queues an error event, which the client gets
	st.Feed([]byte("[DONE]"))
	resp.Header.Del("Content-Type") // it described the upstream's JSON, not the events
	resp.Header.Del("Content-Length")
	resp.Body, resp.Events = nil, newChunkEvents(noEvents{}, st)
	return resp
}

// wholeChunk is the chat.completion b as the one chunk of a stream.
func wholeChunk(b []byte) ([]byte, bool) {
	var cc openai.ChatCompletion
	if err := json.Unmarshal(b, &cc); err != nil || len(cc.Choices) == 0 || openai.IsErrorChunk(b) {
		return nil, false
	}
	ch := cc.Choices[0]
	m := ch.Message
	var content *string
	if t := m.Content.JoinedText(); t != "" {
		content = &t
	}
	calls := make([]openai.ToolCall, len(m.ToolCalls))
	for i, tc := range m.ToolCalls {
		idx := i
		tc.Index = &idx // an answer's calls carry no index; a delta's must tie fragments
		calls[i] = tc
	}
	var finish *string
	if ch.FinishReason != "" {
		finish = &ch.FinishReason
	}
	chunk := openai.Chunk{
		Head: openai.Head{ID: cc.ID, Object: "chat.completion.chunk", Created: cc.Created, Model: cc.Model},
		Choices: []openai.ChunkChoice{{
			Delta:        openai.Delta{Role: m.Role, Content: content, ReasoningContent: m.ReasoningContent, Reasoning: m.Reasoning, ToolCalls: calls, Refusal: m.Refusal},
			FinishReason: finish,
			StopReason:   ch.StopReason,
		}},
		Usage: cc.Usage,
	}
	data, err := openai.Marshal(chunk)
	return data, err == nil // an error cannot happen: every value was decoded
}

// errorResponse is an Anthropic error answer of the gateway's own.
func errorResponse(kind apierr.Kind, message, node string) *provider.Response {
	b := apierr.AppendBody(nil, apierr.Anthropic, kind, message, "")
	h := http.Header{"Content-Type": jsonContentType}
	if kind.NeedsOperator() {
		h["X-Should-Retry"] = []string{"false"}
	}
	return &provider.Response{Status: kind.Status(), Header: h, Body: io.NopCloser(bytes.NewReader(b)), Node: node}
}

var jsonContentType = []string{"application/json"}

// chunkEvents yields the Anthropic events a
// translate.OpenAIToAnthropicStream makes of an upstream's Chat
// Completions stream, through provider.Translated, the one
// stream-translation loop. The translator ends every message it started
// with message_stop or an error event, so io.EOF from here is always a
// clean end.
type chunkEvents struct {
	provider.Translated // one allocation with its wrapper
	st                  *translate.OpenAIToAnthropicStream
}

func newChunkEvents(src provider.Stream, st *translate.OpenAIToAnthropicStream) *chunkEvents {
	return &chunkEvents{Translated: provider.Translated{StreamBase: provider.StreamBase{Src: src}, Tr: chunks{st}}, st: st}
}

// Note is a repair the stream made that the client does not see as such
// (tool calls dropped for disable_parallel_tool_use), nil if none: for the
// access log, known once the stream ended.
func (t *chunkEvents) Note() error { return t.st.DroppedToolCalls() }

// Fault is nil: an error the translation met (an error chunk, a cut) is
// an error event, which the relay's watch reads on the way.
func (t *chunkEvents) Fault() error { return nil }

// Usage is the message's usage once message_delta carried it.
func (t *chunkEvents) Usage() (anthropic.Totals, bool) {
	return t.st.Usage(), t.st.StopReason() != ""
}

// chunks adapts the chunk translator to provider.StreamTranslator.
type chunks struct {
	*translate.OpenAIToAnthropicStream
}

// Feed feeds a chunk; a frame without data (a comment-only keep-alive,
// ": ping") is none. An error here (a malformed chunk, an error object)
// has queued an error event for the client, and ended the stream.
func (c chunks) Feed(ev sse.Event) {
	if ev.Data != nil {
		c.OpenAIToAnthropicStream.Feed(ev.Data)
	}
}

// Done reports that the translation ended (an error chunk): the rest of
// the upstream stream is not read.
func (c chunks) Done() bool { return c.Finished() }

// noEvents is the empty upstream of a synthesized stream: everything was
// fed already.
type noEvents struct{}

func (noEvents) Next() (sse.Event, error)        { return sse.Event{}, io.EOF }
func (noEvents) Ready() bool                     { return true }
func (noEvents) Close() error                    { return nil }
func (noEvents) Usage() (anthropic.Totals, bool) { return anthropic.Totals{}, false }
func (noEvents) Note() error                     { return nil }
func (noEvents) Fault() error                    { return nil }
