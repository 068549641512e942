package provider_test

import (
	"errors"
	"io"
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
	u.q = append(u.q, map[string]string{"a": "A", "b": "B", "stop": "STOP"}[n])
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
