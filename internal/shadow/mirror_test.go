package shadow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var target = Target{Route: "claude-*", Provider: "glm", Model: "glm-4.6"}

func newMirror(t *testing.T, o Options) (*Mirror, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	if o.Queue == 0 {
		o.Queue = 10
	}
	if o.Workers == 0 {
		o.Workers = 2
	}
	if o.Keep == 0 {
		o.Keep = 100
	}
	if o.Timeout == 0 {
		o.Timeout = time.Minute
	}
	o.Registerer = reg
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

func okOutcome(text string) Outcome {
	return Outcome{Status: 200, Latency: time.Second, TTFB: 100 * time.Millisecond, Text: text, InputTokens: 100, CacheReadTokens: 20, OutputTokens: 50, StopReason: "end_turn"}
}

func job(run func(context.Context) (Outcome, error)) Job {
	return Job{Target: target, RequestModel: "claude-sonnet-4-5", PrimaryProvider: "anthropic", Primary: okOutcome("Paris is the capital of France."), Run: run}
}

func answer(o Outcome) func(context.Context) (Outcome, error) {
	return func(context.Context) (Outcome, error) { return o, nil }
}

func closeMirror(t *testing.T, m *Mirror) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	_, err := New(Options{Queue: 0, Workers: -1, Keep: 0, Timeout: 0, Threshold: 2, Excerpt: -1})
	want := []string{
		"shadow: queue 0: must be at least 1",
		"workers -1: must be at least 1",
		"keep 0: must be at least 1",
		"timeout 0s: must be positive",
		"threshold 2: must be within [0, 1]",
		"excerpt -1: must be within [0, 32768]",
	}
	if err == nil || strings.Join(strings.Split(err.Error(), "\n"), "|") != strings.Join(want, "|") {
		t.Errorf("New error:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	reg := prometheus.NewRegistry()
	if _, err := New(Options{Queue: 1, Workers: 1, Keep: 1, Timeout: time.Second, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Queue: 1, Workers: 1, Keep: 1, Timeout: time.Second, Registerer: reg}); err == nil {
		t.Error("a second mirror on the same registry: no error")
	}
}

func TestSample(t *testing.T) {
	draws := []float64{0.05, 0.5, 0.95}
	i := 0
	m, _ := newMirror(t, Options{Rand: func() float64 { v := draws[i%len(draws)]; i++; return v }})
	var got []bool
	for range 3 {
		got = append(got, m.Sample(0.5))
	}
	if got[0] != true || got[1] != false || got[2] != false {
		t.Errorf("Sample(0.5) with draws %v = %v", draws, got)
	}
	i = 0
	if !m.Sample(1) || !m.Sample(2) || m.Sample(0) || m.Sample(-1) || i != 0 {
		t.Errorf("Sample at the bounds drew %d numbers or decided wrongly", i)
	}
}

// A full queue drops and counts without blocking, while a shadow call is
// stuck.
func TestSubmitNeverBlocks(t *testing.T) {
	m, reg := newMirror(t, Options{Queue: 2, Workers: 1})
	m.Start(context.Background())
	running, release := make(chan struct{}), make(chan struct{})
	blocked := job(func(ctx context.Context) (Outcome, error) {
		close(running)
		<-release
		return okOutcome("Paris is the capital of France."), nil
	})
	if !m.Submit(blocked) {
		t.Fatal("first Submit refused")
	}
	<-running // the only worker is busy from here on
	quick := job(answer(okOutcome("x")))
	results := make(chan bool, 3)
	go func() {
		for range 3 {
			results <- m.Submit(quick)
		}
	}()
	var got []bool
	for range 3 {
		select {
		case ok := <-results:
			got = append(got, ok)
		case <-time.After(5 * time.Second):
			t.Fatal("Submit blocked")
		}
	}
	if got[0] != true || got[1] != true || got[2] != false {
		t.Errorf("Submit results %v, want [true true false]", got)
	}
	if n := value(t, m.m.dropped.WithLabelValues(target.Route, dropQueueFull)); n != 1 {
		t.Errorf("ferry_shadow_dropped_total{reason=queue_full} = %g", n)
	}
	if n := value(t, m.m.submitted.WithLabelValues(target.Route)); n != 3 {
		t.Errorf("ferry_shadow_submitted_total = %g", n)
	}
	if q := m.Summary(Query{}).Queue; q.Length != 2 || q.Capacity != 2 {
		t.Errorf("queue %+v", q)
	}
	close(release)
	closeMirror(t, m)
	c := m.Summary(Query{}).Targets[0].Counts
	if c != (Counts{Submitted: 3, Dropped: 1, Completed: 3}) {
		t.Errorf("counts %+v", c)
	}
	if n := series(t, reg, "ferry_shadow_completed_total"); n != 2 {
		t.Errorf("completed series %d, want agree and disagree", n)
	}
}

func TestQueueBytes(t *testing.T) {
	m, _ := newMirror(t, Options{QueueBytes: 100})
	j := job(answer(okOutcome("x")))
	j.Bytes = 60
	if !m.Submit(j) || m.Submit(j) {
		t.Fatal("want the first 60-byte job queued and the second refused")
	}
	if n := value(t, m.m.dropped.WithLabelValues(target.Route, dropQueueBytes)); n != 1 {
		t.Errorf("dropped{queue_bytes} = %g", n)
	}
	if b := m.Summary(Query{}).Queue.Bytes; b != 60 {
		t.Errorf("queue bytes %d", b)
	}
	m.Start(context.Background())
	closeMirror(t, m)
	if b := m.Summary(Query{}).Queue.Bytes; b != 0 {
		t.Errorf("queue bytes after the drain %d", b)
	}
}

func TestCloseDrains(t *testing.T) {
	defer goleak.VerifyNone(t)
	m, _ := newMirror(t, Options{Queue: 20, Workers: 3})
	for range 20 {
		if !m.Submit(job(answer(okOutcome("Paris is the capital of France.")))) {
			t.Fatal("Submit refused")
		}
	}
	m.Start(context.Background())
	closeMirror(t, m)
	s := m.Summary(Query{})
	if s.Kept != 20 || s.Targets[0].Completed != 20 || s.Targets[0].Agreement == nil || *s.Targets[0].Agreement != 1 {
		t.Errorf("kept %d, targets %+v", s.Kept, s.Targets)
	}
	if m.Submit(job(answer(Outcome{}))) {
		t.Error("Submit after Close accepted")
	}
	if n := value(t, m.m.dropped.WithLabelValues(target.Route, dropClosed)); n != 1 {
		t.Errorf("dropped{closed} = %g", n)
	}
	closeMirror(t, m) // twice is fine
	m.Start(context.Background())
	if n := value(t, m.m.completed.WithLabelValues(target.Route, "agree")); n != 20 {
		t.Errorf("completed{agree} = %g", n)
	}
}

// When the drain runs out of time, calls in flight are cancelled, queued
// jobs dropped, and no goroutine stays behind.
func TestCloseGivesUp(t *testing.T) {
	defer goleak.VerifyNone(t)
	m, _ := newMirror(t, Options{Queue: 5, Workers: 1})
	running := make(chan struct{})
	stuck := job(func(ctx context.Context) (Outcome, error) {
		close(running)
		<-ctx.Done()
		return Outcome{}, ctx.Err()
	})
	m.Submit(stuck)
	for range 3 {
		m.Submit(job(answer(okOutcome("x"))))
	}
	m.Start(context.Background())
	<-running
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v", err)
	}
	s := m.Summary(Query{Recent: 10})
	if c := s.Targets[0].Counts; c != (Counts{Submitted: 4, Dropped: 3, Completed: 1}) {
		t.Errorf("counts %+v", c)
	}
	if r := s.Recent[0]; r.Result != Error || r.ShadowSide.Error != "context canceled" {
		t.Errorf("stuck call recorded as %s, %q", r.Result, r.ShadowSide.Error)
	}
}

func TestCloseWithoutStart(t *testing.T) {
	defer goleak.VerifyNone(t)
	m, _ := newMirror(t, Options{})
	m.Submit(job(answer(okOutcome("x"))))
	closeMirror(t, m)
	if c := m.Summary(Query{}).Targets[0].Counts; c != (Counts{Submitted: 1, Dropped: 1}) {
		t.Errorf("counts %+v", c)
	}
}

func TestStartContextStops(t *testing.T) {
	defer goleak.VerifyNone(t)
	m, _ := newMirror(t, Options{Workers: 1})
	ctx, cancel := context.WithCancel(context.Background())
	m.Start(ctx)
	cancel()
	m.Submit(job(answer(okOutcome("x"))))
	closeMirror(t, m)
	if c := m.Summary(Query{}).Targets[0].Counts; c.Dropped != 1 || c.Completed != 0 {
		t.Errorf("counts %+v", c)
	}
}

func TestTimeoutAndPanic(t *testing.T) {
	var log bytes.Buffer
	m, _ := newMirror(t, Options{Workers: 1, Timeout: 20 * time.Millisecond, Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	m.Submit(job(func(ctx context.Context) (Outcome, error) {
		<-ctx.Done()
		return Outcome{}, ctx.Err()
	}))
	m.Submit(job(func(context.Context) (Outcome, error) { panic("bug") }))
	m.Submit(job(answer(okOutcome("Paris is the capital of France."))))
	m.Start(context.Background())
	closeMirror(t, m)
	rs := m.Summary(Query{Recent: 3}).Recent
	if len(rs) != 3 {
		t.Fatalf("%d pairs", len(rs))
	}
	if rs[2].ShadowSide.Error != "timed out after 20ms: context deadline exceeded" || rs[2].ShadowSide.LatencyMS < 20 {
		t.Errorf("timeout recorded as %q after %gms", rs[2].ShadowSide.Error, rs[2].ShadowSide.LatencyMS)
	}
	if rs[1].ShadowSide.Error != "panic: bug" || rs[0].Result != Agree {
		t.Errorf("after the panic: %q, then %s", rs[1].ShadowSide.Error, rs[0].Result)
	}
	if !strings.Contains(log.String(), `"msg":"shadow call panicked"`) {
		t.Errorf("no panic log line:\n%s", log.String())
	}
}

// Shadow usage is counted apart from client usage and logged as shadow.
func TestShadowUsageMarked(t *testing.T) {
	var log bytes.Buffer
	m, _ := newMirror(t, Options{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	s := okOutcome("Paris is the capital of France.")
	s.CacheCreationTokens = 5
	m.Submit(job(answer(s)))
	m.Start(context.Background())
	closeMirror(t, m)
	for typ, want := range map[string]float64{"input": 100, "output": 50, "cache_read": 20, "cache_creation": 5} {
		if got := value(t, m.m.tokens.WithLabelValues("claude-*", "glm", typ)); got != want {
			t.Errorf("ferry_shadow_tokens_total{type=%s} = %g, want %g", typ, got, want)
		}
	}
	var line map[string]any
	if err := json.Unmarshal(log.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", log.String(), err)
	}
	for k, want := range map[string]any{"msg": "shadow", "shadow": true, "route": "claude-*", "provider": "glm", "model": "glm-4.6",
		"primary_provider": "anthropic", "status": 200.0, "input_tokens": 100.0, "output_tokens": 50.0, "result": "agree", "similarity": 1.0} {
		if line[k] != want {
			t.Errorf("log %s = %v, want %v", k, line[k], want)
		}
	}
}

func TestSubmitWithoutRun(t *testing.T) {
	m, _ := newMirror(t, Options{})
	if m.Submit(Job{Target: target}) {
		t.Error("a job without Run was queued")
	}
	if n := value(t, m.m.dropped.WithLabelValues(target.Route, dropInvalid)); n != 1 {
		t.Errorf("dropped{invalid} = %g", n)
	}
	closeMirror(t, m)
}
