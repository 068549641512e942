package app

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const streamBody = `{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`

// TestStreamSplitAtEveryByte: however the upstream's bytes are cut into
// reads, the client receives exactly the upstream's stream.
func TestStreamSplitAtEveryByte(t *testing.T) {
	g := newGateway(t)
	f := fakeupstream.MustLoad(t, fixtures+"stream_text.txtar")
	n := len(f.Body)
	step := 1
	if testing.Short() {
		step = 7
	}
	for i := 1; i < n; i += step {
		g.Fake.Enqueue(fakeupstream.Reply{Fixture: f, Splits: []int{i}, Pause: time.Microsecond})
		resp, got := g.rawPost(t, "/v1/messages", streamBody, nil)
		if resp.StatusCode != 200 || string(got) != string(f.Body) {
			t.Fatalf("split at %d: status %d, output differs:\n%q\nwant\n%q", i, resp.StatusCode, got, f.Body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
			t.Fatalf("content-type %q", ct)
		}
	}
	// And in one-byte pieces.
	splits := make([]int, n)
	for i := range splits {
		splits[i] = i
	}
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: f, Splits: splits, Pause: time.Microsecond})
	if _, got := g.rawPost(t, "/v1/messages", streamBody, nil); string(got) != string(f.Body) {
		t.Fatalf("one byte per write: output differs")
	}
}

// TestStreamEventsFlushedAsTheyArrive: an event reaches the client while
// the upstream is still holding the rest of the stream.
func TestStreamEventsFlushedAsTheyArrive(t *testing.T) {
	g := newGateway(t)
	f := fakeupstream.MustLoad(t, fixtures+"stream_text.txtar")
	first := strings.Index(string(f.Body), "\n\n") + 2
	release := make(chan struct{})
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: f, Splits: []int{first}, Hold: func(*http.Request) { <-release }})
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/messages", strings.NewReader(streamBody))
	req.Header.Set("X-Api-Key", clientKey)
	resp, err := g.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "event: message_start\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if line+string(rest) != string(f.Body) {
		t.Errorf("stream differs after release")
	}
}

// TestClientDisconnectCancelsUpstream: when the client hangs up mid-stream,
// the upstream request is cancelled at once.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	g := newGateway(t)
	f := fakeupstream.MustLoad(t, fixtures+"stream_text.txtar")
	first := strings.Index(string(f.Body), "\n\n") + 2
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: f, Splits: []int{first}, Hold: func(r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}})
	// The gateway's accept loops start asynchronously: make sure they run
	// before taking the snapshot of goroutines that may stay.
	if r, err := g.HTTP.Get(g.URL + "/healthz"); err == nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	before := goleak.IgnoreCurrent()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.URL+"/v1/messages", strings.NewReader(streamBody))
	req.Header.Set("X-Api-Key", clientKey)
	resp, err := g.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cancel()
	resp.Body.Close()
	select {
	case <-g.Fake.Canceled():
		if d := time.Since(start); d > time.Second {
			t.Errorf("upstream cancelled after %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("upstream request was not cancelled")
	}
	// No goroutine started for this request outlives it: the gateway's
	// handler, its upstream connection's loops and the fake's handler all end.
	g.HTTP.CloseIdleConnections()
	var err2 error
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err2 = goleak.Find(before); err2 == nil {
			break
		}
	}
	if err2 != nil {
		t.Errorf("goroutines outlived the request: %v", err2)
	}
}

// TestStreamTruncatedUpstreamEndsWithErrorEvent: an upstream that drops
// the connection mid-stream gives the client an error event, never a
// silent truncation.
func TestStreamTruncatedUpstreamEndsWithErrorEvent(t *testing.T) {
	g := newGateway(t)
	f := fakeupstream.MustLoad(t, fixtures+"stream_text.txtar")
	cut := *f
	cut.Body = f.Body[:len(f.Body)/2]
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: &cut})
	_, got := g.rawPost(t, "/v1/messages", streamBody, nil)
	s := string(got)
	if !strings.HasPrefix(s, "event: message_start\n") {
		t.Fatalf("stream start lost: %q", s)
	}
	if !strings.HasSuffix(s, "\n\n") || !strings.Contains(s, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"") {
		t.Errorf("no error event at the end:\n%s", s)
	}
	if strings.Contains(s, "message_stop") {
		t.Errorf("message_stop invented")
	}
	// Only whole events were passed on before the error event.
	if i := strings.Index(s, "event: error"); !strings.HasSuffix(s[:i], "\n\n") {
		t.Errorf("partial event passed through")
	}
}

func TestStreamIdleTimeout(t *testing.T) {
	g := newGateway(t, func(c *config.Config) {
		c.Providers[0].Timeouts.StreamIdle = 200 * time.Millisecond
	})
	f := fakeupstream.MustLoad(t, fixtures+"stream_text.txtar")
	first := strings.Index(string(f.Body), "\n\n") + 2
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: f, Splits: []int{first}, Hold: func(r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}})
	start := time.Now()
	_, got := g.rawPost(t, "/v1/messages", streamBody, nil)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle stream held for %v", d)
	}
	if !strings.Contains(string(got), "event: error") || !strings.Contains(string(got), "stalled") {
		t.Errorf("no stall error event: %s", got)
	}
}
