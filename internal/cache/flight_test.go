package cache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/fakeupstream"
	"github.com/ferrygw/ferry/internal/sse"
)

// source is a scripted upstream stream.
type source struct {
	ctx    context.Context
	evs    []sse.Event
	i      int
	before func(i int) // called before event i is returned; may block
	end    error       // returned after the last event (nil: io.EOF)
	closed atomic.Bool
}

func (s *source) Next() (sse.Event, error) {
	if s.before != nil {
		s.before(s.i)
	}
	if err := s.ctx.Err(); err != nil {
		return sse.Event{}, err
	}
	if s.i == len(s.evs) {
		if s.end != nil {
			return sse.Event{}, s.end
		}
		return sse.Event{}, io.EOF
	}
	s.i++
	return s.evs[s.i-1], nil
}

func (s *source) Close() error { s.closed.Store(true); return nil }

func readAll(t testing.TB, r *Reader[string]) ([]byte, error) {
	var out []byte
	for {
		ev, err := r.Next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return out, err
		}
		out = append(out, ev.Raw...)
	}
}

var fk = FlightKey{Key: Key{1}, Stream: true}

// TestFlightJSON: N identical concurrent calls make one upstream call and
// every caller reads the same answer.
func TestFlightJSON(t *testing.T) {
	g := NewGroup[string](1 << 20)
	const n = 16
	var calls, joined atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	bodies := make([][]byte, n)
	heads := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, lead := g.Join(context.Background(), FlightKey{Key: Key{2}})
			defer r.Close()
			if joined.Add(1) == n {
				close(release)
			}
			if lead {
				calls.Add(1)
				go func() {
					<-release // every caller has joined
					r.Flight().Finish("head", []byte(`{"type":"message"}`), nil)
				}()
			}
			h, err := r.Wait()
			if err != nil {
				t.Error(err)
				return
			}
			heads[i] = h
			bodies[i], _ = io.ReadAll(r)
		}()
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("%d upstream calls, want 1", calls.Load())
	}
	for i := range n {
		if heads[i] != "head" || string(bodies[i]) != `{"type":"message"}` {
			t.Errorf("caller %d: head %q body %q", i, heads[i], bodies[i])
		}
	}
	if g.Len() != 0 {
		t.Errorf("finished flight still open for joining")
	}
	// The next identical call makes its own.
	r, lead := g.Join(context.Background(), FlightKey{Key: Key{2}})
	r.Close()
	if !lead {
		t.Errorf("joined a finished flight")
	}
}

// TestFlightStream: callers that join while the stream is under way, at
// different points, each get the whole stream from its first byte, at
// their own pace; the stream and the other callers are unaffected.
func TestFlightStream(t *testing.T) {
	f := fakeupstream.MustLoad(t, fixtures+"stream_thinking_tool.txtar")
	evs := events(t, f.Body)
	g := NewGroup[string](1 << 20)
	const n = 8
	joinAt := make([]chan struct{}, len(evs)+1) // closed when event i may be produced
	for i := range joinAt {
		joinAt[i] = make(chan struct{})
	}
	var calls atomic.Int32
	var wg sync.WaitGroup
	got := make([][]byte, n)
	start := func(i int) {
		defer wg.Done()
		r, lead := g.Join(context.Background(), fk)
		defer r.Close()
		if lead {
			calls.Add(1)
			src := &source{ctx: r.Flight().Context(), evs: evs, before: func(i int) { <-joinAt[i] }}
			r.Flight().Start("head")
			go r.Flight().Pump(src)
		}
		if _, err := r.Wait(); err != nil {
			t.Error(err)
		}
		var err error
		if got[i], err = readAll(t, r); err != nil {
			t.Error(err)
		}
	}
	// Caller 0 leads; the others join after 0, 1, 2... events were produced.
	wg.Add(1)
	go start(0)
	waitUntil(t, func() bool { return g.Len() == 1 })
	for i := 1; i < n; i++ {
		close(joinAt[i-1])
		wg.Add(1)
		go start(i)
		time.Sleep(time.Millisecond) // let it join before the next event; not needed for correctness
	}
	for i := n - 1; i < len(joinAt); i++ {
		close(joinAt[i])
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("%d upstream calls, want 1", calls.Load())
	}
	for i := range n {
		if !bytes.Equal(got[i], f.Body) {
			t.Errorf("caller %d got %d bytes, want the whole stream (%d bytes)", i, len(got[i]), len(f.Body))
		}
	}
}

