package server

import (
	"net/http"

	"github.com/ferrygw/ferry/internal/relay"
)

// openAICompletions serves OpenAI's legacy Completions API
// (/v1/completions), made a Chat Completions request and its answer made
// text_completion again, so that it works on any route.
func (s *Server) openAICompletions(x *exchange, r *http.Request) {
	forwardLegacy(s, x, r, relay.FromOpenAICompletion, func(c *relay.OpenAICompletion) []byte { return c.Body })
}
