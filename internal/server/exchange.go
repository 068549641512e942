package server

import (
	"errors"

	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/auth"
	"github.com/ferrygw/ferry/internal/ids"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/relay"
	"github.com/ferrygw/ferry/internal/routing"
	"github.com/ferrygw/ferry/internal/tracing"
)

// exchange is one request's response writer and its record for the access
// log. One allocation carries everything the log line needs.
type exchange struct {
	http.ResponseWriter
	rc          http.ResponseController // by value: no allocation of its own
	status      int
	wroteHeader bool
	bytesOut    int64
	bytesIn     int64
	start       time.Time
	firstByte   time.Duration
	firstToken  time.Duration // a stream's first text relayed (0: none yet)
	writeLimit  time.Duration // the time each write may take (Options.WriteTimeout)

	id            string
	endpoint      string
	format        provider.Format // the client's wire format, for errors
	key           string
	ident         *auth.Identity // who presented the key; nil without authentication
	ledgered      bool           // finishUsage recorded the request (usage.go)
	answerText    string         // a whole answer's text when it had no usage (usage_estimate.go)
	model         string
	route         string
	rt            *routing.Route // the model's route, looked up once; nil: none
	provider      string
	node          string
	upstreamModel string
	stream        bool
	usage         anthropic.Totals
	usageSeen     bool
	err           *apierr.Error // an error the gateway answered
	streamErr     error         // a stream that broke after the status was sent
	relayed       relayedText   // the text a stream relayed, for a cut-short stream's charge
	note          error         // a problem with the upstream's answer, for the log
	attempts      []relay.Attempt
	cache         *cacheState   // the response cache's part; nil when not involved
	gone          bool          // the client hung up: logged and counted as 499
	tag           string        // the traffic tag (header or managed key), as the client sent it
	upstreamWait  time.Duration // time spent waiting on upstreams (observe.go)
	span          tracing.Span  // the request's span (zero: tracing off)
	guard         *guardState   // the guardrails' part; nil when none applies

	// Backing for the header values the gateway sets on every answer
	// (hdr): one allocation with the exchange instead of one a header.
	hv  [8]string
	nhv int
}

// hdr is a one-element header value []string{v}, taken from the
// exchange's slots while they last. Its capacity is 1: an append to it
// (Header.Add) copies, and never reaches the next slot.
func (x *exchange) hdr(v string) []string {
	if x.nhv == len(x.hv) {
		return []string{v}
	}
	i := x.nhv
	x.nhv++
	x.hv[i] = v
	return x.hv[i : i+1 : i+1]
}

func (x *exchange) WriteHeader(code int) {
	if x.wroteHeader {
		return
	}
	x.wroteHeader = true
	x.status = code
	// A kept-alive connection keeps the write deadline an earlier request
	// set: every answer starts with one of its own.
	x.rc.SetWriteDeadline(time.Now().Add(x.writeLimit))
	x.ResponseWriter.WriteHeader(code)
}

func (x *exchange) Write(b []byte) (int, error) {
	if !x.wroteHeader {
		x.WriteHeader(http.StatusOK)
	}
	if x.firstByte == 0 && len(b) > 0 {
		x.firstByte = time.Since(x.start)
	}
	n, err := x.ResponseWriter.Write(b)
	x.bytesOut += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

func (s *Server) begin(w http.ResponseWriter, r *http.Request) *exchange {
	x := &exchange{ResponseWriter: w, start: time.Now(), status: http.StatusOK, writeLimit: s.writeTimeout}
	x.rc = *http.NewResponseController(w)
	x.id = requestID(r.Header)
	w.Header()["Request-Id"] = x.hdr(x.id)
	s.m.InFlight.Inc()
	s.started()
	return x
}

// end recovers from a handler panic, then writes the access log line and
// observes metrics.
func (s *Server) end(x *exchange, r *http.Request) {
	s.m.InFlight.Dec()
	defer s.finished()
	defer s.recordUnfinished(x, r) // the ledger row of a request refused early (usage.go)
	if v := recover(); v != nil {
		if v == http.ErrAbortHandler {
			s.logLine(x, r)
			panic(v)
		}
		s.log.Error("panic serving request", slog.String("request_id", x.id), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
		if !x.wroteHeader {
			s.fail(x, apierr.New(apierr.Internal, "internal error"))
		} else {
			s.logLine(x, r)
			panic(http.ErrAbortHandler)
		}
	}
	s.logLine(x, r)
}

func (s *Server) logLine(x *exchange, r *http.Request) {
	d := time.Since(x.start)
	status := x.status
	if x.gone {
		// nginx's "client closed request": the client left before its
		// answer was written whole, whatever status it was to have.
		status = statusClientClosed
	}
	s.observe(x, status, d)
	if s.onFinished != nil && x.endpoint != epHealth && x.endpoint != epRoot {
		var retried []string
		if len(x.attempts) > 1 {
			retried = make([]string, len(x.attempts))
			for i, a := range x.attempts {
				retried[i] = a.String()
			}
		}
		s.onFinished(status, d, x.firstToken, retried)
	}

	level := slog.LevelInfo
	if x.endpoint == epHealth || x.endpoint == epRoot {
		level = slog.LevelDebug
	}
	if !s.log.Enabled(r.Context(), level) {
		return
	}
	s.writeAccess(x, r, level, status, d)
}

// requestID accepts the client's request-id or x-request-id when it is
// short printable ASCII (it lands in logs and headers), else makes one.
func requestID(h http.Header) string {
	for _, k := range [...]string{"Request-Id", "X-Request-Id"} {
		if v := h[k]; len(v) > 0 && validID(v[0]) {
			return v[0]
		}
	}
	return ids.New("req_") // like the API's own ids
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func notFound(r *http.Request) *apierr.Error {
	return apierr.New(apierr.NotFound, "Not found: %s %s", r.Method, r.URL.Path)
}

func methodNotAllowed(r *http.Request) *apierr.Error {
	return apierr.New(apierr.MethodNotAllowed, "Method %s is not allowed on %s", r.Method, r.URL.Path)
}

func authError(err error) *apierr.Error {
	return apierr.Wrap(apierr.Authentication, err, err.Error())
}

var errClientGone = errors.New("client disconnected")

// statusClientClosed is the status logged and counted for a request whose
// client hung up (nginx's 499).
const statusClientClosed = 499

func tooLarge(n, limit int64) *apierr.Error {
	if n < 0 {
		return apierr.New(apierr.RequestTooLarge, "Request exceeds the maximum allowed number of bytes (%d).", limit)
	}
	return apierr.New(apierr.RequestTooLarge, "Request exceeds the maximum allowed number of bytes: %d > %d.", n, limit)
}
