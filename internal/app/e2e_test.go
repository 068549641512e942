package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
)

const (
	clientKey   = "sk-ferry-client-0123456789abcdef"
	providerKey = "sk-ant-provider-fedcba9876543210"
	fixtures    = "../../testdata/anthropic/"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type gateway struct {
	URL  string
	Fake *fakeupstream.Server
	Logs *syncBuffer
	App  *App
	HTTP *http.Client

	stopOnce sync.Once
	stopRun  func() error // cancels Run and returns its error
	runErr   error
}

// stop ends Run (as SIGTERM does) and waits for it to return; once.
func (g *gateway) stop() error {
	g.stopOnce.Do(func() { g.runErr = g.stopRun() })
	return g.runErr
}

// newGateway runs a gateway on loopback in front of a fake Anthropic
// upstream, with one gateway key, a rewriting route, a plain route and a
// simulator route.
func newGateway(t *testing.T, mutate ...func(*config.Config)) *gateway {
	t.Helper()
	return newGatewayOpts(t, Options{}, mutate...)
}

// newGatewayOpts is newGateway with app options (its Logger is replaced).
func newGatewayOpts(t *testing.T, o Options, mutate ...func(*config.Config)) *gateway {
	t.Helper()
	fake := fakeupstream.New()
	t.Cleanup(fake.Close)
	cfg := &config.Config{
		Listen: "127.0.0.1:0",
		Admin:  config.Admin{Listen: "off"},
		Keys:   []config.Key{{Name: "team-a", Key: clientKey}},
		Providers: []config.Provider{
			{Name: "anthropic-hk", Type: config.TypeAnthropic, BaseURLs: []string{fake.URL}, APIKey: providerKey},
			{Name: "sim", Type: config.TypeSimulator},
		},
		Routes: []config.Route{
			{Match: "claude-sonnet-4-5", Targets: []config.Target{{Provider: "anthropic-hk", Model: "claude-sonnet-4-20250514"}}},
			{Match: "claude-*", Targets: []config.Target{{Provider: "anthropic-hk"}}},
			{Match: "sim-*", Models: []string{"sim-1"}, Targets: []config.Target{{Provider: "sim"}}},
		},
	}
	for _, m := range mutate {
		m(cfg)
	}
	cfg.ApplyDefaults()
	logs := &syncBuffer{}
	o.Logger = NewLogger(config.Log{Level: "debug"}, logs)
	a, err := New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	hc := &http.Client{Transport: &http.Transport{}}
	g := &gateway{URL: "http://" + a.Addr(), Fake: fake, Logs: logs, App: a, HTTP: hc,
		stopRun: func() error { cancel(); return <-done }}
	t.Cleanup(func() {
		hc.CloseIdleConnections()
		if err := g.stop(); err != nil {
			t.Errorf("run: %v", err)
		}
		a.Close()
		assertLogsClean(t, logs.String())
	})
	return g
}

func (g *gateway) client(opts ...option.RequestOption) anthropic.Client {
	base := []option.RequestOption{
		option.WithBaseURL(g.URL),
		option.WithAPIKey(clientKey),
		option.WithHTTPClient(g.HTTP),
		option.WithMaxRetries(0),
	}
	return anthropic.NewClient(append(base, opts...)...)
}

func (g *gateway) reply(t *testing.T, name string) *fakeupstream.Fixture {
	f := fakeupstream.MustLoad(t, fixtures+name+".txtar")
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: f})
	return f
}

// assertUpstreamRequest checks what every forwarded call must look like.
func assertUpstreamRequest(t *testing.T, got fakeupstream.Request, path, model string) map[string]any {
	t.Helper()
	if got.Path != path {
		t.Errorf("upstream path = %q, want %q", got.Path, path)
	}
	if k := got.Header.Get("X-Api-Key"); k != providerKey {
		t.Errorf("upstream x-api-key is not the provider's key (len %d)", len(k))
	}
	if a := got.Header.Get("Authorization"); a != "" {
		t.Errorf("client Authorization forwarded upstream")
	}
	for k, vs := range got.Header {
		for _, v := range vs {
			if strings.Contains(v, clientKey) {
				t.Errorf("client key forwarded upstream in %s", k)
			}
		}
	}
	if v := got.Header.Get("Anthropic-Version"); v != "2023-06-01" {
		t.Errorf("anthropic-version = %q", v)
	}
	var body map[string]any
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatalf("upstream body is not JSON: %v", err)
	}
	if body["model"] != model {
		t.Errorf("upstream model = %v, want %q", body["model"], model)
	}
	return body
}

