// Package fakeupstream is a scripted Anthropic-format upstream for tests:
// it replays recorded responses from txtar fixtures byte for byte and
// records every request it receives, so a test can assert on both sides of
// the gateway.
//
// It also misbehaves on command, per request or per node (one fake per
// node): connection resets (real RSTs) before the headers or after N
// stream events, stalls before the first byte or mid-stream, truncated
// streams (fault.go); added latency, 429/529 storms for a share or a
// period of requests (script.go); refused connections, and a port that
// never answers (listener.go). Everything stays on loopback and is
// deterministic; Count and Served say which node got and answered what.
package fakeupstream

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/tools/txtar"
)

// Fixture is one recorded upstream response.
//
// File format (txtar): a "head" file with the status on its first line
// ("status: 200") followed by "Name: value" header lines, and a "body" file
// holding the body bytes exactly as sent. The archive comment describes the
// recording's source.
type Fixture struct {
	Name   string
	Status int
	Header http.Header
	Body   []byte
}

// Load reads a fixture file.
func Load(path string) (*Fixture, error) {
	a, err := txtar.ParseFile(path)
	if err != nil {
		return nil, err
	}
	f := &Fixture{Name: path, Header: http.Header{}}
	var sawHead, sawBody bool
	for _, file := range a.Files {
		switch file.Name {
		case "head":
			sawHead = true
			sc := bufio.NewScanner(bytes.NewReader(file.Data))
			for sc.Scan() {
				line := sc.Text()
				if line == "" {
					continue
				}
				k, v, ok := strings.Cut(line, ":")
				if !ok {
					return nil, fmt.Errorf("%s: bad head line %q", path, line)
				}
				v = strings.TrimSpace(v)
				if strings.EqualFold(k, "status") {
					if f.Status, err = strconv.Atoi(v); err != nil {
						return nil, fmt.Errorf("%s: bad status %q", path, v)
					}
					continue
				}
				f.Header.Add(k, v)
			}
		case "body":
			sawBody = true
			f.Body = file.Data
		}
	}
	if !sawHead || !sawBody || f.Status == 0 {
		return nil, fmt.Errorf("%s: a fixture needs a head (with status) and a body", path)
	}
	return f, nil
}

// MustLoad is Load for tests.
func MustLoad(t interface {
	Helper()
	Fatal(...any)
}, path string) *Fixture {
	t.Helper()
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Request is what the fake received.
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	At     time.Time // when the request's body had been read
}

// Reply tells the fake how to answer one request.
type Reply struct {
	Fixture *Fixture
	// Stream, if set, replaces Fixture for requests that ask for a stream
	// ("stream": true in their JSON body): one reply for both kinds of
	// request, as a real node gives.
	Stream *Fixture
	// Splits are body offsets at which to flush and pause briefly, so the
	// gateway sees the body in separate reads.
	Splits []int
	// Pause is the pause at each split (default 1ms when Splits is set).
	Pause time.Duration
	// Hold, if set, is called after the first split (or after the headers
	// when there are no splits) with the request; it blocks as long as
	// the test wants the stream to stall.
	Hold func(r *http.Request)

	// Fault, if set, is a misbehaviour (fault.go); Events is the number of
	// the fixture's stream events sent before a fault that strikes
	// mid-stream.
	Fault  Fault
	Events int
	// Latency is added before the headers (on top of the server's own,
	// see SetLatency).
	Latency time.Duration
}

// Server is the fake upstream.
type Server struct {
	*httptest.Server
	ln       *switchListener
	closed   chan struct{} // closed by Close: every stall and latency ends
	mu       sync.Mutex
	reqs     []Request
	replies  []Reply
	fallback *Reply
	script   Script
	latency  time.Duration
	release  chan struct{} // closed by Release, then replaced
	count    int
	served   int
	canceled chan struct{}
}

// New starts a fake on loopback. Close it when done.
func New() *Server {
	s := &Server{canceled: make(chan struct{}, 64), closed: make(chan struct{}), release: make(chan struct{})}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.ln = newSwitchListener(s.Server.Listener)
	s.Server.Listener = s.ln
	s.Server.Start()
	return s
}

// Close ends every stall, then shuts the server down and waits for its
// handlers.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	s.mu.Unlock()
	s.Server.Close()
}

