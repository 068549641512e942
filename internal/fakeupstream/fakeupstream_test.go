package fakeupstream

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const fixtures = "../../testdata/anthropic/"

func newFake(t *testing.T) (*Server, *http.Client) {
	t.Helper()
	s := New()
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		hc.CloseIdleConnections()
		s.Close()
	})
	return s, hc
}

func post(ctx context.Context, hc *http.Client, url string) (*http.Response, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/messages", strings.NewReader(`{"model":"m"}`))
	return hc.Do(req)
}

func TestEventEnds(t *testing.T) {
	f := MustLoad(t, fixtures+"stream_text.txtar")
	ends := EventEnds(f.Body)
	if want := strings.Count(string(f.Body), "event: "); len(ends) != want {
		t.Fatalf("%d events found, want %d", len(ends), want)
	}
	if ends[len(ends)-1] != len(f.Body) {
		t.Errorf("last event ends at %d of %d", ends[len(ends)-1], len(f.Body))
	}
	if got := string(f.Body[:prefix(f.Body, 1)]); !strings.HasPrefix(got, "event: message_start\n") || strings.Count(got, "event:") != 1 {
		t.Errorf("first event: %q", got)
	}
	if prefix(f.Body, 0) != 0 || prefix(f.Body, 1000) != len(f.Body) {
		t.Errorf("prefix bounds")
	}
}

func TestResetBeforeHeaders(t *testing.T) {
	s, hc := newFake(t)
	s.Enqueue(Reply{Fault: ResetBeforeHeaders})
	_, err := post(context.Background(), hc, s.URL)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("error %v, want a connection reset", err)
	}
	if s.Count() != 1 || s.Served() != 0 {
		t.Errorf("count %d served %d", s.Count(), s.Served())
	}
}

func TestResetAfterEvents(t *testing.T) {
	s, hc := newFake(t)
	f := MustLoad(t, fixtures+"stream_text.txtar")
	s.Enqueue(Reply{Fixture: f, Fault: ResetAfterEvents, Events: 2})
	resp, err := post(context.Background(), hc, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read error %v, want a connection reset", err)
	}
	if resp.StatusCode != 200 || string(got) != string(f.Body[:EventEnds(f.Body)[1]]) {
		t.Errorf("status %d, body before the reset:\n%s", resp.StatusCode, got)
	}
}

func TestTruncateAfterEvents(t *testing.T) {
	s, hc := newFake(t)
	f := MustLoad(t, fixtures+"stream_text.txtar")
	s.Enqueue(Reply{Fixture: f, Fault: TruncateAfterEvents, Events: 3})
	resp, err := post(context.Background(), hc, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("a truncation must end cleanly: %v", err)
	}
	if string(got) != string(f.Body[:EventEnds(f.Body)[2]]) || strings.Contains(string(got), "message_stop") {
		t.Errorf("body:\n%s", got)
	}
	if s.Served() != 0 {
		t.Errorf("a truncated reply counted as served")
	}
}

func TestStallBeforeHeaders(t *testing.T) {
	s, hc := newFake(t)
	f := MustLoad(t, fixtures+"message_tool_use.txtar")
	s.SetDefault(Reply{Fixture: f, Fault: StallBeforeHeaders})

	// Until the request ends: the fake notices the hang-up.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := post(ctx, hc, s.URL)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("error %v after %v", err, time.Since(start))
	}
	select {
	case <-s.Canceled():
	case <-time.After(2 * time.Second):
		t.Fatal("the stalled handler did not see the hang-up")
	}

	// Until released: then the whole answer.
	go func() {
		for s.Count() < 2 {
			time.Sleep(time.Millisecond)
		}
		s.Release()
	}()
	resp, err := post(context.Background(), hc, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != string(f.Body) || s.Served() != 1 {
		t.Errorf("after release: served %d body %s", s.Served(), got)
	}
}

func TestStallAfterEvents(t *testing.T) {
	s, hc := newFake(t)
	f := MustLoad(t, fixtures+"stream_text.txtar")
	s.Enqueue(Reply{Fixture: f, Fault: StallAfterEvents, Events: 1})
	resp, err := post(context.Background(), hc, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first := make([]byte, EventEnds(f.Body)[0])
	if _, err := io.ReadFull(br, first); err != nil || string(first) != string(f.Body[:len(first)]) {
		t.Fatalf("first event %q %v", first, err)
	}
	s.Release()
	rest, err := io.ReadAll(br)
	if err != nil || string(first)+string(rest) != string(f.Body) {
		t.Errorf("after release: %v\n%s", err, rest)
	}
}

func TestLatencyAndCounts(t *testing.T) {
	s, hc := newFake(t)
	f := MustLoad(t, fixtures+"message_tool_use.txtar")
	s.SetDefault(Reply{Fixture: f})
	s.SetLatency(60 * time.Millisecond)
	start := time.Now()
	resp, err := post(context.Background(), hc, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("answered after %v, want at least the latency", d)
	}
	if s.Count() != 1 || s.Served() != 1 || s.Last().At.IsZero() || s.Host() != strings.TrimPrefix(s.URL, "http://") {
		t.Errorf("count %d served %d at %v host %s", s.Count(), s.Served(), s.Last().At, s.Host())
	}
}

func TestDownAndUp(t *testing.T) {
	s, hc := newFake(t)
	f := MustLoad(t, fixtures+"message_tool_use.txtar")
	s.SetDefault(Reply{Fixture: f})
	ok := func() error {
		resp, err := post(context.Background(), hc, s.URL)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	if err := ok(); err != nil {
		t.Fatal(err)
	}
	s.Down()
	// The server closed the idle keep-alive connection too; whether the
	// client has noticed yet is a race, so drop it here.
	hc.CloseIdleConnections()
	if err := ok(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("while down: %v, want connection refused", err)
	}
	if err := s.Up(); err != nil {
		t.Fatal(err)
	}
	if err := ok(); err != nil {
		t.Fatalf("after up: %v", err)
	}
	if s.Count() != 2 {
		t.Errorf("count %d, want 2 (refusals are not requests)", s.Count())
	}
	u, err := ClosedURL()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, u, nil)
	if _, err := hc.Do(req); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("closed URL: %v", err)
	}
}

