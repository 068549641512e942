package relay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/metrics"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/sse"
	"github.com/ferrygw/ferry/internal/testkit"
)

// fakeProvider records calls and answers from a script.
type fakeProvider struct {
	mu      sync.Mutex
	calls   []*provider.Call
	nodes   []string          // nil: one node, "n0"
	formats []provider.Format // formats spoken besides Anthropic
	// answer gets the call and its index among the provider's calls.
	answer func(ctx context.Context, c *provider.Call, i int) (*provider.Response, error)
}

func (f *fakeProvider) Do(ctx context.Context, c *provider.Call) (*provider.Response, error) {
	f.mu.Lock()
	cc := *c
	f.calls = append(f.calls, &cc)
	i := len(f.calls) - 1
	f.mu.Unlock()
	return f.answer(ctx, &cc, i)
}

func (f *fakeProvider) Nodes() []string {
	if f.nodes == nil {
		return []string{"n0"}
	}
	return f.nodes
}

func (f *fakeProvider) Speaks(fm provider.Format) bool {
	for _, x := range f.formats {
		if x == fm {
			return true
		}
	}
	return false
}

// nodesCalled lists the nodes of the calls so far.
func (f *fakeProvider) nodesCalled() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]int, len(f.calls))
	for i, c := range f.calls {
		out[i] = c.Node
	}
	return out
}

func (f *fakeProvider) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

type answerFunc = func(ctx context.Context, c *provider.Call, i int) (*provider.Response, error)

func jsonAnswer(status int, body string, hdr ...string) answerFunc {
	return func(context.Context, *provider.Call, int) (*provider.Response, error) {
		h := http.Header{"Content-Type": {"application/json"}}
		for i := 0; i+1 < len(hdr); i += 2 {
			h.Set(hdr[i], hdr[i+1])
		}
		return &provider.Response{Status: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}, nil
	}
}

// script answers call i with answers[i], the last one ever after.
func script(answers ...answerFunc) answerFunc {
	return func(ctx context.Context, c *provider.Call, i int) (*provider.Response, error) {
		return answers[min(i, len(answers)-1)](ctx, c, i)
	}
}

// failure is a transport failure with reason.
func failure(reason string) answerFunc {
	return func(context.Context, *provider.Call, int) (*provider.Response, error) {
		return nil, &apierr.Error{Kind: apierr.BadGateway, Public: "upstream failed", Err: &provider.Failure{Reason: reason, Err: errors.New(reason)}}
	}
}

// byNode answers by the node called.
func byNode(answers ...answerFunc) answerFunc {
	return func(ctx context.Context, c *provider.Call, i int) (*provider.Response, error) {
		return answers[c.Node](ctx, c, i)
	}
}

const (
	message   = `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}`
	overload  = `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`
	badReq    = `{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}`
	serverErr = `{"type":"error","error":{"type":"api_error","message":"boom"}}`
)

// rig is a relay under test with its clock, recorded sleeps and metrics.
type rig struct {
	*Relay
	m      *metrics.Metrics
	clk    *testkit.Clock
	mu     sync.Mutex // guards sleeps
	sleeps []time.Duration
}

func (g *rig) clock() time.Time { return g.clk.Now() }

func (g *rig) advance(d time.Duration) { g.clk.Advance(d) }

// sleep records the wait and lets the clock pass it, without waiting.
func (g *rig) sleep(ctx context.Context, d time.Duration) error {
	g.mu.Lock()
	g.sleeps = append(g.sleeps, d)
	g.mu.Unlock()
	g.clk.Advance(d)
	return ctx.Err()
}

func (g *rig) waits() []time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]time.Duration(nil), g.sleeps...)
}

// provCfg is a provider's config with the defaults; mutate adjusts it.
func provCfg(name string, mutate ...func(*config.Provider)) config.Provider {
	c := config.Config{Providers: []config.Provider{{Name: name, Type: config.TypeSimulator}}}
	for _, m := range mutate {
		m(&c.Providers[0])
	}
	c.ApplyDefaults()
	return c.Providers[0]
}

func routeTo(match string, targets ...config.Target) config.Route {
	c := config.Config{Routes: []config.Route{{Match: match, Targets: targets}}}
	c.ApplyDefaults()
	return c.Routes[0]
}

