package console

import (
	"strconv"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/testkit"
)

func TestStatsSeriesAndQuantiles(t *testing.T) {
	clock := testkit.NewClock()
	s := NewStats(clock.Now)
	// Second 0: 100 requests, 1..100 ms; two fail with 502, one with 429,
	// one is a client error (not an error of the gateway).
	for i := 1; i <= 100; i++ {
		status := 200
		switch i {
		case 10, 20:
			status = 502
		case 30:
			status = 429
		case 40:
			status = 400
		}
		s.Observe(status, time.Duration(i)*time.Millisecond, 0, nil)
	}
	clock.Advance(time.Second)
	// Second 1: one stream, 2 s total, first byte at 300 ms.
	s.Observe(200, 2*time.Second, 300*time.Millisecond, nil)
	clock.Advance(time.Second)
	s.Observe(200, time.Millisecond, 0, nil) // the current second: in the last minute, not in the series

	got := s.Snapshot(3)
	if len(got.Series) != 3 {
		t.Fatalf("series has %d points, want 3", len(got.Series))
	}
	empty, first, second := got.Series[0], got.Series[1], got.Series[2]
	if empty.Requests != 0 || empty.P50 != nil {
		t.Errorf("the second before traffic = %+v, want empty", empty)
	}
	if first.Requests != 100 || first.Errors != 3 || first.ErrorRate != 0.03 {
		t.Errorf("first second: requests %d errors %d rate %v, want 100 3 0.03", first.Requests, first.Errors, first.ErrorRate)
	}
	within := func(name string, got *float64, want float64) {
		t.Helper()
		if got == nil || *got < want || *got > want*histGrowth+0.1 {
			t.Errorf("%s = %v, want within [%v, %v]", name, got, want, want*histGrowth)
		}
	}
	within("p50", first.P50, 50)
	within("p95", first.P95, 95)
	within("p99", first.P99, 99)
	if first.TTFTP50 != nil {
		t.Errorf("ttft p50 without streams = %v, want null", *first.TTFTP50)
	}
	within("stream ttft p50", second.TTFTP50, 300)
	within("stream p50", second.P50, 2000)
	if got.Total != 102 || got.Errors != 3 {
		t.Errorf("totals = %d/%d, want 102/3", got.Total, got.Errors)
	}
	if got.Summary.Requests != 102 || got.RPS != 102.0/60 {
		t.Errorf("last minute = %d requests, %v rps; want 102, %v", got.Summary.Requests, got.RPS, 102.0/60)
	}

	// Five minutes on, the ring has forgotten all of it.
	clock.Advance(ringSeconds * time.Second)
	if late := s.Snapshot(60); late.Summary.Requests != 0 {
		t.Errorf("after the ring wrapped the last minute has %d requests, want 0", late.Summary.Requests)
	}
}

func BenchmarkStatsObserve(b *testing.B) {
	s := NewStats(nil)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Observe(200, time.Duration(i%5000)*time.Millisecond, 0, nil)
	}
}

func TestStatsRecentRetries(t *testing.T) {
	clock := testkit.NewClock()
	s := NewStats(clock.Now)
	for i := range keepRetried + 5 {
		s.Observe(200, time.Millisecond, 0, []string{"a@n1:502", "b@n2:" + strconv.Itoa(i)})
		s.Observe(200, time.Millisecond, 0, nil) // one attempt: not listed
	}
	got := s.Snapshot(10).Retried
	if len(got) != keepRetried {
		t.Fatalf("%d retried requests kept, want %d", len(got), keepRetried)
	}
	if newest, oldest := got[0].Attempts[1], got[keepRetried-1].Attempts[1]; newest != "b@n2:24" || oldest != "b@n2:5" {
		t.Errorf("newest %q, oldest %q; want b@n2:24, b@n2:5", newest, oldest)
	}
}
