package app

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
	"github.com/ferrygw/ferry/internal/guard"
)

// The guard's test values. newGateway's cleanup fails a test whose
// gateway logged any of them (or a key), in every test of the package.
const (
	testPhone  = "13812345678"
	testIDCard = "11010519491231002X"
	testCard   = "4111111111111111"
	testSecret = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghij"
)

// assertLogsClean fails t if a gateway's log output holds a key (the
// client's, the providers') or one of the guard's test values. Every
// gateway the package's tests start calls it once its test is over.
func assertLogsClean(t testing.TB, logs string) {
	t.Helper()
	for _, v := range []string{clientKey, providerKey, vendorKey, testPhone, testIDCard, testCard, testSecret} {
		if strings.Contains(logs, v) {
			t.Errorf("the logs hold a key or a detected value (%d bytes)", len(v))
		}
	}
}

// guardPII is the policy of most tests here.
func guardPII(c *config.Config) {
	c.Guard.PII = map[string]string{"phone": "pseudonymize", "id_card": "pseudonymize", "bank_card": "redact", "secret": "block"}
}

// wordFile writes a word list and configures the guard to use it.
func wordFile(t *testing.T, output string, words ...string) func(*config.Config) {
	p := filepath.Join(t.TempDir(), "words.txt")
	if err := os.WriteFile(p, []byte(strings.Join(words, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(c *config.Config) {
		c.Guard.Words = config.GuardWords{Files: []string{p}, Output: output}
	}
}

func jsonFixture(body string) *fakeupstream.Fixture {
	return &fakeupstream.Fixture{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

// sseFixture is an Anthropic stream whose text arrives in the deltas given.
func sseFixture(deltas ...string) *fakeupstream.Fixture {
	var b strings.Builder
	b.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-20250514\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":20,\"output_tokens\":1}}}\n\n")
	b.WriteString("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	for _, d := range deltas {
		b.WriteString("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"" + d + "\"}}\n\n")
	}
	b.WriteString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	b.WriteString("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n")
	b.WriteString("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	return &fakeupstream.Fixture{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: []byte(b.String())}
}

func messageFixture(text string) *fakeupstream.Fixture {
	return jsonFixture(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[{"type":"text","text":"` + text + `"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":15}}`)
}

func userMessage(text string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 256,
		System:   []anthropic.TextBlockParam{{Text: "The caller's ID is " + testIDCard + "."}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
	}
}

func assertHidden(t *testing.T, body []byte, values ...string) {
	t.Helper()
	for _, v := range values {
		if strings.Contains(string(body), v) {
			t.Errorf("the upstream saw %q: %s", v, body)
		}
	}
}

// TestGuardPseudonymizeSDK: a phone number and an ID in a request reach
// the upstream as placeholders; the answer, whole and streamed with a
// placeholder split across deltas, reaches the client with the originals.
func TestGuardPseudonymizeSDK(t *testing.T) {
	g := newGateway(t, guardPII)
	c := g.client()
	want := "I will call " + testPhone + " about " + testIDCard + "."

	g.Fake.Enqueue(fakeupstream.Reply{Fixture: messageFixture("I will call <PHONE_1> about <ID_CARD_1>.")})
	msg, err := c.Messages.New(context.Background(), userMessage("Call me at "+testPhone+" please"))
	if err != nil {
		t.Fatal(err)
	}
	up := g.Fake.Last().Body
	assertHidden(t, up, testPhone, testIDCard)
	if !strings.Contains(string(up), "<PHONE_1>") || !strings.Contains(string(up), "<ID_CARD_1>") {
		t.Errorf("no placeholders upstream: %s", up)
	}
	if got := msg.Content[0].Text; got != want {
		t.Errorf("whole answer %q, want %q", got, want)
	}

	g.Fake.Enqueue(fakeupstream.Reply{Fixture: sseFixture("I will call <PHO", "NE_1> about <ID_", "CARD_1", ">.")})
	acc := accumulate(t, c, userMessage("Call me at "+testPhone+" please"))
	assertHidden(t, g.Fake.Last().Body, testPhone, testIDCard)
	if got := acc.Content[0].Text; got != want || acc.StopReason != "end_turn" {
		t.Errorf("streamed answer %q (%s), want %q", got, acc.StopReason, want)
	}
	if n := guardMatches(t, g, "phone", "pseudonymize"); n != 2 {
		t.Errorf("ferry_guard_matches_total{phone,pseudonymize} = %v, want 2", n)
	}
}

// guardMatches reads ferry_guard_matches_total{category,action}.
func guardMatches(t *testing.T, g *gateway, category, action string) float64 {
	t.Helper()
	mfs, err := g.App.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "ferry_guard_matches_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var c, a string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "category":
					c = l.GetValue()
				case "action":
					a = l.GetValue()
				}
			}
			if c == category && a == action {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestGuardRedactAndBlock: a card number is redacted before it leaves;
// a key in a message is refused with a 400 naming the category, never the
// value, that the SDK is told not to retry.
func TestGuardRedactAndBlock(t *testing.T) {
	g := newGateway(t, guardPII)
	c := g.client()
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: messageFixture("Noted.")})
	if _, err := c.Messages.New(context.Background(), userMessage("My card is "+testCard+".")); err != nil {
		t.Fatal(err)
	}
	up := g.Fake.Last().Body
	assertHidden(t, up, testCard)
	if !strings.Contains(string(up), "My card is [REDACTED:BANK_CARD].") {
		t.Errorf("card not redacted: %s", up)
	}

	n := g.Fake.Count()
	resp, raw := g.rawPost(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"use key `+testSecret+`"}]}`, nil)
	typ, msg := decodeError(t, raw)
	if resp.StatusCode != 400 || typ != "invalid_request_error" || !strings.Contains(msg, "secret") || resp.Header.Get("X-Should-Retry") != "false" {
		t.Errorf("blocked request: %d %s, x-should-retry %q", resp.StatusCode, raw, resp.Header.Get("X-Should-Retry"))
	}
	if strings.Contains(string(raw), testSecret) || strings.Contains(string(raw), "sk-ant") {
		t.Errorf("the error echoes the value: %s", raw)
	}
	if g.Fake.Count() != n {
		t.Error("a blocked request reached the upstream")
	}
	if guardMatches(t, g, "secret", "block") != 1 || guardMatches(t, g, "bank_card", "redact") != 1 {
		t.Error("matches not counted")
	}
}

// TestGuardPassthroughExact: with a guard on and nothing to find, the
// request and the streamed answer pass byte for byte.
func TestGuardPassthroughExact(t *testing.T) {
	g := newGateway(t, guardPII)
	f := g.reply(t, "stream_text")
	body := `{"model":"claude-opus-4-1","max_tokens":64,"stream":true,"system":"Be brief.",  "messages":[{"role":"user","content":"order 20240101123456789, ts 1733456789123"}]}`
	resp, got := g.rawPost(t, "/v1/messages", body, nil)
	if resp.StatusCode != 200 || string(got) != string(f.Body) {
		t.Errorf("stream changed: %d\n%s", resp.StatusCode, got)
	}
	if up := g.Fake.Last().Body; string(up) != body {
		t.Errorf("request changed:\n%s\nwant\n%s", up, body)
	}
}

// TestGuardWords: a listed word in a request is refused (block) or
// masked; in an answer it is masked, or ends the answer with
// stop_reason "refusal" (whole and streamed, the word split across deltas).
func TestGuardWords(t *testing.T) {
	t.Run("input block, output mask", func(t *testing.T) {
		g := newGateway(t, wordFile(t, "mask", "forbidden"))
		c := g.client()
		_, err := c.Messages.New(context.Background(), userMessage("a FORBIDDEN thing"))
		assertAPIError(t, err, 400, "invalid_request_error")
		g.Fake.Enqueue(fakeupstream.Reply{Fixture: sseFixture("this is forb", "idden stuff")})
		acc := accumulate(t, c, userMessage("hello"))
		if got := acc.Content[0].Text; got != "this is ********* stuff" {
			t.Errorf("masked stream %q", got)
		}
		g.Fake.Enqueue(fakeupstream.Reply{Fixture: messageFixture("forbidden and Forbidden")})
		msg, err := c.Messages.New(context.Background(), userMessage("hello"))
		if err != nil || msg.Content[0].Text != "********* and *********" {
			t.Errorf("masked answer %v %v", msg, err)
		}
		if got := guardMatches(t, g, "words", "mask"); got != 3 {
			t.Errorf("ferry_guard_matches_total{words,mask} = %v, want 3 (1 streamed, 2 whole)", got)
		}
	})
	t.Run("input mask, output refuse", func(t *testing.T) {
		g := newGateway(t, wordFile(t, "refuse", "forbidden"), func(c *config.Config) { c.Guard.Words.Input = "mask" })
		c := g.client()
		g.Fake.Enqueue(fakeupstream.Reply{Fixture: messageFixture("fine, but forbidden here")})
		msg, err := c.Messages.New(context.Background(), userMessage("a forbidden thing"))
		if err != nil {
			t.Fatal(err)
		}
		if up := g.Fake.Last().Body; !strings.Contains(string(up), "a ********* thing") {
			t.Errorf("input not masked: %s", up)
		}
		if msg.StopReason != "refusal" || strings.Contains(msg.Content[0].Text, "forbidden") {
			t.Errorf("whole answer %q stop_reason %s", msg.Content[0].Text, msg.StopReason)
		}
		g.Fake.Enqueue(fakeupstream.Reply{Fixture: sseFixture("fine, but forb", "idden here", " and more")})
		acc := accumulate(t, c, userMessage("hello"))
		if acc.StopReason != "refusal" || strings.Contains(acc.Content[0].Text, "forb") {
			t.Errorf("streamed answer %q stop_reason %s", acc.Content[0].Text, acc.StopReason)
		}
		// The output read before the refusal is charged: 24 characters,
		// about 6 tokens, not the 1 of message_start nor the 0 of nothing.
		if acc.Usage.OutputTokens != 6 {
			t.Errorf("refusal usage: %d output tokens, want 6", acc.Usage.OutputTokens)
		}
		waitLog(t, g, `"output_tokens":6`)
		if guardMatches(t, g, "words", "refuse") != 2 || guardMatches(t, g, "words", "mask") != 1 {
			t.Error("word matches not counted")
		}
	})
}

// guardVendorGateway is newGateway with guardPII and an OpenAI-compatible
// upstream for glm-* models.
func guardVendorGateway(t *testing.T) (*gateway, *fakeupstream.Server) {
	t.Helper()
	vendor := fakeupstream.New()
	t.Cleanup(vendor.Close)
	g := newGateway(t, guardPII, func(c *config.Config) {
		c.Providers = append(c.Providers, config.Provider{Name: "glm", Type: config.TypeOpenAI, Profile: "zhipu", BaseURLs: []string{vendor.URL}, APIKey: vendorKey})
		c.Routes = append(c.Routes, config.Route{Match: "glm-*", Targets: []config.Target{{Provider: "glm"}}})
	})
	return g, vendor
}

// TestGuardOpenAIClients: an OpenAI client's request is guarded on an
// Anthropic route and on an OpenAI-compatible one (which it now reaches
// through the Anthropic path), and its answer is restored.
func TestGuardOpenAIClients(t *testing.T) {
	g, vendor := guardVendorGateway(t)
	oc := openai.NewClient(ooption.WithBaseURL(g.URL+"/v1"), ooption.WithAPIKey(clientKey), ooption.WithHTTPClient(g.HTTP), ooption.WithMaxRetries(0))
	ask := func(model string) openai.ChatCompletionNewParams {
		return openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Call me at " + testPhone)}}
	}
	want := "Calling " + testPhone + " now."

	g.Fake.Enqueue(fakeupstream.Reply{Fixture: messageFixture("Calling <PHONE_1> now.")})
	resp, err := oc.Chat.Completions.New(context.Background(), ask("claude-sonnet-4-5"))
	if err != nil {
		t.Fatal(err)
	}
	assertHidden(t, g.Fake.Last().Body, testPhone)
	if got := resp.Choices[0].Message.Content; got != want {
		t.Errorf("Anthropic route: %q", got)
	}

	vendor.Enqueue(fakeupstream.Reply{Fixture: jsonFixture(`{"id":"c1","object":"chat.completion","created":1,"model":"glm-4.7-flash","choices":[{"index":0,"message":{"role":"assistant","content":"Calling <PHONE_1> now."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":5,"total_tokens":14}}`)})
	resp, err = oc.Chat.Completions.New(context.Background(), ask("glm-4.7-flash"))
	if err != nil {
		t.Fatal(err)
	}
	up := vendor.Last().Body
	assertHidden(t, up, testPhone)
	if !strings.Contains(string(up), "<PHONE_1>") {
		t.Errorf("vendor request: %s", up)
	}
	if got := resp.Choices[0].Message.Content; got != want {
		t.Errorf("OpenAI-compatible route: %q", got)
	}

	// Streamed, on the Anthropic route, the placeholder split.
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: sseFixture("Calling <PHON", "E_1> now.")})
	p := ask("claude-sonnet-4-5")
	stream := oc.Chat.Completions.NewStreaming(context.Background(), p)
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != want {
		t.Errorf("streamed: %q", got)
	}

	// Blocked: OpenAI's error shape.
	_, err = oc.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "glm-4.7-flash", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("key " + testSecret)}})
	var oe *openai.Error
	if !errorsAs(err, &oe) || oe.StatusCode != 400 || oe.Type != "invalid_request_error" {
		t.Errorf("blocked OpenAI request: %v", err)
	}
}

// TestGuardLegacyComplete: the legacy API is guarded too.
func TestGuardLegacyComplete(t *testing.T) {
	g := newGateway(t, guardPII)
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: messageFixture("Calling <PHONE_1>.")})
	resp, body := g.rawPost(t, "/v1/complete", `{"model":"claude-sonnet-4-5","max_tokens_to_sample":64,"prompt":"\n\nHuman: call `+testPhone+`\n\nAssistant:"}`, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Calling "+testPhone+".") {
		t.Errorf("complete: %d %s", resp.StatusCode, body)
	}
	assertHidden(t, g.Fake.Last().Body, testPhone)
}

// TestGuardOverrides: a route's section and a key's override change the
// policy; requests under another policy are not guarded the same way.
func TestGuardOverrides(t *testing.T) {
	g := newGateway(t, func(c *config.Config) {
		c.Guard.PII = map[string]string{"phone": "redact"}
		c.Guard.Overrides = []config.GuardOverride{{Key: "team-a", PII: map[string]string{"email": "redact"}}}
		for i := range c.Routes {
			if c.Routes[i].Match == "claude-*" {
				c.Routes[i].Guard.PII = map[string]string{"phone": "off"}
			}
		}
	})
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: messageFixture("ok")}, fakeupstream.Reply{Fixture: messageFixture("ok")})
	g.rawPost(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[{"role":"user","content":"`+testPhone+` a@example.com"}]}`, nil)
	if up := string(g.Fake.Last().Body); !strings.Contains(up, "[REDACTED:PHONE] [REDACTED:EMAIL]") {
		t.Errorf("top level and key override: %s", up)
	}
	g.rawPost(t, "/v1/messages", `{"model":"claude-opus-4-1","max_tokens":8,"messages":[{"role":"user","content":"call 13912345678 b@example.com"}]}`, nil)
	if up := string(g.Fake.Last().Body); !strings.Contains(up, "call 13912345678 [REDACTED:EMAIL]") {
		t.Errorf("route override: %s", up)
	}
}

// TestGuardLogsRedacted: an upstream error that quotes a value never
// brings it into the access log.
func TestGuardLogsRedacted(t *testing.T) {
	g := newGateway(t)
	f := sseFixture("partial")
	f.Body = []byte(strings.Replace(string(f.Body), "event: content_block_stop", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"user "+testPhone+" overloaded us\"}}\n\nevent: content_block_stop", 1))
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: f})
	resp, _ := g.rawPost(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":8,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, nil)
	io.Copy(io.Discard, resp.Body)
	waitLog(t, g, `"stream_error"`)
	if strings.Contains(g.Logs.String(), testPhone) || !strings.Contains(g.Logs.String(), "[REDACTED:PHONE]") {
		t.Errorf("log: %s", g.Logs.String())
	}
}

// TestGuardSetReload: a word file's new content is in force on the next
// request once reloaded (what watch does every words.reload), without a
// restart; keys and tags no override names share the route's guard.
func TestGuardSetReload(t *testing.T) {
	cfg := &config.Config{Routes: []config.Route{{Match: "m"}}}
	wordFile(t, "mask", "alpha")(cfg)
	cfg.Guard.Overrides = []config.GuardOverride{{Tag: "vip", PII: map[string]string{"phone": "block"}}}
	cfg.RateLimits.TagHeader = "X-Tag"
	cfg.ApplyDefaults()
	gs, err := newGuardSet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g1, _ := gs.For("m", "anyone", http.Header{"X-Tag": {"other"}}, "")
	if _, _, err := g1.Request([]byte(`{"messages":[{"role":"user","content":"alpha"}]}`)); err == nil {
		t.Error("alpha not blocked")
	}
	if g2, _ := gs.For("m", "someone", nil, ""); g2 != g1 {
		t.Error("an unnamed key got a guard of its own")
	}
	if vip, _ := gs.For("m", "", http.Header{"X-Tag": {"vip"}}, ""); vip == g1 {
		t.Error("the tag override has no guard of its own")
	}
	if err := os.WriteFile(cfg.Guard.Words.Files[0], []byte("beta\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, wf := range gs.files {
		if _, err := wf.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	g3, _ := gs.For("m", "", nil, "")
	if _, _, err := g3.Request([]byte(`{"messages":[{"role":"user","content":"alpha"}]}`)); err != nil {
		t.Errorf("alpha still blocked after the reload: %v", err)
	}
	var be *guard.BlockedError
	if _, _, err := g3.Request([]byte(`{"messages":[{"role":"user","content":"beta"}]}`)); !errorsAs(err, &be) {
		t.Errorf("beta not blocked after the reload: %v", err)
	}
}

// TestGuardOffByDefault: without a guard section nothing is built.
func TestGuardOffByDefault(t *testing.T) {
	cfg := &config.Config{Routes: []config.Route{{Match: "m"}}}
	cfg.ApplyDefaults()
	if gs, err := newGuardSet(cfg); gs != nil || err != nil {
		t.Errorf("guard set %v, %v", gs, err)
	}
}

// TestGuardShadowRewritten: the shadow target gets the rewritten body,
// never the values the primary did not see either.
func TestGuardShadowRewritten(t *testing.T) {
	cand := fakeupstream.New()
	t.Cleanup(cand.Close)
	cand.SetDefault(fakeupstream.Reply{Fixture: messageFixture("shadow")})
	g := newGateway(t, guardPII, func(c *config.Config) {
		c.Providers = append(c.Providers, config.Provider{Name: "cand", Type: config.TypeAnthropic, BaseURLs: []string{cand.URL}, APIKey: providerKey})
		for i := range c.Routes {
			if c.Routes[i].Match == "claude-*" {
				c.Routes[i].Shadow = config.RouteShadow{Provider: "cand", Model: "claude-candidate-1", Sample: 1}
			}
		}
	})
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: messageFixture("ok <PHONE_1>")})
	resp, body := g.rawPost(t, "/v1/messages", `{"model":"claude-opus-4-1","max_tokens":8,"messages":[{"role":"user","content":"call `+testPhone+`"}]}`, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "ok "+testPhone) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if !waitFor(5*time.Second, func() bool { return cand.Count() == 1 }) {
		t.Fatal("no shadow call")
	}
	up := cand.Last().Body
	assertHidden(t, up, testPhone)
	if !strings.Contains(string(up), "call <PHONE_1>") {
		t.Errorf("shadow request: %s", up)
	}
}

// TestGuardCache: an answer the guard filters for its request (restored
// placeholders) is never shared through the cache: two callers with
// different numbers, the same body upstream, each get their own. Without
// an answer filter (redact only) the cache works as before.
func TestGuardCache(t *testing.T) {
	g := newGateway(t, guardPII, cachedRoute)
	g.Fake.SetDefault(fakeupstream.Reply{Fixture: messageFixture("Calling <PHONE_1>.")})
	c := g.client()
	for _, phone := range []string{testPhone, "13912345678"} {
		msg, err := c.Messages.New(context.Background(), anthropic.MessageNewParams{
			Model: "claude-sonnet-4-5", MaxTokens: 64,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("call " + phone))},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := msg.Content[0].Text; got != "Calling "+phone+"." {
			t.Errorf("caller with %s got %q", phone, got)
		}
	}
	if g.Fake.Count() != 2 {
		t.Errorf("%d upstream calls, want 2", g.Fake.Count())
	}
	card := anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("card " + testCard))},
	}
	for range 2 {
		if _, err := c.Messages.New(context.Background(), card); err != nil {
			t.Fatal(err)
		}
	}
	if g.Fake.Count() != 3 || cacheMetric(g, "hit") != 1 {
		t.Errorf("redacted request: %d upstream calls, %v hits; want 3 and 1", g.Fake.Count(), cacheMetric(g, "hit"))
	}
}

// TestGuardOpenAIPassthroughExact: an OpenAI client's request with nothing
// to change still passes byte for byte to an OpenAI-compatible upstream,
// and its answer back, with a guard on.
func TestGuardOpenAIPassthroughExact(t *testing.T) {
	g, vendor := guardVendorGateway(t)
	f := fakeupstream.MustLoad(t, openaiFixtures+"zhipu_parallel_tools_stream.txtar")
	vendor.Enqueue(fakeupstream.Reply{Fixture: f})
	body := `{"model":"glm-4.7-flash","stream":true,"messages":[{"role":"user","content":"add and multiply 2 and 3, order 20240101123456789"}]}`
	if _, got := g.rawPost(t, "/v1/chat/completions", body, nil); string(got) != string(f.Body) {
		t.Errorf("answer changed:\n%s", got)
	}
	if up := vendor.Last().Body; string(up) != body {
		t.Errorf("request changed: %s", up)
	}
}

// TestGuardToolsSDK: values in tool inputs and tool results reach the
// upstream as placeholders; a tool call in the answer gets the originals
// back, whole and streamed with the placeholder split across
// input_json_delta chunks.
func TestGuardToolsSDK(t *testing.T) {
	g := newGateway(t, guardPII)
	c := g.client()
	params := anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 256,
		Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "lookup", InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"phone": map[string]any{"type": "string"}}}}}},
		Messages: []anthropic.MessageParam{
			anthropic.NewUserMessage(anthropic.NewTextBlock("who owns it?")),
			anthropic.NewAssistantMessage(anthropic.NewToolUseBlock("toolu_1", map[string]any{"phone": testPhone}, "lookup")),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_1", "owner of "+testPhone+" has ID "+testIDCard, false)),
		},
	}
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: jsonFixture(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[{"type":"tool_use","id":"toolu_2","name":"lookup","input":{"phone":"<PHONE_1>"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":15}}`)})
	msg, err := c.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	up := g.Fake.Last().Body
	assertHidden(t, up, testPhone, testIDCard)
	if strings.Count(string(up), "<PHONE_1>") != 2 || !strings.Contains(string(up), "<ID_CARD_1>") {
		t.Errorf("tool input and result not pseudonymized: %s", up)
	}
	if got := string(msg.Content[0].Input); got != `{"phone":"`+testPhone+`"}` {
		t.Errorf("whole tool call input %s", got)
	}

	var b strings.Builder
	b.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":20,\"output_tokens\":1}}}\n\n")
	b.WriteString("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"lookup\",\"input\":{}}}\n\n")
	for _, d := range []string{`{\"phone\":\"<PHO`, `NE_1>\"}`} {
		b.WriteString("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"" + d + "\"}}\n\n")
	}
	b.WriteString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	b.WriteString("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n")
	b.WriteString("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: &fakeupstream.Fixture{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: []byte(b.String())}})
	acc := accumulate(t, c, params)
	if got := string(acc.Content[0].Input); got != `{"phone":"`+testPhone+`"}` {
		t.Errorf("streamed tool call input %s", got)
	}
}
