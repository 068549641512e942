package fakeupstream

import (
	"net"
	"sync"
)

// switchListener is the fake's listener: it can be taken down (the port
// closed, so that connecting is refused) and brought up again on the same
// address, without the HTTP server behind it noticing.
type switchListener struct {
	addr net.Addr

	mu     sync.Mutex
	inner  net.Listener  // nil while down
	change chan struct{} // closed and replaced on every change of state
	closed bool
}

func newSwitchListener(ln net.Listener) *switchListener {
	return &switchListener{addr: ln.Addr(), inner: ln, change: make(chan struct{})}
}

func (l *switchListener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		in, change, closed := l.inner, l.change, l.closed
		l.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		if in == nil {
			<-change
			continue
		}
		c, err := in.Accept()
		if err == nil {
			return c, nil
		}
		l.mu.Lock()
		swapped := l.inner != in && !l.closed
		l.mu.Unlock()
		if !swapped {
			return nil, err
		}
		// Taken down (or down and up again) while accepting: not an
		// error for the server.
	}
}

func (l *switchListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.notify()
	if l.inner != nil {
		return l.inner.Close()
	}
	return nil
}

func (l *switchListener) Addr() net.Addr { return l.addr }

func (l *switchListener) notify() {
	close(l.change)
	l.change = make(chan struct{})
}

func (l *switchListener) down() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inner == nil || l.closed {
		return
	}
	l.inner.Close()
	l.inner = nil
	l.notify()
}

func (l *switchListener) up() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inner != nil || l.closed {
		return nil
	}
	ln, err := net.Listen("tcp", l.addr.String())
	if err != nil {
		return err
	}
	l.inner = ln
	l.notify()
	return nil
}

// Down closes the fake's port and its open connections: connecting to it
// is refused (ECONNREFUSED) until Up. A client that had an idle
// keep-alive connection may still try it once before noticing the close
// (an EOF on a POST, which Go's transport does not retry).
func (s *Server) Down() {
	s.ln.down()
	s.CloseClientConnections()
}

// Up listens again on the fake's address after Down.
func (s *Server) Up() error { return s.ln.up() }

// ClosedURL returns the URL of a loopback port nothing listens on: a node
// that refuses every connection.
func ClosedURL() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr, nil
}

// Silent is a loopback port that accepts connections and never sends a
// byte: behind an https URL, a TLS handshake that never completes; behind
// an http one, an upstream that never answers.
type Silent struct {
	ln       net.Listener
	done     chan struct{}
	mu       sync.Mutex
	conns    []net.Conn
	accepted int
}

// NewSilent starts a silent listener. Close it when done.
func NewSilent() (*Silent, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Silent{ln: ln, done: make(chan struct{})}
	go s.accept()
	return s, nil
}

func (s *Silent) accept() {
	defer close(s.done)
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.accepted++
		s.mu.Unlock()
	}
}

// Addr is the listener's host:port.
func (s *Silent) Addr() string { return s.ln.Addr().String() }

// Accepted is the number of connections accepted so far.
func (s *Silent) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Close stops listening and closes every accepted connection.
func (s *Silent) Close() {
	s.ln.Close()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}
