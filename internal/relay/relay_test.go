package relay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/routing"
)

// fakeProvider records calls and answers from a script.
type fakeProvider struct {
	calls   []*provider.Call
	formats []provider.Format // formats spoken besides Anthropic
	answer  func(c *provider.Call) (*provider.Response, error)
}

func (f *fakeProvider) Do(_ context.Context, c *provider.Call) (*provider.Response, error) {
	f.calls = append(f.calls, c)
	return f.answer(c)
}

func (f *fakeProvider) Speaks(fm provider.Format) bool {
	for _, x := range f.formats {
		if x == fm {
			return true
		}
	}
	return false
}

func jsonAnswer(status int, body string) func(*provider.Call) (*provider.Response, error) {
	return func(*provider.Call) (*provider.Response, error) {
		return &provider.Response{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}, nil
	}
}

func unreachable(*provider.Call) (*provider.Response, error) {
	return nil, apierr.New(apierr.BadGateway, "upstream unreachable")
}

func newRelay(t *testing.T, routes []config.Route, ps map[string]Provider) *Relay {
	t.Helper()
	tbl, err := routing.New(routes)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(tbl, ps)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func request(t *testing.T, f provider.Format, body string) *Request {
	t.Helper()
	p, err := anthropic.Inspect([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return &Request{Op: provider.OpMessages, Format: f, Body: []byte(body), Peek: p, Header: http.Header{}}
}

const message = `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}`

func TestUndefinedProvider(t *testing.T) {
	tbl, _ := routing.New([]config.Route{{Match: "*", Targets: []config.Target{{Provider: "nope"}}}})
	if _, err := New(tbl, map[string]Provider{}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("New with an undefined provider: %v", err)
	}
}

func TestUnknownModel(t *testing.T) {
	r := newRelay(t, []config.Route{{Match: "claude-*", Targets: []config.Target{{Provider: "a"}}}}, map[string]Provider{"a": &fakeProvider{answer: jsonAnswer(200, message)}})
	_, err := r.Do(context.Background(), request(t, provider.FormatAnthropic, `{"model":"gpt-4o"}`))
	var e *apierr.Error
	if !errors.As(err, &e) || e.Kind != apierr.NotFound || e.Public != "model: gpt-4o" {
		t.Errorf("err = %v", err)
	}
}

// TestFallbackOnlyWithoutAnswer: the next target is tried when a provider
// gave no answer; an answer, even an error status, is final.
func TestFallbackOnlyWithoutAnswer(t *testing.T) {
	a := &fakeProvider{answer: unreachable}
	b := &fakeProvider{answer: jsonAnswer(529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)}
	c := &fakeProvider{answer: jsonAnswer(200, message)}
	r := newRelay(t, []config.Route{{Match: "*", Targets: []config.Target{{Provider: "a", Model: "ma"}, {Provider: "b", Model: "mb"}, {Provider: "c"}}}},
		map[string]Provider{"a": a, "b": b, "c": c})
	res, err := r.Do(context.Background(), request(t, provider.FormatAnthropic, `{"model":"x","max_tokens":1}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	if res.Provider != "b" || res.Status != 529 || res.Model != "mb" || len(c.calls) != 0 {
		t.Errorf("served by %s (%d, model %s), c called %d times", res.Provider, res.Status, res.Model, len(c.calls))
	}
	if got := []string{res.Attempts[0].Provider, res.Attempts[1].Provider}; !cmp.Equal(got, []string{"a", "b"}) || res.Attempts[0].Err == nil || res.Attempts[1].Err != nil {
		t.Errorf("attempts %+v", res.Attempts)
	}
	// Each target got the body with its own model.
	if !bytes.Contains(a.calls[0].Body, []byte(`"model":"ma"`)) || !bytes.Contains(b.calls[0].Body, []byte(`"model":"mb"`)) {
		t.Errorf("bodies: %s / %s", a.calls[0].Body, b.calls[0].Body)
	}

	// Every target unreachable: the last error.
	r = newRelay(t, []config.Route{{Match: "*", Targets: []config.Target{{Provider: "a"}, {Provider: "a2"}}}},
		map[string]Provider{"a": a, "a2": &fakeProvider{answer: unreachable}})
	if _, err := r.Do(context.Background(), request(t, provider.FormatAnthropic, `{"model":"x"}`)); err == nil {
		t.Error("no error when every target is unreachable")
	}
}

// TestFormats: an OpenAI client's call goes as is to a provider that
// speaks OpenAI, and translated to a provider that speaks only Anthropic,
// whose answer comes back in OpenAI's shape.
func TestFormats(t *testing.T) {
	native := &fakeProvider{formats: []provider.Format{provider.FormatOpenAI}, answer: jsonAnswer(200, `{"id":"chatcmpl-1","object":"chat.completion"}`)}
	anth := &fakeProvider{answer: jsonAnswer(200, message)}
	r := newRelay(t, []config.Route{
		{Match: "gpt-*", Targets: []config.Target{{Provider: "native"}}},
		{Match: "claude-*", Targets: []config.Target{{Provider: "anth", Model: "claude-upstream"}}},
	}, map[string]Provider{"native": native, "anth": anth})

	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	res, err := r.Do(context.Background(), request(t, provider.FormatOpenAI, body))
	if err != nil {
		t.Fatal(err)
	}
	res.Close()
	if c := native.calls[0]; c.Format != provider.FormatOpenAI || string(c.Body) != body {
		t.Errorf("native call: format %d body %s", c.Format, c.Body)
	}

	res, err = r.Do(context.Background(), request(t, provider.FormatOpenAI, `{"model":"claude-x","max_tokens":50,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(res.Body)
	res.Close()
	c := anth.calls[0]
	if c.Format != provider.FormatAnthropic || !bytes.Contains(c.Body, []byte(`"model":"claude-upstream"`)) || !bytes.Contains(c.Body, []byte(`"system"`)) {
		t.Errorf("translated call: format %d body %s", c.Format, c.Body)
	}
	if !bytes.Contains(out, []byte(`"object":"chat.completion"`)) || !bytes.Contains(out, []byte(`"content":"hi"`)) {
		t.Errorf("answer not in OpenAI's shape: %s", out)
	}
	if res.Usage == nil || res.Usage.Input != 3 {
		t.Errorf("usage not kept across translation: %+v", res.Usage)
	}

	// An OpenAI request that cannot be translated is the client's error.
	_, err = r.Do(context.Background(), request(t, provider.FormatOpenAI, `{"model":"claude-x","n":3,"messages":[{"role":"user","content":"hi"}]}`))
	var e *apierr.Error
	if !errors.As(err, &e) || e.Kind != apierr.InvalidRequest {
		t.Errorf("untranslatable request: %v", err)
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
