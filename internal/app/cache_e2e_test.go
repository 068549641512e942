package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
)

// The response cache, coalescing and duplicate suppression through the
// whole gateway, with anthropic-sdk-go as the client.

// cachedRoute turns the cache on for the claude-sonnet-4-5 route only.
func cachedRoute(c *config.Config) { c.Routes[0].Cache.TTL = time.Minute }

var cacheParams = anthropic.MessageNewParams{
	Model:     "claude-sonnet-4-5",
	MaxTokens: 1024,
	Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Florence?"))},
}

// answerBoth makes the fake answer JSON requests with message_tool_use and
// streaming ones with stream_thinking_tool, for as many calls as come.
func answerBoth(t *testing.T, g *gateway) (whole, stream *fakeupstream.Fixture) {
	whole = fakeupstream.MustLoad(t, fixtures+"message_tool_use.txtar")
	stream = fakeupstream.MustLoad(t, fixtures+"stream_thinking_tool.txtar")
	g.Fake.SetDefault(fakeupstream.Reply{Fixture: whole, Stream: stream})
	return whole, stream
}

// counterValue reads a counter.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

func cacheMetric(g *gateway, result string) float64 {
	return counterValue(g.App.metrics.CacheRequests.WithLabelValues(result))
}

// accumulate runs a streaming call through the SDK's accumulator.
func accumulate(t *testing.T, c anthropic.Client, params anthropic.MessageNewParams, opts ...option.RequestOption) anthropic.Message {
	t.Helper()
	stream := c.Messages.NewStreaming(context.Background(), params, opts...)
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	return acc
}

// TestCacheSDKMissThenHit: a JSON answer is stored, then replayed to JSON
// and streaming clients alike; the stream rebuilds exactly the message.
func TestCacheSDKMissThenHit(t *testing.T) {
	g := newGateway(t, cachedRoute)
	whole, _ := answerBoth(t, g)
	c := g.client()

	var r1, r2, r3 *http.Response
	m1, err := c.Messages.New(context.Background(), cacheParams, option.WithResponseInto(&r1))
	if err != nil {
		t.Fatal(err)
	}
	if got := r1.Header.Get("X-Ferry-Cache"); got != "miss" {
		t.Errorf("first call: x-ferry-cache %q, want miss", got)
	}
	m2, err := c.Messages.New(context.Background(), cacheParams, option.WithResponseInto(&r2))
	if err != nil {
		t.Fatal(err)
	}
	if got := r2.Header.Get("X-Ferry-Cache"); got != "hit" {
		t.Errorf("second call: x-ferry-cache %q, want hit", got)
	}
	if r2.Header.Get("Age") == "" || r2.Header.Get("Request-Id") == r1.Header.Get("Request-Id") {
		t.Errorf("hit headers: age %q, request-id %q (first %q)", r2.Header.Get("Age"), r2.Header.Get("Request-Id"), r1.Header.Get("Request-Id"))
	}
	if m2.RawJSON() != m1.RawJSON() || m1.RawJSON() != strings.TrimSpace(string(whole.Body)) {
		t.Errorf("hit differs from the upstream's answer:\n got %s\nwant %s", m2.RawJSON(), whole.Body)
	}

	acc := accumulate(t, c, cacheParams, option.WithResponseInto(&r3))
	if got := r3.Header.Get("X-Ferry-Cache"); got != "hit" || r3.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Errorf("streamed call: x-ferry-cache %q, content-type %q", got, r3.Header.Get("Content-Type"))
	}
	if !jsonEqual(t, []byte(acc.RawJSON()), []byte(m1.RawJSON())) {
		t.Errorf("the accumulated replay differs from the cached message:\n got %s\nwant %s", acc.RawJSON(), m1.RawJSON())
	}
	if n := g.Fake.Count(); n != 1 {
		t.Errorf("upstream called %d times, want 1", n)
	}
	if hits, misses := cacheMetric(g, "hit"), cacheMetric(g, "miss"); hits != 2 || misses != 1 {
		t.Errorf("metrics: %v hits, %v misses", hits, misses)
	}
	// Hits used no upstream tokens: counted once, for the miss.
	if in := counterValue(g.App.metrics.Tokens.WithLabelValues("anthropic-hk", "claude-sonnet-4-5", "none", "input")); in != 402 {
		t.Errorf("input tokens counted %v, want 402 (the miss only)", in)
	}
	lines := logLines(t, g, "request")
	if len(lines) != 3 {
		t.Fatalf("%d access log lines", len(lines))
	}
	for i, l := range lines {
		cached := l["cached"] == true
		if cached != (i > 0) || (i > 0 && (l["cache"] != "hit" || l["input_tokens"] != 0.0 || l["output_tokens"] != 0.0)) {
			t.Errorf("log line %d: cache %v cached %v tokens %v/%v", i, l["cache"], l["cached"], l["input_tokens"], l["output_tokens"])
		}
	}
}

