package shadow

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/tools/txtar"

	"github.com/ferrygw/ferry/internal/sse"
	"github.com/ferrygw/ferry/internal/testkit"
)

// fixture reads a recorded answer from testdata/anthropic (the txtar format
// of internal/fakeupstream: a "head" with "status: N", and the "body").
func fixture(t testing.TB, name string) (int, []byte) {
	t.Helper()
	a, err := txtar.ParseFile(filepath.Join("..", "..", "testdata", "anthropic", name+".txtar"))
	if err != nil {
		t.Fatal(err)
	}
	status := 0
	var body []byte
	for _, f := range a.Files {
		switch f.Name {
		case "head":
			first, _, _ := strings.Cut(string(f.Data), "\n")
			v, ok := strings.CutPrefix(first, "status:")
			if !ok {
				t.Fatalf("%s: head starts with %q", name, first)
			}
			if status, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
				t.Fatal(err)
			}
		case "body":
			body = f.Data
		}
	}
	if status == 0 || body == nil {
		t.Fatalf("%s: no status or body", name)
	}
	return status, body
}

// events frames a stream body, copying each event out of the reader's
// buffer.
func events(t testing.TB, body []byte) []sse.Event {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(body), 0)
	var out []sse.Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sse.Event{Name: clone(ev.Name), Data: clone(ev.Data), Raw: clone(ev.Raw)})
	}
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// sliceSource is an sse.Source over events.
type sliceSource struct {
	evs    []sse.Event
	err    error // returned after the events; io.EOF if nil
	closed int
}

func (s *sliceSource) Next() (sse.Event, error) {
	if len(s.evs) == 0 {
		if s.err != nil {
			return sse.Event{}, s.err
		}
		return sse.Event{}, io.EOF
	}
	ev := s.evs[0]
	s.evs = s.evs[1:]
	return ev, nil
}

func (s *sliceSource) Close() error { s.closed++; return nil }

func newClock() *testkit.Clock {
	return testkit.NewClockAt(time.Date(2025, 10, 30, 16, 0, 0, 0, time.UTC))
}

// jsonValues compares tool inputs as JSON values in cmp.Diff.
var jsonValues = cmp.Comparer(func(a, b json.RawMessage) bool {
	return inputsEqual(ToolCall{Input: a}, ToolCall{Input: b})
})

// value reads a counter or gauge.
func value(t testing.TB, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	t.Fatalf("not a counter or gauge: %v", &m)
	return 0
}

// series counts the series of a metric family in reg.
func series(t testing.TB, reg *prometheus.Registry, name string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}
