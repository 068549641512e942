package shadow

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// pairJob is a job whose primary and shadow outcomes are given.
func pairJob(t Target, p, s Outcome) Job {
	return Job{Target: t, RequestModel: "claude-sonnet-4-5", PrimaryProvider: "anthropic", Primary: p, Run: answer(s)}
}

func TestSummaryMath(t *testing.T) {
	c := newClock()
	m, _ := newMirror(t, Options{Workers: 1, Now: c.Now, Excerpt: 5})
	paris := "Paris is the capital of France."
	other := "Quantum computers use qubits."
	prim := func(latency time.Duration) Outcome {
		o := okOutcome(paris) // 100 input + 20 cache read, 50 output
		o.Latency = latency
		return o
	}
	shad := func(text string, latency, ttfb time.Duration, in, out int64) Outcome {
		return Outcome{Status: 200, Latency: latency, TTFB: ttfb, Text: text, InputTokens: in, OutputTokens: out, StopReason: "end_turn"}
	}
	withTool := shad(paris, 4*time.Second, 400*time.Millisecond, 180, 90)
	withTool.ToolCalls = []ToolCall{{Name: "search", Input: json.RawMessage(`{}`)}}
	b := Target{Route: "gpt-*", Provider: "deepseek"}
	jobs := []Job{
		pairJob(target, prim(time.Second), shad(paris, 2*time.Second, 200*time.Millisecond, 120, 60)), // agree, ratio 2
		pairJob(target, prim(time.Second), shad(paris, time.Second, 100*time.Millisecond, 120, 40)),   // agree, ratio 1
		pairJob(target, prim(2*time.Second), shad(other, time.Second, 50*time.Millisecond, 120, 50)),  // disagree (text), ratio 0.5
		pairJob(target, prim(time.Second), withTool),                                                  // disagree (tools), ratio 4
		pairJob(target, Outcome{Status: 429, ErrorType: "rate_limit_error"}, Outcome{Status: 429}),    // agree, not compared
		pairJob(target, prim(time.Second), Outcome{Err: "dial tcp 10.0.0.1:443: connection refused"}), // error
		pairJob(b, prim(time.Second), shad(paris, 3*time.Second, 300*time.Millisecond, 120, 50)),      // another target
	}
	for _, j := range jobs {
		if !m.Submit(j) {
			t.Fatal("Submit refused")
		}
	}
	m.Start(context.Background())
	closeMirror(t, m)

	s := m.Summary(Query{Route: target.Route, Recent: 2})
	sim3 := round3((3 + Similarity(paris, other)) / 4)
	want := TargetSummary{
		Route: "claude-*", Shadow: "glm/glm-4.6", Provider: "glm", Model: "glm-4.6",
		Counts: Counts{Submitted: 6, Completed: 6},
		Pairs:  6, Errors: 1, ErrorRate: ptr(0.167), Answered: 5, Agreement: ptr(0.6), StatusMatch: ptr(1.0),
		Compared: 4, Similarity: ptr(sim3), ToolAgreement: ptr(0.75), StopMatch: ptr(1.0),
		LatencyRatio:   &Quantiles{P50: 1, P95: 4},
		TTFBRatio:      &Quantiles{P50: 1, P95: 4},
		PrimaryLatency: &Quantiles{P50: 1000, P95: 2000},
		ShadowLatency:  &Quantiles{P50: 1000, P95: 4000},
		Tokens:         TokenSums{PrimaryInput: 480, PrimaryOutput: 200, ShadowInput: 540, ShadowOutput: 240},
		InputDelta:     ptr(12.5),
		OutputDelta:    ptr(20.0),
	}
	if len(s.Targets) != 1 {
		t.Fatalf("%d targets for one route", len(s.Targets))
	}
	if d := cmp.Diff(want, s.Targets[0]); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
	if s.Kept != 7 || s.Keep != 100 || s.Threshold != DefaultThreshold || !s.GeneratedAt.Equal(c.Now()) {
		t.Errorf("kept %d of %d, threshold %g, at %v", s.Kept, s.Keep, s.Threshold, s.GeneratedAt)
	}
	// The two newest pairs of the route, newest first.
	if len(s.Recent) != 2 || s.Recent[0].ShadowSide.Error != "dial tcp 10.0.0.1:443: connection refused" || s.Recent[1].Primary.Status != 429 {
		t.Fatalf("recent %+v", s.Recent)
	}
	wantPair := Pair{
		At: c.Now(), Route: "claude-*", Shadow: "glm/glm-4.6", Model: "claude-sonnet-4-5", PrimaryProvider: "anthropic",
		Result:     Error,
		Primary:    Side{Status: 200, LatencyMS: 1000, TTFBMS: 100, InputTokens: 120, OutputTokens: 50, StopReason: "end_turn", Text: "Paris"},
		ShadowSide: Side{Error: "dial tcp 10.0.0.1:443: connection refused"},
	}
	if d := cmp.Diff(wantPair, s.Recent[0]); d != "" {
		t.Errorf("recent pair (-want +got):\n%s", d)
	}

	all := m.Summary(Query{})
	if len(all.Targets) != 2 || all.Targets[0].Route != "claude-*" || all.Targets[1].Route != "gpt-*" || len(all.Recent) != 0 {
		t.Fatalf("targets %d, recent %d", len(all.Targets), len(all.Recent))
	}
	if g := all.Targets[1]; g.Shadow != "deepseek" || *g.LatencyRatio != (Quantiles{P50: 3, P95: 3}) || *g.Agreement != 1 || g.Errors != 0 || *g.ErrorRate != 0 {
		t.Errorf("second target %+v", g)
	}
}

