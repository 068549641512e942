package relay

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
	"github.com/ferrygw/ferry/internal/translate"
)

// OpenAICompletion is a request of OpenAI's legacy Completions API
// (POST /v1/completions) made a Chat Completions request, which the relay
// serves on any route as it serves /v1/chat/completions.
type OpenAICompletion struct {
	Body []byte // the Chat Completions request
	info *translate.OpenAICompletionInfo
}

// FromOpenAICompletion translates a completion request; an error is the
// client's to fix.
func FromOpenAICompletion(body []byte) (*OpenAICompletion, error) {
	cb, info, err := translate.OpenAICompletionToChatRequest(body, convert.Env())
	if err != nil {
		return nil, apierr.Wrap(apierr.InvalidRequest, err, err.Error())
	}
	return &OpenAICompletion{Body: cb, info: info}, nil
}

// Answer converts a Chat Completions answer to a text_completion one.
// Error answers keep OpenAI's error shape, which is also this API's.
func (c *OpenAICompletion) Answer(resp *provider.Response) (*provider.Response, error) {
	if resp.Events != nil {
		resp.Events = newTranslated(resp.Events, translate.NewOpenAIChatToCompletionStream(c.info))
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
	if resp.Usage == nil {
		var t anthropic.Totals
		if openai.ReadUsage(b, &t) {
			resp.Usage = &t
		}
	}
	if b, err = translate.OpenAIChatToCompletionResponse(b, c.info); err != nil {
		return nil, err
	}
	return withJSONBody(resp, b), nil
}

// withJSONBody gives resp a translated JSON body b.
func withJSONBody(resp *provider.Response, b []byte) *provider.Response {
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.Header.Set("Content-Type", "application/json")
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	return resp
}
