package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/testbody"
)

func fp(v float64) *float64 { return &v }
func ip(v int64) *int64     { return &v }

func TestApplyParams(t *testing.T) {
	tests := []struct {
		name   string
		format provider.Format
		body   string
		p      config.Params
		want   string // "" : the body itself, unchanged
	}{
		{name: "no policy", body: `{"model":"m", "max_tokens":64000 ,"temperature":1}`},
		{name: "under the cap", body: `{"model":"m","max_tokens":100}`, p: config.Params{MaxTokensCap: 8192}},
		{name: "clamped", body: `{"model":"m", "max_tokens" : 64000 ,"x":1}`, p: config.Params{MaxTokensCap: 8192},
			want: `{"model":"m", "max_tokens" : 8192 ,"x":1}`},
		{name: "openai both fields", format: provider.FormatOpenAI, body: `{"model":"m","max_tokens":64000,"max_completion_tokens":9000}`, p: config.Params{MaxTokensCap: 8192},
			want: `{"model":"m","max_tokens":8192,"max_completion_tokens":8192}`},
		{name: "default when absent", body: `{"model":"m","max_tokens":1}`, p: config.Params{Defaults: config.Sampling{Temperature: fp(0.7)}},
			want: `{"model":"m","max_tokens":1,"temperature":0.7}`},
		{name: "default when null", body: `{"model":"m","temperature":null}`, p: config.Params{Defaults: config.Sampling{Temperature: fp(0.7)}},
			want: `{"model":"m","temperature":0.7}`},
		{name: "default not over the client's", body: `{"model":"m","temperature":0.2}`, p: config.Params{Defaults: config.Sampling{Temperature: fp(0.7), TopP: fp(0.9)}},
			want: `{"model":"m","temperature":0.2,"top_p":0.9}`},
		{name: "override", body: "{\"model\":\"m\",\"top_p\":0.1,\"top_k\":5}\n", p: config.Params{Overrides: config.Sampling{TopP: fp(1), TopK: ip(40), Temperature: fp(0)}},
			want: "{\"model\":\"m\",\"top_p\":1,\"top_k\":40,\"temperature\":0}\n"},
		{name: "no top_k for openai", format: provider.FormatOpenAI, body: `{"model":"m"}`, p: config.Params{Defaults: config.Sampling{TopK: ip(40)}}},
	}
	for _, tt := range tests {
		body := []byte(tt.body)
		got := applyParams(body, tt.format, tt.p)
		want := tt.want
		if want == "" {
			want = tt.body
			if &got[0] != &body[0] {
				t.Errorf("%s: the body was copied", tt.name)
			}
		}
		if string(got) != want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, want)
		}
		if !json.Valid(got) {
			t.Errorf("%s: invalid JSON %s", tt.name, got)
		}
	}
}

// TestPolicyReachesUpstream: a target's policy over its provider's, in the
// body and headers of the call; the client's credential never forwarded.
func TestPolicyReachesUpstream(t *testing.T) {
	f := &fakeProvider{answer: jsonAnswer(200, message)}
	prov := provCfg("a", func(p *config.Provider) {
		p.Params = config.Params{MaxTokensCap: 4096, Defaults: config.Sampling{Temperature: fp(0.7)}}
		p.ForwardHeaders = []string{"x-biz-type"}
	})
	route := routeTo("*", config.Target{Provider: "a", Model: "glm-4.7",
		Params:         config.Params{MaxTokensCap: 2048},
		Headers:        map[string]string{"X-Claude-Timezone": "Asia/Shanghai", "X-Api-Key": "nope"},
		ForwardHeaders: []string{"X-Trace"}})
	g := newRig(t, []config.Route{route}, []config.Provider{prov}, map[string]Provider{"a": f})
	req := request(t, provider.FormatAnthropic, `{"model":"claude-x","max_tokens":32000,"messages":[]}`)
	req.Header = http.Header{"X-Biz-Type": {"batch"}, "X-Trace": {"t1"}, "X-Api-Key": {"client-secret"}}
	res, err := g.Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	res.Close()
	c := f.calls[0]
	if want := `{"model":"glm-4.7","max_tokens":2048,"messages":[],"temperature":0.7}`; string(c.Body) != want {
		t.Errorf("body %s, want %s", c.Body, want)
	}
	h := http.Header{}
	c.ApplySetHeader(h)
	want := http.Header{"X-Biz-Type": {"batch"}, "X-Trace": {"t1"}, "X-Claude-Timezone": {"Asia/Shanghai"}}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}

	// Without a policy the body is the client's, byte for byte.
	f2 := &fakeProvider{answer: jsonAnswer(200, message)}
	g2 := simple(t, map[string]Provider{"a": f2}, []string{"a"})
	body := `{"model":"claude-x" , "max_tokens":32000,"messages":[] }`
	res, err = g2.Do(context.Background(), request(t, provider.FormatAnthropic, body))
	if err != nil {
		t.Fatal(err)
	}
	res.Close()
	if string(f2.calls[0].Body) != body || f2.calls[0].SetHeader != nil {
		t.Errorf("no policy: body %s, headers %v", f2.calls[0].Body, f2.calls[0].SetHeader)
	}
}

