package openaicompat

import (
	"errors"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/translate"
)

// Prepare translates an Anthropic call for this upstream once, before its
// first attempt, so that a retried request is not decoded and encoded
// again: the relay calls it once per target. The call then carries the
// translation (Call.Prepared: the *translate.RequestInfo, or the error;
// Call.PreparedBody), which no one else reads. A call Do gets unprepared
// is translated there. No allocation of its own: the translation's.
func (p *Provider) Prepare(c *provider.Call) {
	if c.Op != provider.OpMessages || c.Format != provider.FormatAnthropic {
		return
	}
	body, info, err := translate.AnthropicToOpenAIRequest(c.Body, c.Model, &p.profile.Profile)
	if err != nil {
		c.Prepared, c.PreparedBody = err, nil
		return
	}
	c.Prepared, c.PreparedBody = info, body
}

// translated returns the call's translation: Prepare's, or made now.
func (p *Provider) translated(c *provider.Call) ([]byte, *translate.RequestInfo, error) {
	switch v := c.Prepared.(type) {
	case *translate.RequestInfo:
		return c.PreparedBody, v, nil
	case error:
		return nil, nil, v
	}
	return translate.AnthropicToOpenAIRequest(c.Body, c.Model, &p.profile.Profile)
}

// refusal is the answer to a call that could not be translated: the
// request's own fault (a 400 in Anthropic's shape), or a gateway error.
func refusal(err error) (*provider.Response, error) {
	var te *translate.Error
	if errors.As(err, &te) {
		return errorResponse(apierr.InvalidRequest, te.Msg, nil, ""), nil
	}
	return nil, apierr.Wrap(apierr.Internal, err, "request could not be translated")
}