func newRig(t *testing.T, routes []config.Route, provs []config.Provider, impl map[string]Provider, mutate ...func(*Options)) *rig {
	t.Helper()
	g := &rig{m: metrics.New(), clk: testkit.NewClockAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	o := Options{Routes: routes, Providers: provs, Impl: impl, Metrics: g.m, Now: g.clock, Sleep: g.sleep, Rand: func() float64 { return 0.5 }}
	for _, m := range mutate {
		m(&o)
	}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	g.Relay = r
	return g
}

// simple is a rig of one route "*" over the given providers in order,
// each with default settings unless provs says otherwise.
func simple(t *testing.T, impl map[string]Provider, order []string, provs ...config.Provider) *rig {
	t.Helper()
	have := map[string]bool{}
	for _, p := range provs {
		have[p.Name] = true
	}
	var targets []config.Target
	for _, n := range order {
		targets = append(targets, config.Target{Provider: n})
		if !have[n] {
			provs = append(provs, provCfg(n))
			have[n] = true
		}
	}
	return newRig(t, []config.Route{routeTo("*", targets...)}, provs, impl)
}

func request(t *testing.T, f provider.Format, body string) *Request {
	t.Helper()
	p, err := anthropic.Inspect([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return &Request{Op: provider.OpMessages, Format: f, Body: []byte(body), Peek: p, Header: http.Header{}}
}

func plain(t *testing.T) *Request {
	return request(t, provider.FormatAnthropic, `{"model":"claude-x","max_tokens":1}`)
}

func attemptList(res *Result) []string {
	if res == nil {
		return nil
	}
	out := make([]string, len(res.Attempts))
	for i, a := range res.Attempts {
		out[i] = a.String()
	}
	return out
}

func readAll(t *testing.T, res *Result) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	res.Close()
	return string(b)
}

func TestNewErrors(t *testing.T) {
	_, err := New(Options{Routes: []config.Route{routeTo("*", config.Target{Provider: "nope"})}})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("New with an undefined provider: %v", err)
	}
	_, err = New(Options{Routes: []config.Route{routeTo("*", config.Target{Provider: "a"})}, Providers: []config.Provider{provCfg("a")}})
	if err == nil || !strings.Contains(err.Error(), `"a" has no implementation`) {
		t.Errorf("New without an implementation: %v", err)
	}
}

func TestUnknownModel(t *testing.T) {
	g := newRig(t, []config.Route{routeTo("claude-*", config.Target{Provider: "a"})}, []config.Provider{provCfg("a")},
		map[string]Provider{"a": &fakeProvider{answer: jsonAnswer(200, message)}})
	_, err := g.Do(context.Background(), request(t, provider.FormatAnthropic, `{"model":"gpt-4o","max_tokens":1}`))
	var e *apierr.Error
	if !errors.As(err, &e) || e.Kind != apierr.NotFound || e.Public != "model: gpt-4o" {
		t.Errorf("err = %v", err)
	}
}

// TestFormats: an OpenAI client's call goes as is to a provider that
// speaks OpenAI, and translated to a provider that speaks only Anthropic,
// whose answer comes back in OpenAI's shape.
func TestFormats(t *testing.T) {
	native := &fakeProvider{formats: []provider.Format{provider.FormatOpenAI}, answer: jsonAnswer(200, `{"id":"chatcmpl-1","object":"chat.completion"}`)}
	anth := &fakeProvider{answer: jsonAnswer(200, message)}
	g := newRig(t, []config.Route{
		routeTo("gpt-*", config.Target{Provider: "native"}),
		routeTo("claude-*", config.Target{Provider: "anth", Model: "claude-upstream"}),
	}, []config.Provider{provCfg("native"), provCfg("anth")}, map[string]Provider{"native": native, "anth": anth})

	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	res, err := g.Do(context.Background(), request(t, provider.FormatOpenAI, body))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, res)
	if c := native.calls[0]; c.Format != provider.FormatOpenAI || string(c.Body) != body {
		t.Errorf("native call: format %d body %s", c.Format, c.Body)
	}

	res, err = g.Do(context.Background(), request(t, provider.FormatOpenAI, `{"model":"claude-x","max_tokens":50,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	out := readAll(t, res)
	c := anth.calls[0]
	if c.Format != provider.FormatAnthropic || !bytes.Contains(c.Body, []byte(`"model":"claude-upstream"`)) || !bytes.Contains(c.Body, []byte(`"system"`)) {
		t.Errorf("translated call: format %d body %s", c.Format, c.Body)
	}
	if !strings.Contains(out, `"object":"chat.completion"`) || !strings.Contains(out, `"content":"hi"`) {
		t.Errorf("answer not in OpenAI's shape: %s", out)
	}
	if res.Usage == nil || res.Usage.Input != 3 {
		t.Errorf("usage not kept across translation: %+v", res.Usage)
	}

	// An OpenAI request that cannot be translated is the client's error.
	_, err = g.Do(context.Background(), request(t, provider.FormatOpenAI, `{"model":"claude-x","n":3,"messages":[{"role":"user","content":"hi"}]}`))
	var e *apierr.Error
	if !errors.As(err, &e) || e.Kind != apierr.InvalidRequest {
		t.Errorf("untranslatable request: %v", err)
	}
}

// TestFallbackTranslates: a fallback to a provider of the other protocol
// translates the answer of the one that served.
func TestFallbackTranslates(t *testing.T) {
	a := &fakeProvider{formats: []provider.Format{provider.FormatOpenAI}, answer: jsonAnswer(529, overload)}
	b := &fakeProvider{answer: jsonAnswer(200, message)}
	g := simple(t, map[string]Provider{"a": a, "b": b}, []string{"a", "b"}, provCfg("a", func(p *config.Provider) { p.Retry.MaxAttempts = 1 }))
	res, err := g.Do(context.Background(), request(t, provider.FormatOpenAI, `{"model":"x","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if out := readAll(t, res); res.Provider != "b" || !strings.Contains(out, `"object":"chat.completion"`) {
		t.Errorf("served by %s: %s", res.Provider, out)
	}
	if a.calls[0].Format != provider.FormatOpenAI || b.calls[0].Format != provider.FormatAnthropic {
		t.Errorf("formats %d, %d", a.calls[0].Format, b.calls[0].Format)
	}
	if got := val(g.m.Fallbacks.WithLabelValues("*", "a", "b")); got != 1 {
		t.Errorf("fallbacks metric %g", got)
	}
}

func TestSplitFrame(t *testing.T) {
	for _, c := range []struct{ frame, name, data string }{
		{"event: completion\ndata: {\"a\":1}\n\n", "completion", `{"a":1}`},
		{"data: [DONE]\n\n", "", "[DONE]"},
		{"event: x", "", ""},
	} {
		n, d := splitFrame([]byte(c.frame))
		if string(n) != c.name || string(d) != c.data {
			t.Errorf("splitFrame(%q) = %q, %q", c.frame, n, d)
		}
	}
}

func TestAttemptString(t *testing.T) {
	got := []string{
		Attempt{Provider: "p", Node: "10.0.0.1:443", Status: 529, Backoff: 87 * time.Millisecond}.String(),
		Attempt{Provider: "p", Node: "h", Reason: provider.ReasonConnectRefused}.String(),
		Attempt{Provider: "p", Reason: ReasonNoNode}.String(),
	}
	want := []string{"p@10.0.0.1:443:529 backoff=87ms", "p@h:connect_refused", "p@-:no_available_node"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{}, 0},
		{http.Header{"Retry-After": {"2"}}, 2 * time.Second},
		{http.Header{"Retry-After-Ms": {"150"}, "Retry-After": {"2"}}, 150 * time.Millisecond},
		{http.Header{"Retry-After-Ms": {"12.5"}}, 12500 * time.Microsecond},
		{http.Header{"Retry-After-Ms": {"junk"}, "Retry-After": {"1"}}, time.Second},
		{http.Header{"Retry-After": {now.Add(3 * time.Second).Format(http.TimeFormat)}}, 3 * time.Second},
		{http.Header{"Retry-After": {now.Add(-3 * time.Second).Format(http.TimeFormat)}}, 0},
		{http.Header{"Retry-After": {"-1"}}, 0},
		{http.Header{"Retry-After": {"soon"}}, 0},
	} {
		if got := parseRetryAfter(c.h, now); got != c.want {
			t.Errorf("%v: %v, want %v", c.h, got, c.want)
		}
	}
}

// events is an sse.Source over fixed events, then err (io.EOF for a
// clean end).
type events struct {
	evs    []sse.Event
	err    error
	closed bool
}

func (e *events) Next() (sse.Event, error) {
	if len(e.evs) == 0 {
		return sse.Event{}, e.err
	}
	ev := e.evs[0]
	e.evs = e.evs[1:]
	return ev, nil
}

func (e *events) Close() error { e.closed = true; return nil }

func streamAnswer(src func() *events) answerFunc {
	return func(context.Context, *provider.Call, int) (*provider.Response, error) {
		return &provider.Response{Status: 200, Header: http.Header{}, Events: provider.Plain(src())}, nil
	}
}

func ev(name string) sse.Event { return sse.Event{Name: []byte(name), Data: []byte(`{}`)} }

// val reads a counter's or gauge's value.
func val(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}
