package server

import (
	"bytes"
	"io"
	"net/http"

	"github.com/ferrygw/ferry/internal/auth"
)

// identify checks a bearer key; with signed requests configured and no
// key at all, every unsigned request is refused as missing its key.
func (s *Server) identify(r *http.Request) (*auth.Identity, error) {
	if s.keys == nil {
		return nil, auth.ErrMissing
	}
	return s.keys.Identify(auth.Presented(r.Header))
}

// authenticateSigned checks a signed service request (auth/hmac.go). The
// signature covers the body, so the body is read here, bounded as always,
// and handed on to the endpoint from memory.
func (s *Server) authenticateSigned(x *exchange, r *http.Request) bool {
	body, err := s.readBody(x, r)
	if err != nil {
		s.fail(x, err)
		return false
	}
	id, err := s.hmac.Verify(r.Context(), r.Method, r.RequestURI, r.Header, body)
	if err == nil {
		x.key, x.ident = id.Name, id
		err = id.AllowRoute(x.endpoint)
	} else {
		err = authError(err)
	}
	if err != nil {
		s.fail(x, err)
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return true
}
