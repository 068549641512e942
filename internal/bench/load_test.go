package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunMeasuresEveryShape(t *testing.T) {
	srv := httptest.NewServer(Upstream())
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name   string
		format string
		stream bool
		rate   float64
	}{
		{"anthropic json, concurrency", FormatAnthropic, false, 0},
		{"anthropic stream, concurrency", FormatAnthropic, true, 0},
		{"openai json, rate", FormatOpenAI, false, 200},
		{"openai stream, rate", FormatOpenAI, true, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Run(context.Background(), Options{URL: srv.URL, Format: tc.format, Model: "m", Stream: tc.stream,
				Rate: tc.rate, Concurrency: 4, Requests: 40, Duration: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if r.Requests != 40 || r.Succeeded != 40 || r.Failed != 0 {
				t.Fatalf("requests %d, succeeded %d, failed %d (%v); want 40/40/0", r.Requests, r.Succeeded, r.Failed, r.Errors)
			}
			if r.Latency == nil || r.Latency.P50 <= 0 || r.Latency.P50 > r.Latency.P99 {
				t.Errorf("latency %+v", r.Latency)
			}
			if tc.stream != (r.TTFT != nil) || tc.stream != (r.ChunkGap != nil) {
				t.Errorf("stream %v: ttft %+v, chunk gap %+v", tc.stream, r.TTFT, r.ChunkGap)
			}
			if tc.stream && r.TTFT.P50 > r.Latency.P50 {
				t.Errorf("ttft p50 %v beyond latency p50 %v", r.TTFT.P50, r.Latency.P50)
			}
		})
	}
}

func TestRunCountsErrorsByKind(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 3 {
		case 0:
			w.WriteHeader(http.StatusTooManyRequests)
		case 1: // a stream cut before message_stop
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("event: content_block_delta\ndata: {}\n\n"))
		default:
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"x\"}}\n\n"))
		}
	}))
	t.Cleanup(srv.Close)
	r, err := Run(context.Background(), Options{URL: srv.URL, Format: FormatAnthropic, Model: "m", Stream: true, Concurrency: 1, Requests: 6})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"status 429": 2, "stream: ended early": 2, "stream: error event": 2}
	if r.Failed != 6 || r.Succeeded != 0 || len(r.Errors) != 3 {
		t.Fatalf("failed %d succeeded %d errors %v; want 6 failures %v", r.Failed, r.Succeeded, r.Errors, want)
	}
	for k, v := range want {
		if r.Errors[k] != v {
			t.Errorf("errors[%q] = %d, want %d", k, r.Errors[k], v)
		}
	}
	var b strings.Builder
	r.Print(&b)
	if !strings.Contains(b.String(), "2 × status 429") {
		t.Errorf("table lacks the error line:\n%s", b.String())
	}
}

func TestRunRefusesIncompleteOptions(t *testing.T) {
	for _, o := range []Options{
		{Format: FormatAnthropic, Requests: 1, Concurrency: 1},
		{URL: "http://127.0.0.1:1", Format: "grpc", Requests: 1, Concurrency: 1},
		{URL: "http://127.0.0.1:1", Format: FormatAnthropic, Concurrency: 1},
		{URL: "http://127.0.0.1:1", Format: FormatAnthropic, Requests: 1},
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func TestQuantilesNearestRank(t *testing.T) {
	d := make([]time.Duration, 100)
	for i := range d {
		d[len(d)-1-i] = time.Duration(i+1) * time.Millisecond
	}
	q := quantiles(d)
	if q.P50 != 50 || q.P95 != 95 || q.P99 != 99 || q.Max != 100 {
		t.Errorf("got %+v, want 50/95/99/100", q)
	}
	if quantiles(nil) != nil {
		t.Error("no data: want nil")
	}
}

// lockedBuffer is a strings.Builder safe for the progress goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func TestRunProgressLine(t *testing.T) {
	srv := httptest.NewServer(Upstream())
	t.Cleanup(srv.Close)
	var out lockedBuffer
	_, err := Run(context.Background(), Options{URL: srv.URL, Format: FormatAnthropic, Model: "m", Concurrency: 2,
		Duration: 150 * time.Millisecond, Progress: &out, ProgressEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := out.b.String()
	if strings.Count(s, "\r") < 2 || !strings.Contains(s, " requests ") || !strings.HasSuffix(s, "\n") {
		t.Errorf("progress output %q: want several \\r-updated lines ending in a newline", s)
	}
}
