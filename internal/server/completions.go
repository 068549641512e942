package server

import (
	"net/http"

	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/relay"
)

// openAICompletions serves OpenAI's legacy Completions API
// (/v1/completions), made a Chat Completions request and its answer made
// text_completion again, so that it works on any route.
func (s *Server) openAICompletions(x *exchange, r *http.Request) {
	body, err := s.readBody(x, r)
	if err != nil {
		s.fail(x, err)
		return
	}
	c, err := relay.FromOpenAICompletion(body)
	if err != nil {
		s.fail(x, err)
		return
	}
	s.forward(x, r, provider.OpMessages, c.Body, c.Answer)
}
