package provider_test

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/sse"
)

// events is a source of named events, then err (io.EOF at a clean end).
type events struct {
	names []string
	err   error
	reads int
}

func (e *events) Next() (sse.Event, error) {
	e.reads++
	if len(e.names) == 0 {
		return sse.Event{}, e.err
	}
	n := e.names[0]
	e.names = e.names[1:]
	return sse.Event{Name: []byte(n)}, nil
}

func (e *events) Close() error { return nil }

// upper echoes each event's name in capitals, closing with "END" (or
// "ERR" after a failure); after "STOP" it is done.
type upper struct {
	q        []string
	done     bool
	finished error
}

func (u *upper) Feed(ev sse.Event) {
	n := string(ev.Name)
	if n == "stop" {
		u.done = true
	}
	if m, ok := map[string]string{"a": "A", "b": "B", "stop": "STOP"}[n]; ok {
		u.q = append(u.q, m)
	}
}

func (u *upper) Next() (sse.Event, bool) {
	if len(u.q) == 0 {
		return sse.Event{}, false
	}
	n := u.q[0]
	u.q = u.q[1:]
	return sse.Event{Name: []byte(n)}, true
}

func (u *upper) Finish(err error) {
	u.finished = err
	if err != nil {
		u.q = append(u.q, "ERR")
		return
	}
	u.q = append(u.q, "END")
}

func (u *upper) Done() bool { return u.done }

func drain(t *testing.T, s provider.Stream) []string {
	t.Helper()
	var got []string
	for {
		ev, err := s.Next()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		got = append(got, string(ev.Name))
	}
}

func TestTranslated(t *testing.T) {
	cut := errors.New("cut")
	for _, tc := range []struct {
		name  string
		src   *events
		want  string
		fault error
		reads int
	}{
		{"clean end", &events{names: []string{"a", "b"}, err: io.EOF}, "A B END", nil, 3},
		{"source failure is the fault", &events{names: []string{"a"}, err: cut}, "A ERR", cut, 2},
		{"done stops reading", &events{names: []string{"a", "stop", "b"}, err: io.EOF}, "A STOP", nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &upper{}
			s := provider.NewTranslated(provider.Plain(tc.src), tr)
			got := drain(t, s)
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("events %q, want %q", g, tc.want)
			}
			if !errors.Is(s.Fault(), tc.fault) || (tc.fault == nil) != (s.Fault() == nil) {
				t.Errorf("Fault() = %v, want %v", s.Fault(), tc.fault)
			}
			if tr.finished != tc.fault {
				t.Errorf("Finish(%v), want Finish(%v)", tr.finished, tc.fault)
			}
			if tc.src.reads != tc.reads {
				t.Errorf("%d source reads, want %d", tc.src.reads, tc.reads)
			}
			if _, err := s.Next(); err != io.EOF {
				t.Errorf("Next after the end = %v, want io.EOF", err)
			}
		})
	}
}

// readyEvents is events whose first ready ones are at hand.
type readyEvents struct {
	events
	ready  int
	asking bool // Ready is being asked
	early  int  // events read while asking, not at hand
}

func (e *readyEvents) Next() (sse.Event, error) {
	if e.ready > 0 {
		e.ready--
	} else if e.asking {
		e.early++
	}
	return e.events.Next()
}

func (e *readyEvents) Ready() bool { return e.ready > 0 }

// Ready translates the events at hand, skipping those that make nothing
// ("x"),
// until one comes out; it never reads a source event not at hand, and
// Next returns the event it took.
func TestTranslatedReady(t *testing.T) {
	src := &readyEvents{events: events{names: []string{"a", "x", "b", "x", "a"}, err: io.EOF}, ready: 3}
	s := provider.NewTranslated(provider.Plain(src), &upper{})
	var got []string
	var ready []bool
	for {
		src.asking = true
		r := s.Ready()
		src.asking = false
		ready = append(ready, r)
		if src.early > 0 {
			t.Fatal("Ready read a source event not at hand")
		}
		ev, err := s.Next()
		if err == io.EOF {
			break
		}
		got = append(got, string(ev.Name))
		if !r {
			src.ready = 1 // the rest arrives one at a time
		}
	}
	if g := strings.Join(got, " "); g != "A B A END" {
		t.Errorf("events %q", g)
	}
	// a at hand; x (making nothing), then b; nothing at hand (Next reads x
	// and a); the end at hand, END out; the end.
	if want := []bool{true, true, false, true, true}; !slices.Equal(ready, want) {
		t.Errorf("Ready before each Next %v, want %v", ready, want)
	}
}