func TestScripts(t *testing.T) {
	bad, good := Reply{Events: 1}, Reply{Events: 2}
	count := func(sc Script, n int) (b int) {
		for i := range n {
			if sc(i).Events == 1 {
				b++
			}
		}
		return b
	}
	for _, tt := range []struct {
		share float64
		n     int
		want  int
	}{{0, 100, 0}, {0.3, 100, 30}, {0.3, 10, 3}, {0.25, 7, 1}, {1, 9, 9}} {
		if got := count(Share(tt.share, bad, good), tt.n); got != tt.want {
			t.Errorf("Share(%v) over %d: %d bad, want %d", tt.share, tt.n, got, tt.want)
		}
	}
	if got := count(First(3, bad, good), 10); got != 3 {
		t.Errorf("First(3): %d", got)
	}
	clock := time.Unix(1000, 0)
	sc := Until(func() time.Time { return clock }, time.Unix(1001, 0), bad, good)
	if sc(0).Events != 1 {
		t.Errorf("Until: good before the end")
	}
	clock = clock.Add(time.Second)
	if sc(1).Events != 2 {
		t.Errorf("Until: bad after the end")
	}

	// The queue comes first, then the script.
	s, hc := newFake(t)
	f := MustLoad(t, fixtures+"message_tool_use.txtar")
	e := MustLoad(t, fixtures+"error_529.txtar")
	s.Enqueue(Reply{Fixture: f})
	s.SetScript(Share(0.5, Reply{Fixture: e}, Reply{Fixture: f}))
	var codes []int
	for range 5 {
		resp, err := post(context.Background(), hc, s.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if got := codes; got[0] != 200 || got[1] != 529 || got[2] != 200 || got[3] != 529 || got[4] != 200 {
		t.Errorf("codes %v", got)
	}
	if s.Served() != 3 {
		t.Errorf("served %d", s.Served())
	}
}

func TestFixtureVariants(t *testing.T) {
	f := MustLoad(t, fixtures+"error_429.txtar")
	g := f.WithHeader("Retry-After", "").WithHeader("Retry-After-Ms", "100")
	if g.Header.Get("Retry-After") != "" || g.Header.Get("Retry-After-Ms") != "100" || f.Header.Get("Retry-After") != "7" {
		t.Errorf("headers %v (original %v)", g.Header, f.Header)
	}
	m := Malformed(MustLoad(t, fixtures+"message_tool_use.txtar"))
	if m.Status != 200 || json.Valid(m.Body) || len(m.Body) == 0 {
		t.Errorf("malformed: %d %s", m.Status, m.Body)
	}
}

func TestSilent(t *testing.T) {
	s, err := NewSilent()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hc := &http.Client{Transport: &http.Transport{TLSHandshakeTimeout: 100 * time.Millisecond}}
	defer hc.CloseIdleConnections()
	start := time.Now()
	_, err = hc.Get("https://" + s.Addr() + "/")
	if err == nil || !strings.Contains(err.Error(), "TLS handshake timeout") || time.Since(start) > 2*time.Second {
		t.Errorf("error %v after %v", err, time.Since(start))
	}
	if s.Accepted() != 1 {
		t.Errorf("accepted %d", s.Accepted())
	}
}

func TestStreamFixtureChosenByRequest(t *testing.T) {
	s, hc := newFake(t)
	msg := MustLoad(t, fixtures+"message_tool_use.txtar")
	st := MustLoad(t, fixtures+"stream_text.txtar")
	s.SetDefault(Reply{Fixture: msg, Stream: st})
	for _, tt := range []struct {
		body string
		want *Fixture
	}{{`{"model":"m"}`, msg}, {`{"model":"m","stream":true}`, st}, {`{"stream":false}`, msg}} {
		resp, err := hc.Post(s.URL+"/v1/messages", "application/json", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != string(tt.want.Body) {
			t.Errorf("%s: got the other fixture", tt.body)
		}
	}
}