// logLines returns the gateway's log records with the given message.
func logLines(t *testing.T, g *gateway, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(g.Logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg && m["path"] == "/v1/messages" {
			out = append(out, m)
		}
	}
	return out
}

// TestCacheStreamMissThenHit: a streamed answer is rebuilt into its
// message and stored; a JSON client gets that message, a streaming client
// a stream the SDK accumulates into the same.
func TestCacheStreamMissThenHit(t *testing.T) {
	g := newGateway(t, cachedRoute)
	answerBoth(t, g)
	c := g.client()
	var r1, r2, r3 *http.Response
	first := accumulate(t, c, cacheParams, option.WithResponseInto(&r1))
	whole, err := c.Messages.New(context.Background(), cacheParams, option.WithResponseInto(&r2))
	if err != nil {
		t.Fatal(err)
	}
	again := accumulate(t, c, cacheParams, option.WithResponseInto(&r3))
	for i, r := range []*http.Response{r1, r2, r3} {
		want := "hit"
		if i == 0 {
			want = "miss"
		}
		if got := r.Header.Get("X-Ferry-Cache"); got != want {
			t.Errorf("call %d: x-ferry-cache %q, want %q", i, got, want)
		}
	}
	if !jsonEqual(t, []byte(whole.RawJSON()), []byte(first.RawJSON())) {
		t.Errorf("JSON hit differs from the streamed answer:\n got %s\nwant %s", whole.RawJSON(), first.RawJSON())
	}
	if !jsonEqual(t, []byte(again.RawJSON()), []byte(first.RawJSON())) {
		t.Errorf("streamed hit differs from the streamed answer:\n got %s\nwant %s", again.RawJSON(), first.RawJSON())
	}
	if whole.Content[0].Signature == "" || string(whole.Content[1].Input) != `{"location":"Florence, Italy"}` {
		t.Errorf("stored message lost content: %+v", whole.Content)
	}
	if n := g.Fake.Count(); n != 1 {
		t.Errorf("upstream called %d times, want 1", n)
	}
}

