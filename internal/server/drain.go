package server

// Drain and shutdown. A draining server keeps its listener up: /readyz
// answers 503 and new API requests get 503 with retry-after (and a closed
// connection), so a load balancer moves traffic elsewhere while requests
// in flight finish. When the grace period ends, Stop cuts the streams
// still running: one under way gets an error event in its client's
// format, never a silent cut; one still waiting for its first byte a 503.
// (Whole answers are not hooked to Stop: that costs every request 7
// allocations; their connections are closed instead.)

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
)

// errShutdown is the cause of a request cut because the grace period
// ended.
var errShutdown = errors.New("the gateway is shutting down")

// drainRetryAfter is what a client refused during a drain is told to wait:
// another instance (or this one, restarted) is usually ready by then.
const drainRetryAfter = time.Second

// Drain marks the server as shutting down: /readyz fails so load balancers
// stop sending traffic, and new API requests are refused, while in-flight
// requests finish.
func (s *Server) Drain() { s.draining.Store(true) }

// Draining reports whether Drain was called.
func (s *Server) Draining() bool { return s.draining.Load() }

// Wait returns when no request is in flight, or with ctx's error when ctx
// ends first. Call it after Drain.
func (s *Server) Wait(ctx context.Context) error {
	for s.active.Load() > 0 {
		select {
		case <-s.idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Stop cuts every request still in flight: the end of the grace period.
func (s *Server) Stop() { s.stopAll() }

// started counts a request in flight.
func (s *Server) started() { s.active.Add(1) }

// Hold counts one request in flight before it reaches ServeHTTP, and Done
// ends it. A hot reload's acquire uses them: a request holds the server it
// loaded before checking that the server is still current, so a reload
// that swaps it out then sees the request in flight and does not release
// the server under it. The count nests with ServeHTTP's own.
func (s *Server) Hold() { s.started() }

// Done ends a Hold.
func (s *Server) Done() { s.finished() }

// InFlight is the number of requests in flight now.
func (s *Server) InFlight() int { return int(s.active.Load()) }

// OnIdle sets f (nil: none) to be called each time the requests in flight
// fall to none, in the goroutine of the request that ended last. A hot
// reload uses it to release a replaced server once its last request ends;
// f must be cheap and must not wait for requests of this server.
func (s *Server) OnIdle(f func()) {
	if f == nil {
		s.onIdle.Store(nil)
		return
	}
	s.onIdle.Store(&f)
}

// finished counts a request's end and wakes Wait at the last one.
func (s *Server) finished() {
	if s.active.Add(-1) != 0 {
		return
	}
	if s.draining.Load() {
		select {
		case s.idle <- struct{}{}:
		default:
		}
	}
	if f := s.onIdle.Load(); f != nil {
		(*f)()
	}
}

// serving refuses an API request while the server drains.
func (s *Server) serving(x *exchange, r *http.Request) bool {
	if !s.draining.Load() {
		return true
	}
	s.dropBody(x, r)
	x.Header()["Connection"] = []string{"close"}
	s.fail(x, &apierr.Error{Kind: apierr.Unavailable, RetryAfter: drainRetryAfter,
		Public: "Ferry is shutting down; retry the request (another instance will take it)."})
	return false
}

// stoppable returns r under a context that Stop ends with errShutdown,
// and the function that releases it.
func (s *Server) stoppable(r *http.Request) (*http.Request, func()) {
	ctx, cancel := context.WithCancelCause(r.Context())
	unhook := context.AfterFunc(s.stopped, func() { cancel(errShutdown) })
	return r.WithContext(ctx), func() {
		unhook()
		cancel(nil)
	}
}

// cutByShutdown reports whether r's context ended because of Stop.
func cutByShutdown(r *http.Request) bool {
	return context.Cause(r.Context()) == errShutdown
}

// shutdownError is the answer of a request Stop cut before its status.
func shutdownError() *apierr.Error {
	return &apierr.Error{Kind: apierr.Unavailable, RetryAfter: drainRetryAfter, Err: errShutdown,
		Public: "Ferry is shutting down and its grace period ended before the answer; retry the request."}
}
