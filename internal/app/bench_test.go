package app

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
)

// The gateway's own cost is measured as a difference: the same client and
// the same fake upstream, once directly and once through the gateway. The
// client and the fake run in this process too, so the "direct" benchmark
// is the baseline to subtract from "via gateway". CPU time comes from
// getrusage, so it counts every thread, not just wall time.

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// quietGateway is newGateway for benchmarks: logs at info level into a
// discarded sink, as a production access log would cost.
func quietGateway(b *testing.B, fake *fakeupstream.Server) (string, func()) {
	return quietGatewayWith(b, fake, nil)
}

// quietGatewayWith is quietGateway with a change to its config (nil: none).
func quietGatewayWith(b *testing.B, fake *fakeupstream.Server, mutate func(*config.Config)) (string, func()) {
	cfg := &config.Config{
		Listen:    "127.0.0.1:0",
		Admin:     config.Admin{Listen: "off"},
		Keys:      []config.Key{{Name: "team-a", Key: clientKey}},
		Providers: []config.Provider{{Name: "up", Type: config.TypeAnthropic, BaseURLs: []string{fake.URL}, APIKey: providerKey}},
		Routes:    []config.Route{{Match: "*", Targets: []config.Target{{Provider: "up", Model: "claude-sonnet-4-20250514"}}}},
	}
	if mutate != nil {
		mutate(cfg)
	}
	cfg.ApplyDefaults()
	a, err := New(cfg, Options{Logger: NewLogger(config.Log{Level: "info"}, io.Discard)})
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	ctx, cancel := contextWithCancel()
	go func() { a.Run(ctx); close(done) }()
	return "http://" + a.Addr(), func() { cancel(); <-done; a.Close() }
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
}

func post(b *testing.B, hc *http.Client, url string, body []byte) []byte {
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/messages", bytes.NewReader(body))
	req.Header = http.Header{
		"Content-Type":      {"application/json"},
		"X-Api-Key":         {clientKey},
		"Anthropic-Version": {"2023-06-01"},
	}
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	return out
}