// TestCacheWhatIsNotCached: other routes, other keys, no-cache, errors and
// count_tokens go upstream.
func TestCacheWhatIsNotCached(t *testing.T) {
	const keyB = "sk-ferry-client-team-b-0000000000"
	g := newGateway(t, cachedRoute, func(c *config.Config) {
		c.Keys = append(c.Keys, config.Key{Name: "team-b", Key: keyB})
	})
	whole, _ := answerBoth(t, g)
	body := `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`
	post := func(hdr map[string]string) (string, int) {
		resp, _ := g.rawPost(t, "/v1/messages", body, hdr)
		return resp.Header.Get("X-Ferry-Cache"), resp.StatusCode
	}
	calls := func() int { return g.Fake.Count() }

	// An upstream error is not stored.
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: fakeupstream.MustLoad(t, fixtures+"error_429.txtar")})
	if got, code := post(nil); got != "miss" || code != 429 {
		t.Fatalf("error answer: %q %d", got, code)
	}
	if got, _ := post(nil); got != "miss" || calls() != 2 {
		t.Fatalf("after an error: %q, %d calls", got, calls())
	}
	if got, _ := post(nil); got != "hit" || calls() != 2 {
		t.Fatalf("stored answer: %q, %d calls", got, calls())
	}
	// cache-control: no-cache skips the lookup but stores the new answer.
	fresh := &fakeupstream.Fixture{Status: 200, Header: whole.Header, Body: bytes.Replace(whole.Body, []byte("I'll get ..."), []byte("Fresh."), 1)}
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: fresh})
	if got, _ := post(map[string]string{"Cache-Control": "no-cache"}); got != "bypass" || calls() != 3 {
		t.Fatalf("no-cache: %q, %d calls", got, calls())
	}
	resp, b := g.rawPost(t, "/v1/messages", body, nil)
	if resp.Header.Get("X-Ferry-Cache") != "hit" || !bytes.Contains(b, []byte("Fresh.")) {
		t.Fatalf("after no-cache: %q %s", resp.Header.Get("X-Ferry-Cache"), b)
	}
	// no-store: the answer is not kept.
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: whole})
	post(map[string]string{"Cache-Control": "no-cache, no-store"})
	if _, b := g.rawPost(t, "/v1/messages", body, nil); !bytes.Contains(b, []byte("Fresh.")) {
		t.Errorf("no-store replaced the stored answer: %s", b)
	}
	// Another key is another scope.
	if got, _ := post(map[string]string{"X-Api-Key": keyB}); got != "miss" || calls() != 5 {
		t.Errorf("other key: %q, %d calls", got, calls())
	}
	// A route without a ttl: no cache, no header.
	other := strings.Replace(body, "claude-sonnet-4-5", "claude-3-7-sonnet", 1)
	for range 2 {
		resp, _ := g.rawPost(t, "/v1/messages", other, nil)
		if got := resp.Header.Get("X-Ferry-Cache"); got != "" {
			t.Errorf("uncached route: x-ferry-cache %q", got)
		}
	}
	if calls() != 7 {
		t.Errorf("uncached route: %d calls, want 7", calls())
	}
	// count_tokens always goes upstream.
	ct := fakeupstream.MustLoad(t, fixtures+"count_tokens.txtar")
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: ct}, fakeupstream.Reply{Fixture: ct})
	for range 2 {
		resp, _ := g.rawPost(t, "/v1/messages/count_tokens", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`, nil)
		if got := resp.Header.Get("X-Ferry-Cache"); got != "" || resp.StatusCode != 200 {
			t.Errorf("count_tokens: %d, x-ferry-cache %q", resp.StatusCode, got)
		}
	}
	if calls() != 9 {
		t.Errorf("count_tokens: %d calls, want 9", calls())
	}
}

// TestCacheDedupWindow: on a route that does not cache, a repeat within
// the window gets the first answer, not billed.
func TestCacheDedupWindow(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.Cache.DedupWindow = time.Minute })
	answerBoth(t, g)
	body := `{"model":"claude-3-7-sonnet","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	r1, b1 := g.rawPost(t, "/v1/messages", body, nil)
	r2, b2 := g.rawPost(t, "/v1/messages", body, nil)
	if r1.Header.Get("X-Ferry-Cache") != "miss" || r2.Header.Get("X-Ferry-Cache") != "dedup" {
		t.Fatalf("x-ferry-cache %q then %q", r1.Header.Get("X-Ferry-Cache"), r2.Header.Get("X-Ferry-Cache"))
	}
	if g.Fake.Count() != 1 {
		t.Errorf("%d upstream calls, want 1", g.Fake.Count())
	}
	// The replay is the same message, though not the same bytes (the
	// upstream pads its lines, pings, and sends usage twice).
	if !jsonEqual(t, sseMessage(t, b1), sseMessage(t, b2)) {
		t.Errorf("dedup answer differs")
	}
}

// sseMessage accumulates an Anthropic event stream with the SDK.
func sseMessage(t *testing.T, stream []byte) []byte {
	t.Helper()
	var acc anthropic.Message
	for _, frame := range strings.Split(strings.TrimSpace(string(stream)), "\n\n") {
		var data string
		for _, line := range strings.Split(frame, "\n") {
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				data = d
			}
		}
		var ev anthropic.MessageStreamEventUnion
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		if err := acc.Accumulate(ev); err != nil {
			t.Fatal(err)
		}
	}
	return []byte(acc.RawJSON())
}

// TestCacheIdempotencyKey: the same key and body gets the first answer
// (waiting for it while it runs), another body a 400.
func TestCacheIdempotencyKey(t *testing.T) {
	g := newGateway(t)
	whole, _ := answerBoth(t, g)
	body := `{"model":"claude-3-7-sonnet","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`
	key := map[string]string{"Idempotency-Key": "order-42"}

	// The first request is held upstream while a second arrives.
	release := make(chan struct{})
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: whole, Hold: func(*http.Request) { <-release }})
	var wg sync.WaitGroup
	resps := make([]*http.Response, 2)
	bodies := make([][]byte, 2)
	wg.Add(1)
	go func() { defer wg.Done(); resps[0], bodies[0] = g.rawPost(t, "/v1/messages", body, key) }()
	waitUntil(t, func() bool { return g.Fake.Count() == 1 })
	wg.Add(1)
	go func() { defer wg.Done(); resps[1], bodies[1] = g.rawPost(t, "/v1/messages", body, key) }()
	time.Sleep(20 * time.Millisecond) // the second is waiting (it cannot finish before the release)
	close(release)
	wg.Wait()
	if g.Fake.Count() != 1 || resps[1].StatusCode != 200 || !bytes.Equal(bodies[0], bodies[1]) {
		t.Fatalf("%d upstream calls; second: %d %s", g.Fake.Count(), resps[1].StatusCode, bodies[1])
	}
	if resps[0].Header.Get("Idempotent-Replayed") != "" || resps[1].Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("idempotent-replayed %q, %q", resps[0].Header.Get("Idempotent-Replayed"), resps[1].Header.Get("Idempotent-Replayed"))
	}
	// Later, and as a stream: the same message.
	resp, b := g.rawPost(t, "/v1/messages", strings.Replace(body, `"max_tokens":64,`, `"max_tokens":64,"stream":true,`, 1), key)
	if resp.Header.Get("Idempotent-Replayed") != "true" || !jsonEqual(t, sseMessage(t, b), bodies[0]) {
		t.Errorf("streamed replay: %q %s", resp.Header.Get("Idempotent-Replayed"), b)
	}
	// Another body under the same key.
	resp, b = g.rawPost(t, "/v1/messages", strings.Replace(body, "hi", "bye", 1), key)
	if typ, _ := decodeError(t, b); resp.StatusCode != 400 || typ != "invalid_request_error" {
		t.Errorf("other body: %d %s", resp.StatusCode, b)
	}
	if g.Fake.Count() != 1 {
		t.Errorf("%d upstream calls, want 1", g.Fake.Count())
	}
	if resp, _ := g.rawPost(t, "/v1/messages", body, map[string]string{"Idempotency-Key": strings.Repeat("x", 256)}); resp.StatusCode != 400 {
		t.Errorf("overlong key: %d", resp.StatusCode)
	}
}

