package fakeupstream

// Misbehaviours a reply can act out, each as a real upstream or network
// failure would look to the gateway's HTTP client: a TCP reset is a real
// RST (SO_LINGER 0), a stall sends nothing at all, a truncation ends the
// body cleanly so that only the missing message_stop tells it apart.

import (
	"bytes"
	"net"
	"net/http"
	"time"
)

// Fault is a misbehaviour of one reply.
type Fault uint8

// Faults. Those that strike mid-stream send the fixture's status, headers
// and first Reply.Events events (whole, each flushed) before striking.
const (
	NoFault Fault = iota
	// ResetBeforeHeaders reads the request, then resets the connection:
	// not a byte of answer. It needs no fixture.
	ResetBeforeHeaders
	// ResetAfterEvents resets the connection after Events events.
	ResetAfterEvents
	// StallBeforeHeaders sends nothing until Release, Close or the end of
	// the request; after a Release the reply is sent whole.
	StallBeforeHeaders
	// StallAfterEvents stops after Events events until Release, Close or
	// the end of the request; after a Release the rest follows.
	StallAfterEvents
	// TruncateAfterEvents ends the body cleanly after Events events, as an
	// upstream that closes a stream without message_stop.
	TruncateAfterEvents
)

var faultNames = [...]string{"none", "reset_before_headers", "reset_after_events", "stall_before_headers", "stall_after_events", "truncate_after_events"}

func (f Fault) String() string {
	if int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "unknown"
}

// EventEnds returns the offset just past each event of an event-stream
// body (after its blank line). Fixtures use "\n" line ends.
func EventEnds(body []byte) []int {
	var ends []int
	for off := 0; ; {
		i := bytes.Index(body[off:], []byte("\n\n"))
		if i < 0 {
			return ends
		}
		off += i + 2
		ends = append(ends, off)
	}
}

// prefix is the part of body holding its first n events (all of it when
// it has fewer).
func prefix(body []byte, n int) int {
	if n <= 0 {
		return 0
	}
	ends := EventEnds(body)
	if n > len(ends) {
		return len(body)
	}
	return ends[n-1]
}

// fault acts out rep.Fault; it reports whether the whole fixture was
// written in the end (a released stall).
func (s *Server) fault(w http.ResponseWriter, r *http.Request, rep *Reply, release <-chan struct{}) bool {
	switch rep.Fault {
	case ResetBeforeHeaders:
		reset(w)
		return false
	case StallBeforeHeaders:
		if !s.stall(r, release) {
			s.noteCanceled()
			return false
		}
		writeHead(w, rep.Fixture)
		w.Write(rep.Fixture.Body)
		return true
	}
	f := rep.Fixture
	cut := prefix(f.Body, rep.Events)
	writeHead(w, f)
	w.Write(f.Body[:cut])
	http.NewResponseController(w).Flush()
	switch rep.Fault {
	case ResetAfterEvents:
		reset(w)
		return false
	case StallAfterEvents:
		if !s.stall(r, release) {
			s.noteCanceled()
			return false
		}
		w.Write(f.Body[cut:])
		return true
	}
	return false // TruncateAfterEvents: the handler returns, the body ends
}

// reset aborts the connection with a TCP RST: the peer's next read fails
// with "connection reset by peer" rather than a clean EOF. Whatever the
// handler wrote is flushed first.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // closes the connection, without the RST
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// stall blocks until the stall is released (true), or the request ends
// or the fake closes (false).
func (s *Server) stall(r *http.Request, release <-chan struct{}) bool {
	select {
	case <-release:
		return r.Context().Err() == nil
	case <-r.Context().Done():
	case <-s.closed:
	}
	return false
}

// sleep waits d, or less when the request ends or the fake closes
// (false).
func (s *Server) sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.closed:
	}
	return false
}
