package translate

// Chat Completions answer and stream → OpenAI's legacy completion answer
// and stream (text_completion objects), for POST /v1/completions.

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

type ocChat struct {
	ID      string `json:"id"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
		} `json:"message"`
		Delta struct {
			Content *string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage json.RawMessage `json:"usage"`
	Error json.RawMessage `json:"error"`
}

type ocChoice struct {
	Text         string  `json:"text"`
	Index        int     `json:"index"`
	Logprobs     *int    `json:"logprobs"` // always null
	FinishReason *string `json:"finish_reason"`
}

type ocCompletion struct {
	ID      string          `json:"id"`
	Object  string          `json:"object"`
	Created int64           `json:"created"`
	Model   string          `json:"model"`
	Choices []ocChoice      `json:"choices"`
	Usage   json.RawMessage `json:"usage,omitempty"`
}

// ocHead fills a completion's id ("chatcmpl-X" becomes "cmpl-X"), created
// and model (the client's when known) from a chat answer or chunk.
func ocHead(c *ocChat, info *OpenAICompletionInfo) ocCompletion {
	out := ocCompletion{Object: "text_completion", Created: c.Created, Model: c.Model, Usage: c.Usage}
	if string(out.Usage) == "null" {
		out.Usage = nil
	}
	var env Env
	if info != nil {
		env = info.Env
		if info.Model != "" {
			out.Model = info.Model
		}
	}
	if id := strings.TrimPrefix(c.ID, "chatcmpl-"); id != "" {
		out.ID = "cmpl-" + id
	} else {
		out.ID = env.id("cmpl-")
	}
	if out.Created == 0 {
		out.Created = env.unix()
	}
	return out
}

// OpenAIChatToCompletionResponse turns a chat.completion JSON into a
// text_completion: the first choice's content as text (after the prompt
// when echo was asked), its finish_reason, and the usage as it is. info
// may be nil.
func OpenAIChatToCompletionResponse(body []byte, info *OpenAICompletionInfo) ([]byte, error) {
	var c ocChat
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, errors.New("translate: chat completion: " + err.Error())
	}
	out := ocHead(&c, info)
	ch := ocChoice{}
	if info != nil {
		ch.Text = info.Echo
	}
	if len(c.Choices) > 0 {
		if t := c.Choices[0].Message.Content; t != nil {
			ch.Text += *t
		}
		ch.FinishReason = c.Choices[0].FinishReason
	}
	if ch.FinishReason == nil {
		stop := "stop"
		ch.FinishReason = &stop
	}
	out.Choices = []ocChoice{ch}
	return oiMarshal(&out)
}

// OpenAIChatToCompletionStream turns chat.completion.chunk events into
// text_completion chunks: one per content delta or finish_reason, the
// usage chunk (stream_options.include_usage) as it is, then data: [DONE].
// An error chunk is passed on and ends the stream; so does an error chunk
// of its own when the upstream ends without [DONE].
//
// Call Feed for each event, Finish once at the end, and drain Next after
// each. A frame from Next is valid until the next call of Feed or Finish.
type OpenAIChatToCompletionStream struct {
	info OpenAICompletionInfo
	q    oiFrames
	echo bool // the prompt still has to be echoed
	done bool
}

// NewOpenAIChatToCompletionStream starts the translation of one stream.
// info may be nil.
func NewOpenAIChatToCompletionStream(info *OpenAICompletionInfo) *OpenAIChatToCompletionStream {
	s := &OpenAIChatToCompletionStream{}
	if info != nil {
		s.info = *info
	}
	s.echo = s.info.Echo != ""
	return s
}

// Next returns the next translated frame.
func (s *OpenAIChatToCompletionStream) Next() ([]byte, bool) {
	f, ok := s.q.next()
	if !ok {
		s.q.reset()
	}
	return f, ok
}

// Feed takes one chat stream event.
func (s *OpenAIChatToCompletionStream) Feed(ev sse.Event) {
	if s.done {
		return
	}
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 {
		return
	}
	if string(data) == "[DONE]" {
		s.frame([]byte("[DONE]"))
		s.done = true
		return
	}
	var c ocChat
	if err := json.Unmarshal(data, &c); err != nil {
		s.fail("the upstream sent a stream chunk that is not JSON")
		return
	}
	if len(c.Error) > 0 && string(c.Error) != "null" {
		s.frame(data) // already OpenAI's error shape
		s.done = true
		return
	}
	out := ocHead(&c, &s.info)
	if len(c.Choices) == 0 {
		if out.Usage != nil {
			out.Choices = []ocChoice{}
			s.emit(&out)
		}
		return
	}
	ch := ocChoice{FinishReason: c.Choices[0].FinishReason}
	if t := c.Choices[0].Delta.Content; t != nil {
		ch.Text = *t
	}
	if s.echo {
		ch.Text, s.echo = s.info.Echo+ch.Text, false
	}
	if ch.Text == "" && ch.FinishReason == nil && out.Usage == nil {
		return // the role-only first chunk, and empty ones
	}
	out.Choices = []ocChoice{ch}
	s.emit(&out)
}

func (s *OpenAIChatToCompletionStream) emit(c *ocCompletion) {
	b, err := oiMarshal(c)
	if err != nil {
		s.fail("a stream chunk could not be translated")
		return
	}
	s.frame(b)
}

func (s *OpenAIChatToCompletionStream) frame(data []byte) {
	s.q.buf = append(s.q.buf, "data: "...)
	s.q.buf = append(s.q.buf, data...)
	s.q.buf = append(s.q.buf, "\n\n"...)
	s.q.mark()
}

func (s *OpenAIChatToCompletionStream) fail(msg string) {
	b := []byte(`{"error":{"message":`)
	b = jsonpeek.AppendString(b, msg)
	b = append(b, `,"type":"api_error","param":null,"code":null}}`...)
	s.frame(b)
	s.done = true
}

// Finish tells the stream that the upstream ended (err nil: cleanly) or
// failed. A stream without [DONE] ends with an error chunk.
func (s *OpenAIChatToCompletionStream) Finish(err error) {
	if !s.done {
		s.fail(oiEndMessage(err))
	}
}