// Enqueue adds replies, used in order; when none is queued the script
// (SetScript) decides, and without one the SetDefault reply is used.
func (s *Server) Enqueue(r ...Reply) {
	s.mu.Lock()
	s.replies = append(s.replies, r...)
	s.mu.Unlock()
}

// SetDefault sets the reply used when the queue is empty and no script is set.
func (s *Server) SetDefault(r Reply) {
	s.mu.Lock()
	s.fallback = &r
	s.mu.Unlock()
}

// SetScript sets the script deciding the reply when the queue is empty;
// nil removes it.
func (s *Server) SetScript(sc Script) {
	s.mu.Lock()
	s.script = sc
	s.mu.Unlock()
}

// SetLatency adds d before the headers of every answer: a slow node.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// Release lets every stall in progress continue (the reply then goes on
// as scripted). Stalls that begin later wait for the next Release.
func (s *Server) Release() {
	s.mu.Lock()
	close(s.release)
	s.release = make(chan struct{})
	s.mu.Unlock()
}

// Requests returns what the fake has received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Count is the number of requests the fake has received (connections
// refused while it was down are not requests).
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Served is the number of replies written whole with a status below 400
// and no fault: the requests this node answered successfully.
func (s *Server) Served() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served
}

// Host is the fake's host:port, as a gateway labels the node.
func (s *Server) Host() string { return s.ln.Addr().String() }

// Last returns the last request received.
func (s *Server) Last() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		return Request{}
	}
	return s.reqs[len(s.reqs)-1]
}

func (s *Server) noteCanceled() {
	select {
	case s.canceled <- struct{}{}:
	default: // nobody is counting; never block a handler on it
	}
}

// Canceled receives a value each time a request's context ends before the
// reply was fully written (the gateway hung up on the fake).
func (s *Server) Canceled() <-chan struct{} { return s.canceled }

// next records a request and picks its reply.
func (s *Server) next(r *http.Request, body []byte) (rep *Reply, latency time.Duration, release <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body, At: time.Now()})
	n := s.count
	s.count++
	switch {
	case len(s.replies) > 0:
		rep = &s.replies[0]
		s.replies = s.replies[1:]
	case s.script != nil:
		r := s.script(n)
		rep = &r
	default:
		rep = s.fallback
	}
	return rep, s.latency, s.release
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rep, latency, release := s.next(r, body)
	if rep != nil && rep.Stream != nil && wantsStream(body) {
		c := *rep
		c.Fixture = rep.Stream
		rep = &c
	}
	if rep == nil || (rep.Fixture == nil && rep.Fault != ResetBeforeHeaders) {
		http.Error(w, "fakeupstream: no reply scripted", http.StatusTeapot)
		return
	}
	if !s.sleep(r, latency+rep.Latency) {
		s.noteCanceled()
		return
	}
	if rep.Fault != NoFault {
		if s.fault(w, r, rep, release) {
			s.noteServed(rep)
		}
		return
	}
	f := rep.Fixture
	writeHead(w, f)
	rc := http.NewResponseController(w)
	pause := rep.Pause
	if pause == 0 {
		pause = time.Millisecond
	}
	prev := 0
	held := false
	for _, at := range rep.Splits {
		if at <= prev || at >= len(f.Body) {
			continue
		}
		w.Write(f.Body[prev:at])
		rc.Flush()
		prev = at
		if rep.Hold != nil && !held {
			held = true
			rep.Hold(r)
		}
		select {
		case <-r.Context().Done():
			s.noteCanceled()
			return
		case <-time.After(pause):
		}
	}
	if rep.Hold != nil && !held {
		rc.Flush()
		rep.Hold(r)
	}
	if r.Context().Err() != nil {
		s.noteCanceled()
		return
	}
	w.Write(f.Body[prev:])
	s.noteServed(rep)
}

// wantsStream reports whether a JSON request body has "stream": true.
func wantsStream(body []byte) bool {
	var v struct {
		Stream bool `json:"stream"`
	}
	return json.Unmarshal(body, &v) == nil && v.Stream
}

func writeHead(w http.ResponseWriter, f *Fixture) {
	for k, v := range f.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(f.Status)
}

func (s *Server) noteServed(rep *Reply) {
	if rep.Fixture.Status >= 400 {
		return
	}
	s.mu.Lock()
	s.served++
	s.mu.Unlock()
}