func TestSDKPlainMessage(t *testing.T) {
	g := newGateway(t)
	f := g.reply(t, "message_tool_use")
	c := g.client(option.WithHeaderAdd("anthropic-beta", "interleaved-thinking-2025-05-14"), option.WithHeaderAdd("anthropic-beta", "context-management-2025-06-27"))
	msg, err := c.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 1024,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("What's the weather in San Francisco?"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if msg.ID != "msg_01VLZuPg94y7NULJySZhEDJY" || msg.StopReason != anthropic.StopReasonToolUse || msg.Usage.InputTokens != 402 || msg.Usage.OutputTokens != 89 {
		t.Errorf("decoded message: id %s stop %s usage %+v", msg.ID, msg.StopReason, msg.Usage)
	}
	if len(msg.Content) != 2 || msg.Content[1].Name != "get_weather" {
		t.Fatalf("content = %+v", msg.Content)
	}
	// The client got the upstream's bytes unmodified.
	if raw := msg.RawJSON(); raw != strings.TrimSpace(string(f.Body)) {
		t.Errorf("body changed in transit:\n got %s\nwant %s", raw, f.Body)
	}
	up := g.Fake.Last()
	body := assertUpstreamRequest(t, up, "/v1/messages", "claude-sonnet-4-20250514")
	if body["max_tokens"].(float64) != 1024 {
		t.Errorf("max_tokens = %v", body["max_tokens"])
	}
	if got, want := up.Header.Values("Anthropic-Beta"), []string{"interleaved-thinking-2025-05-14", "context-management-2025-06-27"}; !cmp.Equal(got, want) {
		t.Errorf("anthropic-beta upstream = %q, want %q", got, want)
	}
	if up.Query != "" {
		t.Errorf("query forwarded: %q", up.Query)
	}
	// The log line carries the usage read from the body.
	if !strings.Contains(g.Logs.String(), `"input_tokens":402`) || !strings.Contains(g.Logs.String(), `"output_tokens":89`) {
		t.Errorf("access log lacks usage: %s", g.Logs.String())
	}
}

func TestSDKSystemAndMultiTurnForwardedVerbatim(t *testing.T) {
	g := newGateway(t)
	g.reply(t, "message_tool_use")
	c := g.client()
	params := anthropic.MessageNewParams{
		Model:     "claude-3-7-sonnet-20250219", // matches claude-*: no rewrite
		MaxTokens: 512,
		System:    []anthropic.TextBlockParam{{Text: "You are terse. «Unicode» & <tags> stay as sent."}},
		Messages: []anthropic.MessageParam{
			anthropic.NewUserMessage(anthropic.NewTextBlock("Hi")),
			anthropic.NewAssistantMessage(anthropic.NewTextBlock("Hello.")),
			anthropic.NewUserMessage(anthropic.NewTextBlock("Weather?")),
		},
	}
	if _, err := c.Messages.New(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	up := g.Fake.Last()
	assertUpstreamRequest(t, up, "/v1/messages", "claude-3-7-sonnet-20250219")
	want, _ := json.Marshal(params)
	if !jsonEqual(t, up.Body, want) {
		t.Errorf("upstream body differs from what the SDK sent:\n got %s\nwant %s", up.Body, want)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return cmp.Equal(x, y)
}

func TestSDKStreamingAccumulator(t *testing.T) {
	for _, name := range []string{"stream_text", "stream_thinking_tool"} {
		t.Run(name, func(t *testing.T) {
			g := newGateway(t)
			g.reply(t, name)
			c := g.client()
			stream := c.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
				Model:     "claude-sonnet-4-5",
				MaxTokens: 2048,
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Florence?"))},
			})
			var msg anthropic.Message
			events := 0
			for stream.Next() {
				if err := msg.Accumulate(stream.Current()); err != nil {
					t.Fatal(err)
				}
				events++
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			switch name {
			case "stream_text":
				if len(msg.Content) != 1 || msg.Content[0].Text != "Hello! Bonjour! こんにちは、你好 👋 — how can I help?" {
					t.Errorf("content = %+v", msg.Content)
				}
				if msg.StopReason != anthropic.StopReasonEndTurn || msg.Usage.OutputTokens != 21 {
					t.Errorf("stop %s usage %+v", msg.StopReason, msg.Usage)
				}
			case "stream_thinking_tool":
				if len(msg.Content) != 2 || msg.Content[0].Type != "thinking" || msg.Content[1].Type != "tool_use" {
					t.Fatalf("content = %+v", msg.Content)
				}
				if !strings.HasPrefix(msg.Content[0].Signature, "EtYDCkYICxgCKkAV") {
					t.Errorf("signature lost: %q", msg.Content[0].Signature)
				}
				var in map[string]string
				if err := json.Unmarshal(msg.Content[1].Input, &in); err != nil || in["location"] != "Florence, Italy" {
					t.Errorf("tool input = %s (%v)", msg.Content[1].Input, err)
				}
			}
			body := assertUpstreamRequest(t, g.Fake.Last(), "/v1/messages", "claude-sonnet-4-20250514")
			if body["stream"] != true {
				t.Errorf("stream flag not forwarded")
			}
			if events < 8 {
				t.Errorf("only %d events", events)
			}
		})
	}
}

func TestSDKToolUseRoundTrip(t *testing.T) {
	g := newGateway(t)
	g.reply(t, "message_tool_use")
	g.reply(t, "message_tool_use")
	c := g.client()
	tools := []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
		Name:        "get_weather",
		Description: anthropic.String("Get the weather"),
		InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"}},
	}}}
	q := anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in SF?"))
	first, err := c.Messages.New(context.Background(), anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 512, Tools: tools, Messages: []anthropic.MessageParam{q}})
	if err != nil {
		t.Fatal(err)
	}
	toolID := first.Content[1].ID
	_, err = c.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 512, Tools: tools,
		Messages: []anthropic.MessageParam{q, first.ToParam(), anthropic.NewUserMessage(anthropic.NewToolResultBlock(toolID, "64°F and foggy", false))},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := assertUpstreamRequest(t, g.Fake.Last(), "/v1/messages", "claude-sonnet-4-20250514")
	msgs := body["messages"].([]any)
	if len(msgs) != 3 {
		t.Fatalf("messages upstream: %d", len(msgs))
	}
	res := msgs[2].(map[string]any)["content"].([]any)[0].(map[string]any)
	if res["type"] != "tool_result" || res["tool_use_id"] != "toolu_01TZR6ZrLHdpAWdmhVPuDfjQ" {
		t.Errorf("tool_result upstream = %v", res)
	}
	if len(body["tools"].([]any)) != 1 {
		t.Errorf("tools not forwarded")
	}
}