func TestSummaryKeepsTheLastKeep(t *testing.T) {
	m, _ := newMirror(t, Options{Workers: 1, Keep: 3})
	for i := range 5 {
		o := okOutcome("x")
		o.OutputTokens = int64(i)
		m.Submit(pairJob(target, okOutcome("x"), o))
	}
	m.Start(context.Background())
	closeMirror(t, m)
	s := m.Summary(Query{Recent: 10})
	if s.Kept != 3 || s.Targets[0].Pairs != 3 || s.Targets[0].Completed != 5 || len(s.Recent) != 3 {
		t.Fatalf("kept %d, pairs %d, completed %d, recent %d", s.Kept, s.Targets[0].Pairs, s.Targets[0].Completed, len(s.Recent))
	}
	for i, want := range []int64{4, 3, 2} {
		if got := s.Recent[i].ShadowSide.OutputTokens; got != want {
			t.Errorf("recent[%d] is job %d, want %d", i, got, want)
		}
	}
}

func TestSummaryEmpty(t *testing.T) {
	m, _ := newMirror(t, Options{})
	m.Submit(job(answer(okOutcome("x"))))
	s := m.Summary(Query{Recent: 5})
	closeMirror(t, m)
	// A target with only queued jobs shows its counters and no rates.
	if len(s.Targets) != 1 || s.Targets[0].Submitted != 1 || s.Targets[0].Agreement != nil || s.Targets[0].LatencyRatio != nil || s.Targets[0].InputDelta != nil {
		t.Errorf("targets %+v", s.Targets)
	}
	if s.Recent == nil || len(s.Recent) != 0 {
		t.Errorf("recent %v, want an empty list", s.Recent)
	}
}

func TestQuantilesAndClip(t *testing.T) {
	if q := quantiles([]float64{5, 1, 4, 2, 3}); *q != (Quantiles{P50: 3, P95: 5}) {
		t.Errorf("quantiles %+v", q)
	}
	if q := quantiles([]float64{7}); *q != (Quantiles{P50: 7, P95: 7}) {
		t.Errorf("one value: %+v", q)
	}
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{{"hello", 10, "hello"}, {"hello", 3, "hel"}, {"a你好", 2, "a"}, {"a你好", 4, "a你"}, {"x", 0, ""}} {
		if got := clip(tt.s, tt.n); got != tt.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}