// TestTraitRules: the first matching rule's targets go first, the route's
// follow as fallbacks; no rule, the route's targets as before.
func TestTraitRules(t *testing.T) {
	yes := true
	impl := map[string]Provider{}
	var provs []config.Provider
	for _, n := range []string{"main", "reason", "batch"} {
		impl[n] = &fakeProvider{answer: jsonAnswer(200, message)}
		provs = append(provs, provCfg(n))
	}
	route := routeTo("claude-*", config.Target{Provider: "main"})
	route.When = []config.RouteRule{
		{If: config.Traits{Headers: map[string]string{"X-Biz-Type": "batch"}}, Targets: []config.Target{{Provider: "batch", Model: "glm-4.7-flash"}}},
		{If: config.Traits{Thinking: &yes}, Targets: []config.Target{{Provider: "reason", Model: "deepseek-v4-pro"}}},
	}
	g := newRig(t, []config.Route{route}, provs, impl)
	do := func(body string, h http.Header) *Result {
		req := request(t, provider.FormatAnthropic, body)
		if h != nil {
			req.Header = h
		}
		res, err := g.Do(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		res.Close()
		return res
	}
	if res := do(`{"model":"claude-sonnet-4-5","max_tokens":1,"thinking":{"type":"enabled","budget_tokens":1024}}`, nil); res.Provider != "reason" || res.Model != "deepseek-v4-pro" || res.Rule != 1 {
		t.Errorf("thinking: %s/%s rule %d", res.Provider, res.Model, res.Rule)
	}
	if res := do(`{"model":"claude-sonnet-4-5","max_tokens":1}`, http.Header{"X-Biz-Type": {"batch"}}); res.Provider != "batch" || res.Rule != 0 {
		t.Errorf("batch: %s rule %d", res.Provider, res.Rule)
	}
	if res := do(`{"model":"claude-sonnet-4-5","max_tokens":1}`, nil); res.Provider != "main" || res.Model != "claude-sonnet-4-5" || res.Rule != -1 {
		t.Errorf("plain: %s/%s rule %d", res.Provider, res.Model, res.Rule)
	}
	// The rule's target fails: the route's target serves.
	impl["reason"].(*fakeProvider).answer = jsonAnswer(529, overload)
	if res := do(`{"model":"claude-sonnet-4-5","max_tokens":1,"thinking":{"type":"enabled","budget_tokens":1024}}`, nil); res.Provider != "main" || res.Status != 200 {
		t.Errorf("fallback: %s %d", res.Provider, res.Status)
	}
}

func FuzzApplyParams(f *testing.F) {
	f.Add([]byte(`{"model":"m","max_tokens":64000,"temperature":1}`), int64(8192))
	f.Add([]byte(`{"model":"m","top_p":null}`), int64(0))
	f.Add([]byte(" {\"model\":\"m\",\"max_tokens\":1e9} \n"), int64(1))
	p := config.Params{Defaults: config.Sampling{Temperature: fp(0.7), TopK: ip(3)}, Overrides: config.Sampling{TopP: fp(0.5)}}
	f.Fuzz(func(t *testing.T, body []byte, limit int64) {
		if _, err := anthropic.Inspect(body); err != nil {
			return // the relay only sees inspected bodies
		}
		pp := p
		pp.MaxTokensCap = max(limit, 0)
		out := applyParams(body, provider.FormatAnthropic, pp)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("applyParams(%q) = %q: %v", body, out, err)
		}
		if string(m["top_p"]) != "0.5" {
			t.Fatalf("applyParams(%q): top_p %s", body, m["top_p"])
		}
		if _, err := anthropic.Inspect(out); err != nil {
			t.Fatalf("applyParams(%q) = %q: %v", body, out, err)
		}
	})
}

func BenchmarkApplyParams(b *testing.B) {
	body := testbody.ClaudeCode("claude-sonnet-4-5-20250929")
	b.Run("none", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = applyParams(body, provider.FormatAnthropic, config.Params{})
		}
	})
	p := config.Params{MaxTokensCap: 8192, Defaults: config.Sampling{TopP: fp(0.9)}}
	b.Run("cap+default", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if out := applyParams(body, provider.FormatAnthropic, p); bytes.Equal(out, body) {
				b.Fatal("unchanged")
			}
		}
	})
}

// notingEvents is a provider stream that notes a problem.
type notingEvents struct{ provider.Stream }

func (*notingEvents) Note() error { return errNoted }

var errNoted = errors.New("noted")

// TestStreamNotePassedOn: a stream source's note survives the relay's
// wrappers, for the server to log at the stream's end.
func TestStreamNotePassedOn(t *testing.T) {
	noting := func() provider.Stream { return &notingEvents{provider.Plain(&events{})} }
	if err := (&watchedEvents{StreamBase: provider.StreamBase{Src: noting()}}).Note(); err != errNoted {
		t.Errorf("watched: %v", err)
	}
	if err := newTranslated(&watchedEvents{StreamBase: provider.StreamBase{Src: noting()}}, nil).Note(); err != errNoted {
		t.Errorf("translated: %v", err)
	}
	if err := (&watchedEvents{StreamBase: provider.StreamBase{Src: provider.Plain(&events{})}}).Note(); err != nil {
		t.Errorf("no note: %v", err)
	}
}