// TestFlightLeaderLeaves: the caller that started the call disconnects;
// the call goes on for the others, who get everything.
func TestFlightLeaderLeaves(t *testing.T) {
	f := fakeupstream.MustLoad(t, fixtures+"stream_text.txtar")
	evs := events(t, f.Body)
	g := NewGroup[string](1 << 20)
	gate := make(chan struct{})
	leaderCtx, leaderGone := context.WithCancel(context.Background())
	leader, lead := g.Join(leaderCtx, fk)
	if !lead {
		t.Fatal("first caller does not lead")
	}
	fl := leader.Flight()
	src := &source{ctx: fl.Context(), evs: evs, before: func(i int) {
		if i == 3 {
			<-gate
		}
	}}
	fl.Start("head")
	pumped := make(chan struct{})
	go func() { fl.Pump(src); close(pumped) }()
	follower, lead := g.Join(context.Background(), fk)
	if lead {
		t.Fatal("second caller leads")
	}
	defer follower.Close()
	// The leader reads two events, then its client goes away.
	for range 2 {
		if _, err := leader.Next(); err != nil {
			t.Fatal(err)
		}
	}
	leaderGone()
	if _, err := leader.Next(); err != nil && !errors.Is(err, context.Canceled) {
		// It may still read buffered events; once waiting, it sees its ctx.
		t.Fatal(err)
	}
	leader.Close()
	if err := fl.Context().Err(); err != nil {
		t.Fatalf("call cancelled while a follower remains: %v", err)
	}
	close(gate)
	got, err := readAll(t, follower)
	if err != nil || !bytes.Equal(got, f.Body) {
		t.Fatalf("follower: %v, %d of %d bytes", err, len(got), len(f.Body))
	}
	<-pumped
	if !src.closed.Load() {
		t.Errorf("source not closed")
	}
}

// TestFlightAbandoned: when every caller leaves, the call is cancelled
// and the pump ends.
func TestFlightAbandoned(t *testing.T) {
	evs := events(t, fakeupstream.MustLoad(t, fixtures+"stream_text.txtar").Body)
	g := NewGroup[string](1 << 20)
	r, _ := g.Join(context.Background(), fk)
	r2, _ := g.Join(context.Background(), fk)
	fl := r.Flight()
	block := make(chan struct{})
	src := &source{ctx: fl.Context(), evs: evs, before: func(i int) {
		if i == 2 {
			select {
			case <-block:
			case <-fl.Context().Done():
			}
		}
	}}
	fl.Start("head")
	pumped := make(chan struct{})
	go func() { fl.Pump(src); close(pumped) }()
	r.Close()
	if fl.Context().Err() != nil {
		t.Fatalf("cancelled with a reader left")
	}
	r2.Close()
	select {
	case <-pumped:
	case <-time.After(5 * time.Second):
		t.Fatal("pump still running after every reader left")
	}
	if fl.Context().Err() == nil || !src.closed.Load() {
		t.Errorf("call not cancelled (%v) or source not closed", fl.Context().Err())
	}
	if g.Len() != 0 {
		t.Errorf("abandoned flight still open for joining")
	}
	close(block)
}

