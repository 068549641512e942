package openaicompat

import (
	"errors"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/translate"
)

// prepared is an Anthropic call translated for this upstream: made once
// per target by Prepare, sent as it is by every attempt.
type prepared struct {
	p     *Provider // the provider it was made for
	model string    // and the upstream model
	body  []byte
	info  *translate.RequestInfo
	err   error
}

// Prepare translates an Anthropic call for this upstream once, before its
// first attempt: a retried request is not decoded and encoded again. The
// relay calls it once per target; a call Do gets unprepared is translated
// there.
func (p *Provider) Prepare(c *provider.Call) {
	if c.Op != provider.OpMessages || c.Format != provider.FormatAnthropic {
		return
	}
	c.Prepared = p.translate(c)
}

// prepared returns the call's translation: Prepare's, or made now.
func (p *Provider) prepared(c *provider.Call) *prepared {
	if pr, ok := c.Prepared.(*prepared); ok && pr.p == p && pr.model == c.Model {
		return pr
	}
	return p.translate(c)
}

func (p *Provider) translate(c *provider.Call) *prepared {
	body, info, err := translate.Request(c.Body, c.Model, &p.profile.Profile)
	return &prepared{p: p, model: c.Model, body: body, info: info, err: err}
}

// refusal is the answer to a call that could not be translated: the
// request's own fault (a 400 in Anthropic's shape), or a gateway error.
func (pr *prepared) refusal() (*provider.Response, error) {
	var te *translate.Error
	if errors.As(pr.err, &te) {
		return errorResponse(KindInvalidRequest, te.Msg, nil, ""), nil
	}
	return nil, apierr.Wrap(apierr.Internal, pr.err, "request could not be translated")
}
