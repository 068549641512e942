package cache

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/ferrygw/ferry/internal/sse"
)

// FlightKey identifies calls that may share one upstream call: the same
// request, and the same choice of stream or not (a streaming client and a
// non-streaming one need different answers from the upstream).
type FlightKey struct {
	Key    Key
	Stream bool
}

// Group makes identical concurrent calls share one. The first caller for a
// key leads: it runs the call on the flight's own context and publishes
// the outcome; everyone, leader included, reads the outcome through a
// Reader of their own, at their own pace.
//
// A stream is kept in a log that every reader reads from its start. While
// the log is within maxLog bytes, new readers may join; past it joining
// closes (a late reader could not be given the stream from its start, so it
// makes its own call) and the log keeps only what the slowest attached
// reader has not read yet, the producer waiting for it when that alone is
// over the bound. Memory per flight is therefore about maxLog: attached
// readers always get the whole stream, and the slowest of them sets the
// pace (a client that stops reading is dropped by the server's write
// timeout, which releases the others). The log is freed when the last
// reader leaves.
//
// The call runs detached from any one client: it continues while any
// reader remains, and is cancelled when the last one leaves before it ends.
// H is the leader's answer head (for the server: the relay's result).
type Group[H any] struct {
	mu      sync.Mutex
	flights map[FlightKey]*Flight[H]
	maxLog  int64
}

// NewGroup returns a Group whose stream logs hold about maxLog bytes.
func NewGroup[H any](maxLog int64) *Group[H] {
	return &Group[H]{flights: make(map[FlightKey]*Flight[H]), maxLog: maxLog}
}

// Flight is one shared call.
type Flight[H any] struct {
	g      *Group[H]
	k      FlightKey
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	joinable bool
	readers  map[*Reader[H]]struct{}
	waiting  bool          // a reader waits on wake
	wake     chan struct{} // closed when readers may proceed
	blocked  bool          // the producer waits on space
	space    chan struct{} // a reader advanced or left

	started bool // head (or err) is known
	head    H
	err     error // the call failed: no answer

	body    []byte // a whole answer
	bodyErr error  // why reading it stopped early

	log   []logEvent // a stream, from event number base
	base  int
	bytes int64
	done  bool  // no more events will come
	end   error // io.EOF, or why the stream broke
}

type logEvent struct{ name, data, raw []byte }

// Reader is one caller's view of a flight.
type Reader[H any] struct {
	f      *Flight[H]
	ctx    context.Context
	pos    int // next event
	off    int // next body byte
	closed bool
}

// Join attaches a reader to the flight for k, starting one when none is
// open for joining. lead reports that the caller started it and must run
// the call on Flight().Context() and publish its outcome with Fail,
// Finish, or Start and Pump. ctx is the caller's own: it bounds the
// caller's waits, never the call.
func (g *Group[H]) Join(ctx context.Context, k FlightKey) (r *Reader[H], lead bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.flights[k]; f != nil {
		f.mu.Lock()
		if f.joinable {
			r = f.attach(ctx)
			f.mu.Unlock()
			return r, false
		}
		f.mu.Unlock()
	}
	f := &Flight[H]{g: g, k: k, joinable: true, readers: make(map[*Reader[H]]struct{}), space: make(chan struct{}, 1)}
	f.ctx, f.cancel = context.WithCancel(context.WithoutCancel(ctx))
	g.flights[k] = f
	f.mu.Lock()
	r = f.attach(ctx)
	f.mu.Unlock()
	return r, true
}

// Len reports the flights open for joining.
func (g *Group[H]) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.flights)
}

func (f *Flight[H]) attach(ctx context.Context) *Reader[H] {
	r := &Reader[H]{f: f, ctx: ctx}
	f.readers[r] = struct{}{}
	return r
}

// unlist closes the flight for joining. Called without f.mu held.
func (f *Flight[H]) unlist() {
	f.g.mu.Lock()
	if f.g.flights[f.k] == f {
		delete(f.g.flights, f.k)
	}
	f.g.mu.Unlock()
}

// closeJoining marks the flight unjoinable; the caller must unlist it
// after releasing f.mu when it reports true.
func (f *Flight[H]) closeJoining() bool {
	if !f.joinable {
		return false
	}
	f.joinable = false
	return true
}

// broadcast wakes waiting readers. Called with f.mu held.
func (f *Flight[H]) broadcast() {
	if f.waiting {
		close(f.wake)
		f.wake = nil
		f.waiting = false
	}
}

// Context is the context to run the call on: detached from every client,
// cancelled when the last reader leaves before the flight ends, and when
// it ends.
func (f *Flight[H]) Context() context.Context { return f.ctx }

// Flight returns the reader's flight.
func (r *Reader[H]) Flight() *Flight[H] { return r.f }

// Fail publishes a call that produced no answer; every reader's Wait
// returns head and err.
func (f *Flight[H]) Fail(head H, err error) {
	f.publish(func() {
		f.head, f.err = head, err
		f.done, f.end = true, err
	})
	f.cancel()
}

// Finish publishes a whole answer: every reader's Wait returns head, and
// Read returns body, then readErr (or io.EOF).
func (f *Flight[H]) Finish(head H, body []byte, readErr error) {
	f.publish(func() {
		f.head, f.body, f.bodyErr = head, body, readErr
		f.done, f.end = true, io.EOF
	})
	f.cancel()
}

// Start publishes the head of a streamed answer; Pump delivers the events.
func (f *Flight[H]) Start(head H) {
	f.mu.Lock()
	f.head, f.started = head, true
	f.broadcast()
	f.mu.Unlock()
}

