package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync/atomic"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/cache"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/relay"
	"github.com/ferrygw/ferry/internal/sse"
)

// sharedResult is the head of a shared upstream call: the relay's result,
// whose body or events only the call's own goroutine reads, and whether
// its answer has been stored (by whichever reader completed it first).
type sharedResult struct {
	res    *relay.Result
	stored atomic.Bool
}

// coalesce makes identical concurrent requests (same scope, body and
// stream flag) share one upstream call (see cache.Group). The request that
// starts the call is billed for it; the others are answered for free, with
// X-Ferry-Cache: coalesced. Each gets a result of its own, reading the
// shared answer from its start.
func (s *Server) coalesce(x *exchange, r *http.Request, req *relay.Request) (*relay.Result, *sharedResult, error) {
	st := x.cache
	rd, lead := s.flights.Join(r.Context(), cache.FlightKey{Key: st.key, Stream: st.stream})
	if lead {
		// The call outlives the request that started it when others
		// joined: it gets its own copy of what it reads after this
		// handler may have returned.
		fr := *req
		fr.Header = r.Header.Clone()
		go s.runFlight(rd.Flight(), &fr)
	} else {
		st.free = true
		s.cacheResult(x, cacheCoalesced)
	}
	sh, err := rd.Wait()
	if sh == nil || sh.res == nil || sh.res.Response == nil {
		rd.Close()
		if sh == nil { // the client left while waiting
			return nil, nil, provider.Classify(r.Context(), err)
		}
		if sh.res == nil {
			return nil, nil, err
		}
		res := *sh.res
		if !lead {
			res.Attempts = nil // counted once, by the leader
		}
		return &res, nil, err
	}
	res := *sh.res
	resp := *sh.res.Response
	if !lead {
		res.Attempts = nil
		resp.Usage = &anthropic.Totals{} // no tokens of its own
	}
	if resp.Events != nil {
		resp.Events = &flightEvents{rd: rd, src: sh.res.Events, free: !lead, m: provider.Meter{OpenAI: x.format == provider.FormatOpenAI}}
	} else {
		resp.Body = rd
	}
	res.Response = &resp
	return &res, sh, nil
}

// runFlight makes a shared call and publishes its answer: an error, a
// whole body (read here, bounded like relayBody), or a stream (pumped
// here into the flight's log).
func (s *Server) runFlight(f *cache.Flight[*sharedResult], req *relay.Request) {
	sh := &sharedResult{}
	defer func() {
		// This goroutine is no handler's: a panic here would take the
		// whole process down instead of one request.
		if p := recover(); p != nil {
			s.log.Error("panic in a shared upstream call", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			f.Fail(sh, fmt.Errorf("panic in a shared upstream call: %v", p))
		}
	}()
	res, err := s.relay.Do(f.Context(), req)
	sh.res = res
	if err != nil || res == nil || res.Response == nil {
		f.Fail(sh, err)
		return
	}
	if res.Events != nil {
		f.Start(sh)
		f.Pump(res.Events)
		return
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, s.maxResp+1))
	res.Body.Close()
	f.Finish(sh, b, err)
}

// flightEvents is one request's view of a shared stream.
type flightEvents struct {
	rd   *cache.Reader[*sharedResult]
	src  provider.Stream // the upstream's, read by the flight: asked about itself once the flight ended
	free bool
	m    provider.Meter // what this reader saw, for one that left before the flight ended
}

func (e *flightEvents) Next() (sse.Event, error) {
	ev, err := e.rd.Next()
	if err == nil {
		e.m.See(ev)
	}
	return ev, err
}

// Ready is false: the flight's log is not asked, so a shared stream's
// reader flushes every event.
func (e *flightEvents) Ready() bool { return false }

func (e *flightEvents) Close() error { return e.rd.Close() }

// Note is the shared stream's, once the flight ended.
func (e *flightEvents) Note() error {
	if !e.rd.Ended() {
		return nil
	}
	return e.src.Note()
}

// Fault is the error event this reader saw, else the shared stream's once
// the flight ended.
func (e *flightEvents) Fault() error {
	if e.m.Fault != nil || !e.rd.Ended() {
		return e.m.Fault
	}
	return e.src.Fault()
}

// Usage is the upstream's own count for the request that made the call,
// and zero for those that shared it.
func (e *flightEvents) Usage() (anthropic.Totals, bool) {
	if e.free {
		return anthropic.Totals{}, true
	}
	if !e.rd.Ended() {
		return e.m.Usage, e.m.Seen // the call still reads src
	}
	return e.src.Usage()
}