// TestFlightBoundedLog: past maxLog no one joins, the attached readers
// still get the whole stream, and the log never holds much more than
// maxLog, however far behind a reader is.
func TestFlightBoundedLog(t *testing.T) {
	f := fakeupstream.MustLoad(t, fixtures+"stream_thinking_tool.txtar")
	evs := events(t, f.Body)
	biggest := 0
	for _, e := range evs {
		biggest = max(biggest, len(e.Name)+len(e.Data)+len(e.Raw))
	}
	const maxLog = 1500
	g := NewGroup[string](maxLog)
	fast, _ := g.Join(context.Background(), fk)
	slow, _ := g.Join(context.Background(), fk)
	defer fast.Close()
	defer slow.Close()
	fl := fast.Flight()
	var peak atomic.Int64
	src := &source{ctx: fl.Context(), evs: evs, before: func(int) {
		fl.mu.Lock()
		peak.Store(max(peak.Load(), fl.bytes))
		fl.mu.Unlock()
	}}
	fl.Start("head")
	go fl.Pump(src)
	// The fast reader reads everything while the slow one reads nothing:
	// the producer must wait for the slow one, so the fast one cannot
	// finish before the slow one starts reading.
	fastDone := make(chan []byte)
	go func() {
		b, err := readAll(t, fast)
		if err != nil {
			t.Error(err)
		}
		fastDone <- b
	}()
	waitUntil(t, func() bool {
		fl.mu.Lock()
		defer fl.mu.Unlock()
		return fl.blocked
	})
	// Joining is closed now: a newcomer leads a call of its own.
	late, lead := g.Join(context.Background(), fk)
	if !lead {
		t.Errorf("joined a flight over its log bound")
	}
	late.Close()
	got, err := readAll(t, slow)
	if err != nil || !bytes.Equal(got, f.Body) {
		t.Fatalf("slow reader: %v, %d of %d bytes", err, len(got), len(f.Body))
	}
	if b := <-fastDone; !bytes.Equal(b, f.Body) {
		t.Fatalf("fast reader: %d of %d bytes", len(b), len(f.Body))
	}
	if p := peak.Load(); p > maxLog+int64(biggest) {
		t.Errorf("log peaked at %d bytes, bound %d + one event (%d)", p, maxLog, biggest)
	}
}

// TestFlightErrors: a call without an answer, and a stream that breaks,
// reach every reader the same way.
func TestFlightErrors(t *testing.T) {
	g := NewGroup[string](1 << 20)
	boom := errors.New("upstream down")
	r1, _ := g.Join(context.Background(), FlightKey{Key: Key{3}})
	r2, _ := g.Join(context.Background(), FlightKey{Key: Key{3}})
	r1.Flight().Fail("partial", boom)
	for _, r := range []*Reader[string]{r1, r2} {
		if h, err := r.Wait(); h != "partial" || !errors.Is(err, boom) {
			t.Errorf("wait = %q, %v", h, err)
		}
		r.Close()
	}
	evs := events(t, fakeupstream.MustLoad(t, fixtures+"stream_text.txtar").Body)
	s1, _ := g.Join(context.Background(), fk)
	s2, _ := g.Join(context.Background(), fk)
	s1.Flight().Start("head")
	go s1.Flight().Pump(&source{ctx: s1.Flight().Context(), evs: evs[:3], end: boom})
	for _, r := range []*Reader[string]{s1, s2} {
		n := 0
		var err error
		for err == nil {
			_, err = r.Next()
			n++
		}
		if n != 4 || !errors.Is(err, boom) {
			t.Errorf("stream: %d events then %v", n-1, err)
		}
		r.Close()
	}
	// A reader's own context bounds its waits.
	w, _ := g.Join(context.Background(), FlightKey{Key: Key{4}})
	ctx, cancel := context.WithCancel(context.Background())
	w2, _ := g.Join(ctx, FlightKey{Key: Key{4}})
	cancel()
	if _, err := w2.Wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
	w2.Close()
	w.Flight().Fail("", boom)
	w.Close()
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}