// TestCacheCoalesce: identical concurrent requests share one upstream
// call, streams included: every client gets the whole stream from its
// first byte, even when the client that started the call leaves, and the
// answer is still stored.
func TestCacheCoalesce(t *testing.T) {
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "json", true: "stream"}[stream]
		t.Run(name, func(t *testing.T) {
			g := newGateway(t, cachedRoute, func(c *config.Config) { c.Cache.Coalesce = true })
			whole, sf := answerBoth(t, g)
			want := whole.Body
			body := `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`
			if stream {
				want = sf.Body
				body = strings.Replace(body, `"max_tokens":64,`, `"max_tokens":64,"stream":true,`, 1)
			}
			release := make(chan struct{})
			g.Fake.Enqueue(fakeupstream.Reply{Fixture: whole, Stream: sf, Splits: []int{40}, Hold: func(*http.Request) { <-release }})

			// The leader starts the call; it leaves before the answer.
			leaderCtx, leave := context.WithCancel(context.Background())
			leaderDone := make(chan struct{})
			go func() {
				defer close(leaderDone)
				req, _ := http.NewRequestWithContext(leaderCtx, http.MethodPost, g.URL+"/v1/messages", strings.NewReader(body))
				req.Header.Set("X-Api-Key", clientKey)
				if resp, err := g.HTTP.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
			waitUntil(t, func() bool { return g.Fake.Count() == 1 })
			const n = 6
			var wg sync.WaitGroup
			got := make([][]byte, n)
			headers := make([]string, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, b := g.rawPost(t, "/v1/messages", body, nil)
					got[i], headers[i] = b, resp.Header.Get("X-Ferry-Cache")
				}()
			}
			waitUntil(t, func() bool { return cacheMetric(g, "coalesced") == n })
			leave()
			<-leaderDone
			close(release)
			wg.Wait()
			if c := g.Fake.Count(); c != 1 {
				t.Fatalf("%d upstream calls, want 1", c)
			}
			for i := range n {
				if headers[i] != "coalesced" || !bytes.Equal(got[i], want) {
					t.Errorf("client %d: x-ferry-cache %q, %d bytes, want the whole answer (%d)", i, headers[i], len(got[i]), len(want))
				}
			}
			select {
			case <-g.Fake.Canceled():
				t.Errorf("the shared call was cancelled when its first client left")
			default:
			}
			// The answer was stored by a follower (the leader left).
			if resp, _ := g.rawPost(t, "/v1/messages", body, nil); resp.Header.Get("X-Ferry-Cache") != "hit" || g.Fake.Count() != 1 {
				t.Errorf("after the shared call: x-ferry-cache %q, %d upstream calls", resp.Header.Get("X-Ferry-Cache"), g.Fake.Count())
			}
			// Followers are not billed: tokens were counted once at most
			// (the leader left before the end, so possibly not at all).
			in := counterValue(g.App.metrics.Tokens.WithLabelValues("anthropic-hk", "claude-sonnet-4-5", "none", "input"))
			if in > 424 {
				t.Errorf("input tokens counted %v: followers were billed", in)
			}
		})
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// BenchmarkGatewayCodeCacheHit is BenchmarkGatewayCodeJSON answered from
// the cache (memory): auth, inspection, the key of the 2 KB body, the
// lookup, the answer written, access log and metrics. The stream variant
// replays the cached message as events.
func BenchmarkGatewayCodeCacheHit(b *testing.B) {
	f := fakeupstream.MustLoad(b, fixtures+"message_tool_use.txtar")
	cfg := &config.Config{
		Listen:    "127.0.0.1:0",
		Admin:     config.Admin{Listen: "off"},
		Keys:      []config.Key{{Name: "team-a", Key: clientKey}},
		Providers: []config.Provider{{Name: "up", Type: config.TypeAnthropic, BaseURLs: []string{"http://127.0.0.1:1"}, APIKey: providerKey}},
		Routes:    []config.Route{{Match: "*", Targets: []config.Target{{Provider: "up"}}, Cache: config.RouteCache{TTL: time.Hour}}},
	}
	cfg.ApplyDefaults()
	a, err := New(cfg, Options{Logger: NewLogger(config.Log{Level: "info"}, io.Discard), transport: cannedTransport{f}})
	if err != nil {
		b.Fatal(err)
	}
	h := a.Handler()
	for _, stream := range []bool{false, true} {
		body := requestBody
		if stream {
			body = bytes.Replace(requestBody, []byte(`"max_tokens":1024,`), []byte(`"max_tokens":1024,"stream":true,`), 1)
		}
		serve := func() *discardWriter {
			req, _ := http.NewRequest(http.MethodPost, "/v1/messages", bytes.NewReader(body))
			req.Header = http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {clientKey}, "Anthropic-Version": {"2023-06-01"}}
			w := &discardWriter{h: http.Header{}}
			h.ServeHTTP(w, req)
			return w
		}
		serve() // the miss that stores the answer
		b.Run(map[bool]string{false: "json", true: "stream"}[stream], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if w := serve(); w.code != 200 || w.h.Get("X-Ferry-Cache") != "hit" {
					b.Fatal(w.code, w.h.Get("X-Ferry-Cache"))
				}
			}
		})
	}
}
