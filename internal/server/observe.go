package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ferrygw/ferry/internal/metrics"
)

// maxTagLog bounds the traffic tag the access log repeats from a client.
const maxTagLog = 64

// readTag takes the request's traffic tag: the tag header's value, else
// the managed key's own tag.
func (s *Server) readTag(x *exchange, r *http.Request) {
	if s.tagHeader != "" {
		x.tag = r.Header.Get(s.tagHeader)
	}
	if x.tag == "" && x.ident != nil {
		x.tag = x.ident.Tag
	}
	if len(x.tag) > maxTagLog {
		x.tag = x.tag[:maxTagLog]
	}
}

// observe counts a finished request: model and tag folded to configured
// values, the time split between upstreams and the gateway itself.
func (s *Server) observe(x *exchange, status int, d time.Duration) {
	model, tag := s.labels(x)
	s.m.Requests.WithLabelValues(x.endpoint, x.route, x.provider, x.node, model, tag,
		strconv.Itoa(status), metrics.Class(status), errorType(x, status)).Inc()
	s.m.Duration.WithLabelValues(x.endpoint, x.provider).Observe(d.Seconds())
	if x.stream && x.firstByte > 0 {
		s.m.FirstToken.WithLabelValues(x.endpoint, x.provider).Observe(x.firstByte.Seconds())
	}
	if x.provider != "" {
		s.m.UpstreamWait.WithLabelValues(x.provider).Observe(x.upstreamWait.Seconds())
	}
	if x.endpoint != "" {
		s.m.Overhead.WithLabelValues(x.endpoint).Observe(max(d-x.upstreamWait, 0).Seconds())
	}
}

// labels are the request's model and tag as bounded label values.
func (s *Server) labels(x *exchange) (model, tag string) {
	return metrics.Model(x.model, x.route), s.tags.Tag(x.tag)
}

// errorType is a request's error label: the kind of an error the gateway
// answered, client_gone for a client that left, stream_error for a stream that broke after its status,
// upstream for an upstream's own error answer relayed, empty on success.
func errorType(x *exchange, status int) string {
	switch {
	case x.err != nil:
		return x.err.Kind.String()
	case x.gone:
		return "client_gone"
	case x.streamErr != nil:
		return "stream_error"
	case status >= 400:
		return "upstream"
	}
	return ""
}

// waited adds the time since t0 to the request's upstream wait.
func (x *exchange) waited(t0 time.Time) { x.upstreamWait += time.Since(t0) }
