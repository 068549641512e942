package app

// Plumbing of the fault-injection suite (fault_test.go): a gateway with
// its admin listener, providers whose nodes are fakes, the metrics scraped
// from /metrics, timings and a per-test goroutine leak check.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
)

// Metric names the suite reads (internal/metrics).
const (
	mAttempts       = "ferry_upstream_attempts_total"      // provider, outcome
	mRetries        = "ferry_upstream_retries_total"       // provider, reason
	mFallbacks      = "ferry_route_fallbacks_total"        // route, from, to
	mUpstreamErrors = "ferry_upstream_errors_total"        // provider, kind
	mBreakerState   = "ferry_breaker_state"                // provider, node
	mBulkhead       = "ferry_bulkhead_rejected_total"      // provider
	mBudget         = "ferry_retry_budget_exhausted_total" // provider
	mStreamBreaks   = "ferry_stream_breaks_total"          // provider, reason
)

// Breaker states as ferry_breaker_state reports them.
const (
	stateClosed   = 0
	stateHalfOpen = 1
	stateOpen     = 2
)

// Timeouts. tFirstByte and tStreamIdle are set where they are what a test
// is about; elsewhere the providers get tRelaxed, so that a loaded VM
// (2 vCPUs, -race, other suites running) does not trip them on healthy
// nodes. tBound is the longest a request may take beyond the timeout a
// test exercises: generous for such a VM, far below a hang.
const (
	tConnect    = 500 * time.Millisecond
	tFirstByte  = 200 * time.Millisecond
	tStreamIdle = 300 * time.Millisecond
	tRelaxed    = 2 * time.Second
	tBaseDelay  = 10 * time.Millisecond
	tBound      = 2 * time.Second
)

// Fixtures every fault test uses.
type faultFixtures struct {
	msg, stream, e429, e529 *fakeupstream.Fixture
	oaiMsg, oaiStream       *fakeupstream.Fixture
}

func loadFaultFixtures(t *testing.T) faultFixtures {
	return faultFixtures{
		msg:       fakeupstream.MustLoad(t, fixtures+"message_tool_use.txtar"),
		stream:    fakeupstream.MustLoad(t, fixtures+"stream_text.txtar"),
		e429:      fakeupstream.MustLoad(t, fixtures+"error_429.txtar"),
		e529:      fakeupstream.MustLoad(t, fixtures+"error_529.txtar"),
		oaiMsg:    fakeupstream.MustLoad(t, openaiFixtures+"deepseek_message.txtar"),
		oaiStream: fakeupstream.MustLoad(t, openaiFixtures+"pair_tool_stream.txtar"),
	}
}

// ok is a healthy Anthropic-format node's reply; oaiOK an OpenAI-format one's.
func (f faultFixtures) ok() fakeupstream.Reply {
	return fakeupstream.Reply{Fixture: f.msg, Stream: f.stream}
}

func (f faultFixtures) oaiOK() fakeupstream.Reply {
	return fakeupstream.Reply{Fixture: f.oaiMsg, Stream: f.oaiStream}
}

const (
	wantMsgID   = "msg_01VLZuPg94y7NULJySZhEDJY"                 // message_tool_use
	wantText    = "Hello! Bonjour! こんにちは、你好 👋 — how can I help?" // stream_text
	wantOAIText = "Hello! How can I assist you today?"           // deepseek_message
)

// newFakes starts n fakes answering def, closed at the end of the test.
func newFakes(t *testing.T, n int, def fakeupstream.Reply) []*fakeupstream.Server {
	t.Helper()
	out := make([]*fakeupstream.Server, n)
	for i := range out {
		out[i] = fakeupstream.New()
		out[i].SetDefault(def)
		t.Cleanup(out[i].Close)
	}
	return out
}

func urlsOf(fs ...*fakeupstream.Server) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.URL
	}
	return out
}

