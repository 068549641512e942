package server

import (
	"net/http"
	"strings"
)

// ServeHTTP serves the API at the root, or only under base_path when one
// is set: /proxy/v1/messages is /v1/messages, and /v1/messages is not
// found. The health probes answer at the root as well, where orchestrators
// look for them.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.basePath == "" {
		s.dispatch(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, s.basePath)
	switch {
	case ok && (rest == "" || rest[0] == '/'):
		if rest == "" {
			rest = "/"
		}
		// A shallow copy with the prefix cut, as http.StripPrefix does.
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path, u.RawPath = rest, ""
		r2.URL = &u
		s.dispatch(w, r2)
	case r.URL.Path == "/healthz" || r.URL.Path == "/readyz":
		s.dispatch(w, r)
	default:
		x := s.begin(w, r)
		defer s.end(x, r)
		x.endpoint = epOther
		s.fail(x, notFound(r))
	}
}