// requestBody is a 2 KB request, the size of a typical SDK call.
var requestBody = []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"You are a helpful assistant that answers briefly.","messages":[{"role":"user","content":"` + strings.Repeat("Tell me about the weather in San Francisco today. ", 36) + `"}]}`)

func BenchmarkPassthroughJSON(b *testing.B) {
	fake := fakeupstream.New()
	defer fake.Close()
	fake.SetDefault(fakeupstream.Reply{Fixture: fakeupstream.MustLoad(b, fixtures+"message_tool_use.txtar")})
	gw, stop := quietGateway(b, fake)
	defer stop()
	compareDirect(b, fake.URL, gw, requestBody, 1, "", nil)
}

// longStream builds an Anthropic stream with n text deltas, in the API's
// format.
func longStream(n int) *fakeupstream.Fixture {
	var buf bytes.Buffer
	buf.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-20250514\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n")
	buf.WriteString("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&buf, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"token %d \"}}\n\n", i)
	}
	buf.WriteString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	fmt.Fprintf(&buf, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":%d}}\n\n", n)
	buf.WriteString("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	return &fakeupstream.Fixture{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream; charset=utf-8"}}, Body: buf.Bytes()}
}

// BenchmarkPassthroughStream reports the gateway's cost per event for a
// stream whose events arrive in separate writes (the fake flushes every
// event), so each event is a read, a write and a flush in the gateway.
func BenchmarkPassthroughStream(b *testing.B) {
	f := longStream(1000)
	benchStream(b, f, quietGateway, "event", func(b *testing.B, out []byte) {
		if !bytes.Equal(out, f.Body) {
			b.Fatal("stream differs")
		}
	})
}

// benchStream serves f from a fake that flushes every frame separately and
// compares a streaming request direct and through the gateway start builds.
func benchStream(b *testing.B, f *fakeupstream.Fixture, start func(*testing.B, *fakeupstream.Server) (string, func()), unit string, check func(*testing.B, []byte)) {
	splits := frameEnds(f.Body)
	fake := fakeupstream.New()
	defer fake.Close()
	fake.SetDefault(fakeupstream.Reply{Fixture: f, Splits: splits, Pause: -1})
	gw, stop := start(b, fake)
	defer stop()
	body := bytes.Replace(requestBody, []byte(`"max_tokens":1024,`), []byte(`"max_tokens":1024,"stream":true,`), 1)
	compareDirect(b, fake.URL, gw, body, len(splits), unit, check)
}

// BenchmarkFirstByte reports the time from sending a streaming request to
// reading the first event, direct and through the gateway.
func BenchmarkFirstByte(b *testing.B) {
	fake := fakeupstream.New()
	defer fake.Close()
	fake.SetDefault(fakeupstream.Reply{Fixture: fakeupstream.MustLoad(b, fixtures+"stream_text.txtar")})
	gw, stop := quietGateway(b, fake)
	defer stop()
	body := bytes.Replace(requestBody, []byte(`"max_tokens":1024,`), []byte(`"max_tokens":1024,"stream":true,`), 1)
	for _, target := range []struct{ name, url string }{{"direct", fake.URL}, {"via_gateway", gw}} {
		b.Run(target.name, func(b *testing.B) {
			hc := benchClient()
			defer hc.CloseIdleConnections()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				req, _ := http.NewRequest(http.MethodPost, target.url+"/v1/messages", bytes.NewReader(body))
				req.Header = http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {clientKey}}
				start := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				br := bufio.NewReader(resp.Body)
				if _, err := br.ReadByte(); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				io.Copy(io.Discard, br)
				resp.Body.Close()
			}
			b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs-to-first-byte")
		})
	}
}

// TestIdleStreamMemory holds 1,000 streams open and idle, directly and
// through the gateway, and reports the gateway's memory per stream (heap
// and goroutine stacks in use). It runs only when FERRY_MEMTEST=1: it is a
// measurement, not a check to run on every build.
func TestIdleStreamMemory(t *testing.T) {
	if !envBool("FERRY_MEMTEST") {
		t.Skip("set FERRY_MEMTEST=1 to measure")
	}
	const streams = 1000
	f := fakeupstream.MustLoad(t, fixtures+"stream_text.txtar")
	first := bytes.Index(f.Body, []byte("\n\n")) + 2
	release := make(chan struct{})
	fake := fakeupstream.New()
	defer fake.Close()
	fake.SetDefault(fakeupstream.Reply{Fixture: f, Splits: []int{first}, Hold: func(*http.Request) { <-release }})
	gw, stop := quietGateway(&testing.B{}, fake)
	defer stop()
	body := []byte(streamBody)
	measure := func(url string) float64 {
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: streams, MaxConnsPerHost: 0}}
		defer hc.CloseIdleConnections()
		before := inUse()
		var wg sync.WaitGroup
		resps := make([]*http.Response, streams)
		for i := 0; i < streams; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, url+"/v1/messages", bytes.NewReader(body))
				req.Header = http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {clientKey}}
				resp, err := hc.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				br := bufio.NewReader(resp.Body)
				br.ReadString('\n')
				resps[i] = resp
			}(i)
		}
		wg.Wait()
		time.Sleep(200 * time.Millisecond)
		after := inUse()
		for _, r := range resps {
			if r != nil {
				r.Body.Close()
			}
		}
		return float64(after-before) / streams
	}
	direct := measure(fake.URL)
	via := measure(gw)
	close(release)
	t.Logf("idle stream memory: direct %.1f KiB/stream, via gateway %.1f KiB/stream, gateway's share %.1f KiB/stream",
		direct/1024, via/1024, (via-direct)/1024)
	if (via-direct)/1024 > 64 {
		t.Errorf("gateway holds %.1f KiB per idle stream, over the 64 KiB target", (via-direct)/1024)
	}
}

func inUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// cannedTransport answers every upstream request with a fixture, without a
// network: it isolates the gateway's own code from net/http's.
type cannedTransport struct{ f *fakeupstream.Fixture }

func (c cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return &http.Response{StatusCode: c.f.Status, Header: c.f.Header, Body: io.NopCloser(bytes.NewReader(c.f.Body)), ContentLength: int64(len(c.f.Body)), Request: r}, nil
}

// discardWriter is a minimal http.ResponseWriter.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) WriteHeader(c int)   { d.code = c }
func (d *discardWriter) Write(b []byte) (int, error) {
	d.n += len(b)
	return len(b), nil
}
func (d *discardWriter) Flush() {}

// The deadlines of a real connection (without them, each call costs
// ResponseController's "not supported" error, which a real one never does).
func (d *discardWriter) SetReadDeadline(time.Time) error  { return nil }
func (d *discardWriter) SetWriteDeadline(time.Time) error { return nil }

func handlerOnly(b *testing.B, f *fakeupstream.Fixture, up config.Provider) http.Handler {
	up.Name = "up"
	cfg := &config.Config{
		Listen:    "127.0.0.1:0",
		Admin:     config.Admin{Listen: "off"},
		Keys:      []config.Key{{Name: "team-a", Key: clientKey}},
		Providers: []config.Provider{up},
		Routes:    []config.Route{{Match: "*", Targets: []config.Target{{Provider: "up", Model: "claude-sonnet-4-20250514"}}}},
	}
	cfg.ApplyDefaults()
	a, err := New(cfg, Options{Logger: NewLogger(config.Log{Level: "info"}, io.Discard), transport: cannedTransport{f}})
	if err != nil {
		b.Fatal(err)
	}
	return a.Handler()
}

// BenchmarkGatewayCodeJSON runs one non-streaming request through the
// gateway's handler (auth, inspection, routing, model patch, upstream
// request building, usage sniffing, access log, metrics) with the network
// replaced by a canned answer: the gateway's own CPU and allocations.
func BenchmarkGatewayCodeJSON(b *testing.B) {
	benchHandler(b, handlerOnly(b, fakeupstream.MustLoad(b, fixtures+"message_tool_use.txtar"),
		config.Provider{Type: config.TypeAnthropic, BaseURLs: []string{"http://127.0.0.1:1"}, APIKey: providerKey}))
}

// BenchmarkGatewayCodeTranslated is BenchmarkGatewayCodeJSON on a route to
// an OpenAI-compatible upstream: the 2 KB request translated, the recorded
// Zhipu answer translated back.
func BenchmarkGatewayCodeTranslated(b *testing.B) {
	benchHandler(b, handlerOnly(b, fakeupstream.MustLoad(b, openaiFixtures+"zhipu_message.txtar"),
		config.Provider{Type: config.TypeOpenAI, Profile: "zhipu", BaseURLs: []string{"http://127.0.0.1:1"}, APIKey: providerKey}))
}

func benchHandler(b *testing.B, h http.Handler) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodPost, "/v1/messages", bytes.NewReader(requestBody))
		req.Header = http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {clientKey}, "Anthropic-Version": {"2023-06-01"}}
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, req)
		if w.code != 200 {
			b.Fatal(w.code)
		}
	}
}

// translatingGateway runs a gateway whose only route goes to an
// OpenAI-compatible upstream (zhipu profile) at fake.
func translatingGateway(b *testing.B, fake *fakeupstream.Server) (string, func()) {
	cfg := &config.Config{
		Listen:    "127.0.0.1:0",
		Admin:     config.Admin{Listen: "off"},
		Keys:      []config.Key{{Name: "team-a", Key: clientKey}},
		Providers: []config.Provider{{Name: "glm", Type: config.TypeOpenAI, Profile: "zhipu", BaseURLs: []string{fake.URL}, APIKey: providerKey}},
		Routes:    []config.Route{{Match: "*", Targets: []config.Target{{Provider: "glm", Model: "glm-4.7-flash"}}}},
	}
	cfg.ApplyDefaults()
	a, err := New(cfg, Options{Logger: NewLogger(config.Log{Level: "info"}, io.Discard)})
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	ctx, cancel := contextWithCancel()
	go func() { a.Run(ctx); close(done) }()
	return "http://" + a.Addr(), func() { cancel(); <-done; a.Close() }
}

// BenchmarkTranslatedJSON: a 2 KB Anthropic request translated for an
// OpenAI-compatible upstream and its 1.4 KB answer (Zhipu's recorded
// format) translated back, through the full HTTP path; "direct" is the
// same client and fake without the gateway.
func BenchmarkTranslatedJSON(b *testing.B) {
	fake := fakeupstream.New()
	defer fake.Close()
	fake.SetDefault(fakeupstream.Reply{Fixture: fakeupstream.MustLoad(b, openaiFixtures+"zhipu_message.txtar")})
	gw, stop := translatingGateway(b, fake)
	defer stop()
	compareDirect(b, fake.URL, gw, requestBody, 1, "", nil)
}

// openaiStream builds an OpenAI-format stream of n content chunks, usage
// in a separate last chunk, then [DONE].
func openaiStream(n int) *fakeupstream.Fixture {
	var buf bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&buf, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1773349387,\"model\":\"glm-4.7-flash\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"token %d \"},\"finish_reason\":null}]}\n\n", i)
	}
	buf.WriteString("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1773349387,\"model\":\"glm-4.7-flash\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
	fmt.Fprintf(&buf, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1773349387,\"model\":\"glm-4.7-flash\",\"choices\":[],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n", n, n+120)
	buf.WriteString("data: [DONE]\n\n")
	return &fakeupstream.Fixture{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: buf.Bytes()}
}

// BenchmarkTranslatedStream: the gateway's cost per upstream chunk of an
// OpenAI-format stream translated into Anthropic events.
func BenchmarkTranslatedStream(b *testing.B) {
	benchStream(b, openaiStream(1000), translatingGateway, "chunk", nil)
}

// compareDirect runs a sub-benchmark against the fake directly and one
// through the gateway, each posting body; it reports CPU time per unit
// (per request when units is 1, per event or chunk otherwise). check, when
// set, vets the first answer.
func compareDirect(b *testing.B, direct, gateway string, body []byte, units int, unit string, check func(b *testing.B, out []byte)) {
	for _, target := range []struct{ name, url string }{{"direct", direct}, {"via_gateway", gateway}} {
		b.Run(target.name, func(b *testing.B) {
			hc := benchClient()
			defer hc.CloseIdleConnections()
			if out := post(b, hc, target.url, body); check != nil {
				check(b, out)
			}
			b.ReportAllocs()
			b.ResetTimer()
			c0 := cpuTime()
			for i := 0; i < b.N; i++ {
				post(b, hc, target.url, body)
			}
			n := float64(b.N) * float64(units)
			if units == 1 {
				b.ReportMetric(float64(cpuTime()-c0)/n/1e3, "cpu-µs/op")
				return
			}
			b.ReportMetric(float64(cpuTime()-c0)/n, "cpu-ns/"+unit)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/"+unit)
		})
	}
}

// frameEnds returns the offsets just past each "\n\n" in body.
func frameEnds(body []byte) []int {
	var ends []int
	for i := 0; ; {
		j := bytes.Index(body[i:], []byte("\n\n"))
		if j < 0 {
			return ends
		}
		i += j + 2
		ends = append(ends, i)
	}
}
