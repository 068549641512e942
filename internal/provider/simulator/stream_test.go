package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
)

// recorder is an injected Sleep that records what it was asked to wait.
type recorder struct {
	mu sync.Mutex
	ds []time.Duration
}

func (r *recorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ds = append(r.ds, d)
	return ctx.Err()
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ds)
}

func (r *recorder) durations() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.ds...)
}

// isToken reports whether an event is a token delta: one that is paced.
func isToken(t *testing.T, name string, data []byte) bool {
	if name != "content_block_delta" {
		return false
	}
	var d struct {
		Delta map[string]any `json:"delta"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"text", "thinking", "partial_json"} {
		if s, ok := d.Delta[k].(string); ok {
			return s != ""
		}
	}
	return false
}

func TestPacing(t *testing.T) {
	tools := `"tools":[` + weatherTool + `]`
	think := `"thinking":{"type":"enabled","budget_tokens":1024}`
	tests := []struct {
		name  string
		cfg   config.Simulator
		body  string
		first time.Duration // want before the first content event
		gap   time.Duration // want between token deltas
	}{
		{"first_and_rate", config.Simulator{FirstToken: 250 * time.Millisecond, TokensPerSecond: 20, ToolUse: 1}, body(1000, hello, tools, think), 250 * time.Millisecond, 50 * time.Millisecond},
		{"rate_only", config.Simulator{TokensPerSecond: 100}, body(1000, hello), 0, 10 * time.Millisecond},
		{"first_only", config.Simulator{FirstToken: time.Second}, body(1000, hello, think), time.Second, 0},
		{"neither", config.Simulator{}, body(1000, hello, tools, think), 0, 0},
		{"no_content", config.Simulator{FirstToken: time.Second, TokensPerSecond: 10}, body(0, hello), 0, 0},
		{"slow_rate", config.Simulator{TokensPerSecond: 0.5}, body(3, hello), 0, 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			p, err := New(Options{Config: tc.cfg, Sleep: rec.sleep})
			if err != nil {
				t.Fatal(err)
			}
			resp := do(t, p, call(provider.OpMessages, true, tc.body, nil))
			defer resp.Close()
			var (
				want   []time.Duration
				tokens int
				first  = true
			)
			for i := 0; ; i++ {
				before := rec.count()
				ev, err := resp.Events.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				name := string(ev.Name)
				// Where the waits fall: before the first content_block_start,
				// and before every token delta but the first.
				switch {
				case name == "content_block_start" && first:
					first = false
					if tc.first > 0 {
						want = append(want, tc.first)
					}
				case isToken(t, name, ev.Data):
					if tokens > 0 && tc.gap > 0 {
						want = append(want, tc.gap)
					}
					tokens++
				}
				if got := rec.count(); got != len(want) {
					t.Fatalf("event %d (%s): %d waits so far, want %d", i, name, got, len(want))
				}
				if i == 0 && rec.count() != before {
					t.Error("message_start waited")
				}
			}
			if diff := cmp.Diff(want, rec.durations()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}

			// The JSON answer waits as long as the stream, at once.
			jrec := &recorder{}
			p, _ = New(Options{Config: tc.cfg, Sleep: jrec.sleep})
			readBody(t, do(t, p, call(provider.OpMessages, false, tc.body, nil)))
			var total time.Duration
			for _, d := range want {
				total += d
			}
			var wantJSON []time.Duration
			if total > 0 {
				wantJSON = []time.Duration{total}
			}
			if diff := cmp.Diff(wantJSON, jrec.durations()); diff != "" {
				t.Errorf("JSON waits (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRealTimer checks the default Sleep paces for real.
func TestRealTimer(t *testing.T) {
	cfg := config.Simulator{Text: "a b c d e", FirstToken: 30 * time.Millisecond, TokensPerSecond: 200}
	p, err := New(Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp := do(t, p, call(provider.OpMessages, true, body(100, hello), nil))
	if _, err := checkStream(resp.Events); err != nil {
		t.Fatal(err)
	}
	if got, want := time.Since(start), 30*time.Millisecond+4*5*time.Millisecond; got < want {
		t.Errorf("stream took %v, want at least %v", got, want)
	}
}

// waitCase builds a stream whose next Next waits for a long time on the
// real timer.
type waitCase struct {
	name string
	cfg  config.Simulator
	skip int // events to read before the waiting one
}

var waitCases = []waitCase{
	{"first_token", config.Simulator{FirstToken: time.Hour}, 1},                   // after message_start
	{"token_gap", config.Simulator{TokensPerSecond: 1e-9, Text: "a b c"}, 4},      // start, block start, ping, first delta
	{"token_gap_rate", config.Simulator{TokensPerSecond: 0.0001, Text: "a b"}, 4}, // gap 10000s, clamped to 1h
}

func TestCancelWhileWaiting(t *testing.T) {
	for _, tc := range waitCases {
		for _, deadline := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/deadline=%v", tc.name, deadline), func(t *testing.T) {
				p, err := New(Options{Config: tc.cfg})
				if err != nil {
					t.Fatal(err)
				}
				var (
					ctx    context.Context
					cancel context.CancelFunc
					want   error
				)
				if deadline {
					ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
					want = context.DeadlineExceeded
				} else {
					ctx, cancel = context.WithCancel(context.Background())
					want = context.Canceled
				}
				defer cancel()
				resp, err := p.Do(ctx, call(provider.OpMessages, true, body(100, hello), nil))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Close()
				for range tc.skip {
					if _, err := resp.Events.Next(); err != nil {
						t.Fatal(err)
					}
				}
				if !deadline {
					time.AfterFunc(20*time.Millisecond, cancel)
				}
				start := time.Now()
				_, err = resp.Events.Next()
				if !errors.Is(err, want) {
					t.Fatalf("Next = %v, want %v", err, want)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("Next returned after %v", d)
				}
				if _, err := resp.Events.Next(); !errors.Is(err, want) {
					t.Errorf("Next after the error = %v, want %v", err, want)
				}
			})
		}
	}
}

func TestCancelJSON(t *testing.T) {
	p, err := New(Options{Config: config.Simulator{FirstToken: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	resp, err := p.Do(ctx, call(provider.OpMessages, false, body(100, hello), nil))
	if !errors.Is(err, context.DeadlineExceeded) || resp != nil {
		t.Fatalf("Do = %v, %v; want DeadlineExceeded", resp, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Do returned after %v", d)
	}
}

func TestCancelled(t *testing.T) {
	p := newProvider(t, config.Simulator{})
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := p.Do(ctx, call(provider.OpMessages, true, body(100, hello), nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resp.Events.Next(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := resp.Events.Next(); !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel = %v, want context.Canceled", err)
	}
	if _, err := p.Do(ctx, call(provider.OpMessages, true, body(100, hello), nil)); !errors.Is(err, context.Canceled) {
		t.Errorf("Do with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestClose(t *testing.T) {
	for _, after := range []int{0, 1, 3, 100} {
		p := newProvider(t, config.Simulator{})
		resp := do(t, p, call(provider.OpMessages, true, body(100, hello), nil))
		for i := 0; i < after; i++ {
			if _, err := resp.Events.Next(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if err := resp.Close(); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := resp.Events.Next(); err == nil || err == io.EOF {
				t.Errorf("after %d events: Next after Close = %v, want an error", after, err)
			}
		}
		if err := resp.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}
}

// drain reads a whole answer and returns the number of events.
func drain(tb testing.TB, p *Provider, c *provider.Call) int {
	resp, err := p.Do(context.Background(), c)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for {
		_, err := resp.Events.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		n++
	}
	resp.Close()
	return n
}

// TestNoAllocsPerEvent checks that a stream's allocations do not grow with
// its length.
func TestNoAllocsPerEvent(t *testing.T) {
	short := newProvider(t, config.Simulator{Text: "a b"})
	long := newProvider(t, config.Simulator{Text: strings.Repeat("word, \"quoted\" ünïcode\n", 100)})
	c := call(provider.OpMessages, true, body(100000, hello), nil)
	ns, nl := drain(t, short, c), drain(t, long, c)
	as := testing.AllocsPerRun(20, func() { drain(t, short, c) })
	al := testing.AllocsPerRun(20, func() { drain(t, long, c) })
	t.Logf("%d events: %.0f allocs; %d events: %.0f allocs", ns, as, nl, al)
	if al > as {
		t.Errorf("%d more events cost %.0f more allocations", nl-ns, al-as)
	}
}
