package relay

import "github.com/ferrygw/ferry/internal/provider"

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