// anthropicProvider is an Anthropic-format provider with the suite's
// relaxed timeouts and fast retries.
func anthropicProvider(name string, urls ...string) config.Provider {
	return config.Provider{
		Name: name, Type: config.TypeAnthropic, BaseURLs: urls, APIKey: providerKey,
		Timeouts: config.Timeouts{Connect: tConnect, ResponseHeader: tRelaxed, StreamIdle: tRelaxed},
		Retry:    config.Retry{MaxAttempts: 3, BaseDelay: tBaseDelay, MaxDelay: time.Second},
	}
}

// openaiProvider is the same for an OpenAI-compatible (DeepSeek) provider.
func openaiProvider(name string, urls ...string) config.Provider {
	p := anthropicProvider(name, urls...)
	p.Type, p.Profile, p.APIKey = config.TypeOpenAI, "deepseek", vendorKey
	return p
}

// route sends every claude-* model to the providers, in order.
func route(providers ...string) config.Route {
	r := config.Route{Match: "claude-*"}
	for _, p := range providers {
		r.Targets = append(r.Targets, config.Target{Provider: p})
	}
	return r
}

type faultGateway struct {
	t     *testing.T
	App   *App
	URL   string
	Admin string
	HTTP  *http.Client
	Logs  *syncBuffer
}

// startFaultGateway runs a gateway for providers and routes on loopback,
// with its admin listener (for /metrics). It also checks, once the test
// and its cleanups are over, that no goroutine it started is left.
func startFaultGateway(t *testing.T, providers []config.Provider, routes ...config.Route) *faultGateway {
	t.Helper()
	cfg := &config.Config{
		Listen:          "127.0.0.1:0",
		Admin:           config.Admin{Listen: "127.0.0.1:0"},
		Keys:            []config.Key{{Name: "team-a", Key: clientKey}},
		Providers:       providers,
		Routes:          routes,
		ShutdownTimeout: 2 * time.Second,
	}
	cfg.ApplyDefaults()
	logs := &syncBuffer{}
	a, err := New(cfg, Options{Logger: NewLogger(config.Log{Level: "debug"}, logs)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	t.Cleanup(func() {
		hc.CloseIdleConnections()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("the gateway did not shut down within 10s")
		}
		a.Close()
		assertLogsClean(t, logs.String())
	})
	return &faultGateway{t: t, App: a, URL: "http://" + a.Addr(), Admin: "http://" + a.AdminAddr(), HTTP: hc, Logs: logs}
}

// checkLeaks, called first in a test, fails it if goroutines started
// during the test outlive it (its cleanups, which stop the gateway and the
// fakes, run before this check).
func checkLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if err := goleak.Find(before); err != nil {
			t.Errorf("goroutines outlived the test: %v", err)
		}
	})
}

func (g *faultGateway) client(opts ...option.RequestOption) anthropic.Client {
	base := []option.RequestOption{
		option.WithBaseURL(g.URL),
		option.WithAPIKey(clientKey),
		option.WithHTTPClient(g.HTTP),
		option.WithMaxRetries(0),
	}
	return anthropic.NewClient(append(base, opts...)...)
}

// faultParams is the suite's request (NewStreaming adds "stream": true).
func faultParams() anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 64,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}
}

// outcome is what one client call saw.
type outcome struct {
	Err      error
	Text     string // the answer's text (non-streaming: the first text block)
	MsgID    string
	Events   int  // stream events received (pings excluded)
	Stopped  bool // the stream ended with message_stop
	Header   http.Header
	Elapsed  time.Duration
	Provider string
	Node     string
	Attempts int // x-ferry-attempts, -1 when absent
}

func (o outcome) String() string {
	return fmt.Sprintf("err=%v provider=%q node=%q attempts=%d elapsed=%v events=%d stopped=%v text=%q",
		o.Err, o.Provider, o.Node, o.Attempts, o.Elapsed.Round(time.Millisecond), o.Events, o.Stopped, o.Text)
}

