package relay

import (
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/provider"
)

// checkRequired refuses what Anthropic's API refuses before any route is
// taken, so that every route answers alike: a Messages request without
// max_tokens is Anthropic's 400 "max_tokens: Field required". An
// OpenAI-compatible upstream would otherwise get a made-up limit (the
// translator's floor of 1) and the user one token. count_tokens needs no
// max_tokens; OpenAI clients' requests keep their own rules.
func checkRequired(req *Request) error {
	if req.Op == provider.OpMessages && req.Format == provider.FormatAnthropic && !req.Peek.HasMaxTokens {
		return apierr.New(apierr.InvalidRequest, "max_tokens: Field required")
	}
	return nil
}