func (f *Flight[H]) publish(set func()) {
	f.mu.Lock()
	set()
	f.started = true
	unlist := f.closeJoining()
	f.broadcast()
	f.mu.Unlock()
	if unlist {
		f.unlist()
	}
}

// errAbandoned ends a stream every reader left.
var errAbandoned = errors.New("cache: every reader left the shared call")

// Pump reads src to its end into the log, then closes src and the flight's
// context. It returns early when every reader has left. src is closed
// before the end is published: a reader that saw the end (Ended) may ask
// src about itself (its usage) without racing the pump.
func (f *Flight[H]) Pump(src sse.Source) {
	for {
		ev, err := src.Next()
		if err == nil && !f.append(ev) {
			err = errAbandoned
		}
		if err != nil {
			src.Close()
			f.publish(func() { f.done, f.end = true, err })
			f.cancel()
			return
		}
	}
}

// append adds an event to the log, waiting while the log is over its
// bound because of a slow reader. It reports false when no reader is left.
func (f *Flight[H]) append(ev sse.Event) bool {
	n := int64(len(ev.Name) + len(ev.Data) + len(ev.Raw))
	f.mu.Lock()
	unlist := false
	for len(f.readers) > 0 && f.bytes+n > f.g.maxLog && len(f.log) > 0 {
		unlist = f.closeJoining() || unlist
		f.trim()
		if f.bytes+n <= f.g.maxLog || len(f.log) == 0 {
			break
		}
		f.blocked = true
		f.mu.Unlock()
		if unlist {
			f.unlist()
			unlist = false
		}
		<-f.space
		f.mu.Lock()
		f.blocked = false
	}
	if len(f.readers) == 0 {
		f.mu.Unlock()
		return false
	}
	buf := make([]byte, 0, n)
	buf = append(buf, ev.Name...)
	buf = append(buf, ev.Data...)
	buf = append(buf, ev.Raw...)
	a, b := len(ev.Name), len(ev.Name)+len(ev.Data)
	f.log = append(f.log, logEvent{name: buf[:a:a], data: buf[a:b:b], raw: buf[b:]})
	f.bytes += n
	f.broadcast()
	f.mu.Unlock()
	if unlist {
		f.unlist()
	}
	return true
}

// trim drops the events every reader has read. Called with f.mu held,
// only once the flight is closed for joining.
func (f *Flight[H]) trim() {
	low := f.base + len(f.log)
	for r := range f.readers {
		low = min(low, r.pos)
	}
	k := low - f.base
	for i := range k {
		e := &f.log[i]
		f.bytes -= int64(len(e.name) + len(e.data) + len(e.raw))
		*e = logEvent{}
	}
	f.log = f.log[k:]
	f.base = low
}

// signal tells a blocked producer that a reader advanced or left. Called
// with f.mu held.
func (f *Flight[H]) signal() {
	if f.blocked {
		select {
		case f.space <- struct{}{}:
		default:
		}
	}
}

// wait releases f.mu until the flight changes or ctx ends, and reacquires
// it. Called with f.mu held.
func (r *Reader[H]) wait() error {
	f := r.f
	if f.wake == nil {
		f.wake = make(chan struct{})
	}
	f.waiting = true
	w := f.wake
	f.mu.Unlock()
	select {
	case <-w:
		f.mu.Lock()
		return nil
	case <-r.ctx.Done():
		f.mu.Lock()
		return r.ctx.Err()
	}
}

// Wait waits for the call's head: the leader's answer head, and the error
// of a call that produced no answer. It returns ctx's error if the
// caller's context ends first.
func (r *Reader[H]) Wait() (H, error) {
	f := r.f
	f.mu.Lock()
	defer f.mu.Unlock()
	for !f.started {
		if err := r.wait(); err != nil {
			var zero H
			return zero, err
		}
	}
	return f.head, f.err
}

// Next returns the stream's next event, from its first: io.EOF after the
// last event of a stream that ended cleanly, the upstream's error for one
// that broke, or the caller's context error. The event's slices stay
// valid until the reader is closed.
func (r *Reader[H]) Next() (sse.Event, error) {
	f := r.f
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		if i := r.pos - f.base; i >= 0 && i < len(f.log) {
			e := f.log[i]
			r.pos++
			f.signal()
			return sse.Event{Name: e.name, Data: e.data, Raw: e.raw}, nil
		}
		if f.done {
			return sse.Event{}, f.end
		}
		if err := r.wait(); err != nil {
			return sse.Event{}, err
		}
	}
}

// Ended reports whether the flight has ended: its answer is complete, or
// it failed, and the call no longer runs.
func (r *Reader[H]) Ended() bool {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	return r.f.done
}

// Read reads a whole answer (see Finish).
func (r *Reader[H]) Read(p []byte) (int, error) {
	f := r.f
	f.mu.Lock()
	body, berr := f.body, f.bodyErr
	f.mu.Unlock()
	if r.off >= len(body) {
		if berr != nil {
			return 0, berr
		}
		return 0, io.EOF
	}
	n := copy(p, body[r.off:])
	r.off += n
	return n, nil
}

// Close detaches the reader. The last reader to leave a flight still
// under way cancels its call; the last to leave an ended one frees it.
func (r *Reader[H]) Close() error {
	f := r.f
	f.mu.Lock()
	if r.closed {
		f.mu.Unlock()
		return nil
	}
	r.closed = true
	delete(f.readers, r)
	f.signal()
	unlist, abandon := false, false
	if len(f.readers) == 0 {
		if f.done {
			f.log, f.body = nil, nil
		} else {
			abandon = true
			unlist = f.closeJoining()
		}
	}
	f.mu.Unlock()
	if unlist {
		f.unlist()
	}
	if abandon {
		f.cancel()
	}
	return nil
}
