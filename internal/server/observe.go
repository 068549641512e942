package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/metrics"
	"github.com/ferrygw/ferry/internal/provider"
)

// maxTagLog bounds the traffic tag the access log repeats from a client.
const maxTagLog = 64

// readTag takes the request's traffic tag: the managed key's own tag,
// which an admin set and a client must not escape (its budgets and limits
// follow the tag), else the tag header's value.
func (s *Server) readTag(x *exchange, r *http.Request) {
	if x.ident != nil && x.ident.Tag != "" {
		x.tag = x.ident.Tag
	} else if s.tagHeader != "" {
		x.tag = r.Header.Get(s.tagHeader)
	}
	if len(x.tag) > maxTagLog {
		x.tag = x.tag[:maxTagLog]
	}
}

// observe counts a finished request: model and tag folded to configured
// values, the time split between upstreams and the gateway itself.
func (s *Server) observe(x *exchange, status int, d time.Duration) {
	model, tag := s.labels(x)
	x.endSpan(status, model, tag)
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

// traceInbound starts the request's span: API requests only, so that
// health probes every few seconds do not fill the trace store.
func (s *Server) traceInbound(x *exchange, r *http.Request) *http.Request {
	if s.tracer == nil || !strings.HasPrefix(r.URL.Path, "/v1/") {
		return r
	}
	r, x.span = s.tracer.Inbound(r, "ferry.request")
	return r
}

// tracedCacheServe is cacheServe inside a ferry.cache span.
func (s *Server) tracedCacheServe(x *exchange, r *http.Request, op provider.Op, body []byte, peek anthropic.Peek) bool {
	_, sp := s.tracer.Start(r.Context(), "ferry.cache")
	served := s.cacheServe(x, r, op, body, peek)
	if sp.Recording() {
		sp.Set(attribute.Bool("ferry.cache.served", served))
	}
	sp.End()
	return served
}

// endSpan ends the request's span with what the access log says of it.
func (x *exchange) endSpan(status int, model, tag string) {
	if x.span.Recording() {
		x.span.Set(attribute.String("http.route", x.endpoint), attribute.Int("http.response.status_code", status),
			attribute.String("ferry.route", x.route), attribute.String("ferry.provider", x.provider),
			attribute.String("ferry.model", model), attribute.String("ferry.tag", tag), attribute.String("ferry.request_id", x.id))
		if x.err != nil {
			x.span.Fail(x.err)
		}
	}
	x.span.End()
}

// errorText is an error's text for the access log, said once: its kind
// has a field of its own, and a public message made from the cause's own
// text is not repeated.
func errorText(e *apierr.Error) string {
	if e.Err == nil {
		return e.Public
	}
	cause := e.Err.Error()
	switch {
	case e.Public == "" || strings.Contains(cause, e.Public):
		return cause
	case strings.Contains(e.Public, cause):
		return e.Public
	}
	return e.Public + ": " + cause
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