func fill(o *outcome, resp *http.Response) {
	if resp == nil {
		o.Attempts = -1
		return
	}
	o.Header = resp.Header
	o.Provider = resp.Header.Get("X-Ferry-Provider")
	o.Node = resp.Header.Get("X-Ferry-Node")
	o.Attempts = -1
	if v := resp.Header.Get("X-Ferry-Attempts"); v != "" {
		o.Attempts, _ = strconv.Atoi(v)
	}
}

// call sends one request through the SDK and reports what came back.
func (g *faultGateway) call(c anthropic.Client, stream bool, opts ...option.RequestOption) outcome {
	var (
		o    outcome
		resp *http.Response
	)
	opts = append(opts, option.WithResponseInto(&resp))
	start := time.Now()
	ctx := context.Background()
	if !stream {
		msg, err := c.Messages.New(ctx, faultParams(), opts...)
		o.Err = err
		if err == nil {
			o.MsgID = msg.ID
			for _, b := range msg.Content {
				if b.Type == "text" {
					o.Text = b.Text
					break
				}
			}
		}
		var ae *anthropic.Error
		if resp == nil && errorsAs(err, &ae) {
			resp = ae.Response
		}
	} else {
		s := c.Messages.NewStreaming(ctx, faultParams(), opts...)
		var acc anthropic.Message
		for s.Next() {
			ev := s.Current()
			o.Events++
			o.Stopped = ev.Type == "message_stop"
			acc.Accumulate(ev)
		}
		o.Err = s.Err()
		s.Close()
		o.MsgID = acc.ID
		for _, b := range acc.Content {
			if b.Type == "text" {
				o.Text += b.Text
			}
		}
		var ae *anthropic.Error
		if resp == nil && errorsAs(o.Err, &ae) {
			resp = ae.Response
		}
	}
	o.Elapsed = time.Since(start)
	fill(&o, resp)
	return o
}

// metrics scrapes the admin /metrics endpoint.
func (g *faultGateway) metrics() metricSet {
	g.t.Helper()
	resp, err := g.HTTP.Get(g.Admin + "/metrics")
	if err != nil {
		g.t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		g.t.Fatalf("scrape: %d %s", resp.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		g.t.Fatalf("scrape: %v", err)
	}
	return metricSet(fams)
}

type metricSet map[string]*dto.MetricFamily

// sum adds up the series of name whose labels include every pair of kv
// (name, value, name, value...).
func (m metricSet) sum(name string, kv ...string) float64 {
	f := m[name]
	if f == nil {
		return 0
	}
	var total float64
	for _, s := range f.GetMetric() {
		if !hasLabels(s, kv) {
			continue
		}
		switch {
		case s.Counter != nil:
			total += s.Counter.GetValue()
		case s.Gauge != nil:
			total += s.Gauge.GetValue()
		case s.Untyped != nil:
			total += s.Untyped.GetValue()
		}
	}
	return total
}

func hasLabels(s *dto.Metric, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for _, l := range s.GetLabel() {
			if l.GetName() == kv[i] && l.GetValue() == kv[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// series lists the series of name with their values, for failure messages
// and logs.
func (m metricSet) series(name string) string {
	f := m[name]
	if f == nil {
		return name + ": (none)"
	}
	var lines []string
	for _, s := range f.GetMetric() {
		var ls []string
		for _, l := range s.GetLabel() {
			ls = append(ls, l.GetName()+"="+strconv.Quote(l.GetValue()))
		}
		v := s.GetCounter().GetValue() + s.GetGauge().GetValue() + s.GetUntyped().GetValue()
		lines = append(lines, fmt.Sprintf("%s{%s} %g", name, strings.Join(ls, ","), v))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// percentile of sorted durations, p in [0,1].
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted)-1) + 0.5)
	return sorted[i]
}

// waitFor polls cond every 10ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