func TestSDKImageBlock(t *testing.T) {
	g := newGateway(t)
	g.reply(t, "message_tool_use")
	cl := g.client()
	png := "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
	_, err := cl.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewImageBlockBase64("image/png", png), anthropic.NewTextBlock("What is this?"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(g.Fake.Last().Body, []byte(png)) {
		t.Errorf("image data not forwarded")
	}
}

func TestSDKCountTokensAndModels(t *testing.T) {
	g := newGateway(t)
	g.reply(t, "count_tokens")
	c := g.client()
	n, err := c.Messages.CountTokens(context.Background(), anthropic.MessageCountTokensParams{
		Model:    "claude-sonnet-4-5",
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("count me"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n.InputTokens != 2095 {
		t.Errorf("input_tokens = %d", n.InputTokens)
	}
	assertUpstreamRequest(t, g.Fake.Last(), "/v1/messages/count_tokens", "claude-sonnet-4-20250514")

	page, err := c.Models.List(context.Background(), anthropic.ModelListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
		if m.Type != "model" || m.DisplayName == "" || m.CreatedAt.IsZero() {
			t.Errorf("model info %+v", m)
		}
	}
	if want := []string{"claude-sonnet-4-5", "sim-1"}; !cmp.Equal(ids, want) {
		t.Errorf("models = %v, want %v", ids, want)
	}
	m, err := c.Models.Get(context.Background(), "sim-1", anthropic.ModelGetParams{})
	if err != nil || m.ID != "sim-1" {
		t.Errorf("get model: %+v %v", m, err)
	}
	_, err = c.Models.Get(context.Background(), "nope", anthropic.ModelGetParams{})
	assertAPIError(t, err, 404, "not_found_error")
	// Paging.
	page, err = c.Models.List(context.Background(), anthropic.ModelListParams{Limit: anthropic.Int(1)})
	if err != nil || len(page.Data) != 1 || !page.HasMore || page.LastID != "claude-sonnet-4-5" {
		t.Errorf("page 1: %+v %v", page, err)
	}
}

func assertAPIError(t *testing.T, err error, status int, typ string) *anthropic.Error {
	t.Helper()
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v is not an API error", err)
	}
	if apiErr.StatusCode != status || string(apiErr.Type()) != typ {
		t.Errorf("got %d %s, want %d %s (%s)", apiErr.StatusCode, apiErr.Type(), status, typ, apiErr.RawJSON())
	}
	if apiErr.RequestID == "" {
		t.Errorf("no request-id on the error")
	}
	return apiErr
}

func TestSDKErrors(t *testing.T) {
	g := newGateway(t)
	cl := g.client()
	params := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 16, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}
	ctx := context.Background()

	t.Run("upstream 429 unmodified", func(t *testing.T) {
		f := g.reply(t, "error_429")
		_, err := cl.Messages.New(ctx, params)
		e := assertAPIError(t, err, 429, "rate_limit_error")
		if e.Response.Header.Get("Retry-After") != "7" || e.Response.Header.Get("X-Should-Retry") != "true" {
			t.Errorf("headers: %v", e.Response.Header)
		}
		if strings.TrimSpace(e.RawJSON()) != strings.TrimSpace(string(f.Body)) {
			t.Errorf("body changed: %s", e.RawJSON())
		}
		if e.Response.Header.Get("Set-Cookie") != "" || e.Response.Header.Get("Anthropic-Organization-Id") != "" {
			t.Errorf("upstream-private headers leaked")
		}
	})
	t.Run("upstream 529", func(t *testing.T) {
		// The gateway retries an overload (3 attempts by default): the
		// client gets the last 529 as is.
		n := len(g.Fake.Requests())
		for range 3 {
			g.reply(t, "error_529")
		}
		_, err := cl.Messages.New(ctx, params)
		assertAPIError(t, err, 529, "overloaded_error")
		if got := len(g.Fake.Requests()) - n; got != 3 {
			t.Errorf("upstream got %d requests, want 3 (the gateway's retries)", got)
		}
	})
	t.Run("upstream 400 context wording kept", func(t *testing.T) {
		g.reply(t, "error_400_context")
		_, err := cl.Messages.New(ctx, params)
		e := assertAPIError(t, err, 400, "invalid_request_error")
		if !strings.Contains(e.RawJSON(), "input length and `max_tokens` exceed context limit: 190000 + 64000 > 200000") {
			t.Errorf("wording changed: %s", e.RawJSON())
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		n := len(g.Fake.Requests())
		wc := g.client(option.WithAPIKey("sk-wrong"))
		_, err := wc.Messages.New(ctx, params)
		e := assertAPIError(t, err, 401, "authentication_error")
		if e.Response.Header.Get("X-Should-Retry") != "false" {
			t.Errorf("401 without x-should-retry: false")
		}
		if len(g.Fake.Requests()) != n {
			t.Errorf("unauthenticated request reached the upstream")
		}
	})
	t.Run("unknown model", func(t *testing.T) {
		p := params
		p.Model = "gpt-4o"
		_, err := cl.Messages.New(ctx, p)
		e := assertAPIError(t, err, 404, "not_found_error")
		if !strings.Contains(e.RawJSON(), "gpt-4o") {
			t.Errorf("404 does not name the model: %s", e.RawJSON())
		}
	})
}

func TestSimulatorThroughSDK(t *testing.T) {
	g := newGateway(t)
	c := g.client()
	stream := c.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
		Model: "sim-1", MaxTokens: 200,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("ping"))},
	})
	var msg anthropic.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || !strings.Contains(msg.Content[0].Text, `"ping"`) || msg.StopReason != anthropic.StopReasonEndTurn {
		t.Errorf("simulated message: %+v", msg)
	}
	_, err := c.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "sim-1", MaxTokens: 200,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("ping"))},
	}, option.WithHeader("X-Ferry-Simulate", "error=529"))
	assertAPIError(t, err, 529, "overloaded_error")
	if len(g.Fake.Requests()) != 0 {
		t.Errorf("simulator traffic reached the fake upstream")
	}
}

// rawPost sends a request without an SDK, for byte-level assertions.
func (g *gateway) rawPost(t *testing.T, path string, body string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", clientKey)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := g.HTTP.Do(req)
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
