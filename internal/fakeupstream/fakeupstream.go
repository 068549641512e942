// Package fakeupstream is a scripted Anthropic-format upstream for tests:
// it replays recorded responses from txtar fixtures byte for byte and
// records every request it receives, so a test can assert on both sides of
// the gateway.
package fakeupstream

import (
	"bufio"
	"bytes"
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
}

// Reply tells the fake how to answer one request.
type Reply struct {
	Fixture *Fixture
	// Splits are body offsets at which to flush and pause briefly, so the
	// gateway sees the body in separate reads.
	Splits []int
	// Pause is the pause at each split (default 1ms when Splits is set).
	Pause time.Duration
	// Hold, if set, is called after the first split (or after the headers
	// when there are no splits) with the request; it blocks as long as
	// the test wants the stream to stall.
	Hold func(r *http.Request)
}

// Server is the fake upstream.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	reqs     []Request
	replies  []Reply
	fallback *Reply
	canceled chan struct{}
}

// New starts a fake on loopback. Close it when done.
func New() *Server {
	s := &Server{canceled: make(chan struct{}, 64)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Enqueue adds replies, used in order; when none is queued the last
// SetDefault reply is used.
func (s *Server) Enqueue(r ...Reply) {
	s.mu.Lock()
	s.replies = append(s.replies, r...)
	s.mu.Unlock()
}

// SetDefault sets the reply used when the queue is empty.
func (s *Server) SetDefault(r Reply) {
	s.mu.Lock()
	s.fallback = &r
	s.mu.Unlock()
}

// Requests returns what the fake has received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

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

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	var rep *Reply
	if len(s.replies) > 0 {
		rep = &s.replies[0]
		s.replies = s.replies[1:]
	} else {
		rep = s.fallback
	}
	s.mu.Unlock()
	if rep == nil || rep.Fixture == nil {
		http.Error(w, "fakeupstream: no reply scripted", http.StatusTeapot)
		return
	}
	f := rep.Fixture
	for k, v := range f.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(f.Status)
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
}
