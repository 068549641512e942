package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/fakeupstream"
	"github.com/ferrygw/ferry/internal/testkit"
)

// TestMultiInstanceCache runs three ferry processes sharing one Redis (a
// prefix of the test's own) in front of one fake upstream: an answer
// written through one instance is a hit through the others, as JSON and
// as a stream, and an Idempotency-Key in progress on one instance is a
// 409 on another, then a replay once the first has finished.
func TestMultiInstanceCache(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	rdb, prefix := testkit.Redis(t)
	fake := fakeupstream.New()
	t.Cleanup(fake.Close)
	whole := fakeupstream.MustLoad(t, fixtures+"message_tool_use.txtar")
	stream := fakeupstream.MustLoad(t, fixtures+"stream_text.txtar")
	fake.SetDefault(fakeupstream.Reply{Fixture: whole, Stream: stream})
	procs := startFerries(t, 3, fmt.Sprintf(`keys:
  - {name: team-a, key: %s}
providers:
  - name: up
    type: anthropic
    base_urls: [%s]
    api_key: %s
routes:
  - match: "*"
    targets: [{provider: up}]
    cache: {ttl: 5m}
cache:
  backend: redis
redis:
  addr: 127.0.0.1:6379
  prefix: %q
`, clientKey, fake.URL, providerKey, prefix))

	post := func(p *ferryProc, body string, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, p.URL+"/v1/messages", strings.NewReader(body))
		req.Header.Set("X-Api-Key", clientKey)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}

	body := `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`
	resp, first := post(procs[0], body, nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Ferry-Cache") != "miss" {
		t.Fatalf("through ferry 0: %d, x-ferry-cache %q", resp.StatusCode, resp.Header.Get("X-Ferry-Cache"))
	}
	for i, p := range procs[1:] {
		resp, b := post(p, body, nil)
		if got := resp.Header.Get("X-Ferry-Cache"); got != "hit" || string(b) != string(first) {
			t.Errorf("through ferry %d: x-ferry-cache %q, body %s", i+1, got, b)
		}
	}
	streamBody := strings.Replace(body, `"max_tokens":64,`, `"max_tokens":64,"stream":true,`, 1)
	resp, b := post(procs[2], streamBody, nil)
	if resp.Header.Get("X-Ferry-Cache") != "hit" || !jsonEqual(t, sseMessage(t, b), first) {
		t.Errorf("stream through ferry 2: x-ferry-cache %q, rebuilt %s", resp.Header.Get("X-Ferry-Cache"), sseMessage(t, b))
	}
	if n := fake.Count(); n != 1 {
		t.Errorf("upstream called %d times, want 1", n)
	}
	for i, p := range procs {
		hits := metricValue(p.Metrics(t), "ferry_cache_requests_total", map[string]string{"result": "hit"})
		if want := map[int]float64{0: 0, 1: 1, 2: 2}[i]; hits != want {
			t.Errorf("ferry %d counted %v hits, want %v", i, hits, want)
		}
	}
	keys, err := rdb.Keys(context.Background(), prefix+"cache:r:*").Result()
	if err != nil || len(keys) != 1 {
		t.Errorf("redis keys under %scache:r: %v (%v)", prefix, keys, err)
	}

	// An Idempotency-Key held on ferry 0 is in progress for ferry 1.
	release := make(chan struct{})
	fake.Enqueue(fakeupstream.Reply{Fixture: whole, Hold: func(*http.Request) { <-release }})
	ik := map[string]string{"Idempotency-Key": "multi-1"}
	other := strings.Replace(body, "hi", "hello", 1)
	done := make(chan []byte)
	go func() {
		_, b := post(procs[0], other, ik)
		done <- b
	}()
	waitUntil(t, func() bool { return fake.Count() == 2 })
	resp, b = post(procs[1], other, ik)
	if typ, _ := decodeError(t, b); resp.StatusCode != http.StatusConflict || typ != "conflict_error" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("in progress elsewhere: %d %s (retry-after %q)", resp.StatusCode, b, resp.Header.Get("Retry-After"))
	}
	close(release)
	firstAnswer := <-done
	resp, b = post(procs[1], other, ik)
	if resp.StatusCode != 200 || resp.Header.Get("Idempotent-Replayed") != "true" || string(b) != string(firstAnswer) {
		t.Errorf("after it finished: %d, idempotent-replayed %q, %s", resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), b)
	}
	if n := fake.Count(); n != 2 {
		t.Errorf("upstream called %d times, want 2", n)
	}
}
