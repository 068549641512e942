package convert_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/convert"
	"github.com/ferrygw/ferry/internal/openai"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/testkit"
)

// upstream is a Chat Completions target that answers every call with one
// canned response, counting calls.
type upstream struct {
	status int
	header http.Header
	body   string
	calls  int
	prof   *openai.Profile // nil: prof
}

func (u *upstream) ChatProfile() *openai.Profile {
	if u.prof != nil {
		return u.prof
	}
	return prof
}

// plainUpstream is an upstream of the call's own format.
type plainUpstream struct{ u *upstream }

func (p plainUpstream) Do(ctx context.Context, c *provider.Call) (*provider.Response, error) {
	return p.u.Do(ctx, c)
}

func (u *upstream) Do(context.Context, *provider.Call) (*provider.Response, error) {
	u.calls++
	h := http.Header{}
	for k, v := range u.header {
		h[k] = v
	}
	return &provider.Response{Status: u.status, Header: h, Body: io.NopCloser(strings.NewReader(u.body)), Node: "n1"}, nil
}

var prof = &openai.Profile{Name: "test", MaxTokensField: "max_tokens"}

const (
	request    = `{"model":"claude-x","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`
	completion = `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}`
)

func call(body string, stream bool) *provider.Call {
	return &provider.Call{Op: provider.OpMessages, Format: provider.FormatAnthropic, Model: "m", Body: []byte(body), Stream: stream}
}

func read(t *testing.T, r *provider.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestChatAnswerTranslated(t *testing.T) {
	u := &upstream{status: 200, body: completion}
	c := call(request, false)
	convert.Prepare(u, c)
	if !strings.HasPrefix(string(c.PreparedBody), `{"model":"m","messages":[{"role":"user","content":"hi"}]`) {
		t.Fatalf("sends %s, want the Chat Completions request", c.PreparedBody)
	}
	resp, err := convert.Do(context.Background(), u, c)
	if err != nil {
		t.Fatal(err)
	}
	body := read(t, resp)
	if resp.Status != 200 || !strings.Contains(body, `"type":"message"`) || !strings.Contains(body, `"text":"Hello"`) {
		t.Errorf("status %d body %s, want the Anthropic message", resp.Status, body)
	}
	if resp.Usage == nil || resp.Usage.Input != 5 || resp.Usage.Output != 2 {
		t.Errorf("usage %+v, want 5 in, 2 out", resp.Usage)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
}

// A streaming call answered with a whole chat.completion gets events.
func TestChatSynthesizedStream(t *testing.T) {
	u := &upstream{status: 200, header: http.Header{"Content-Type": {"application/json"}}, body: completion}
	c := call(strings.Replace(request, `"messages"`, `"stream":true,"messages"`, 1), true)
	convert.Prepare(u, c)
	resp, err := convert.Do(context.Background(), u, c)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Events == nil || resp.Body != nil || resp.Header.Get("Content-Type") != "" {
		t.Fatalf("events %v body %v header %v, want events only", resp.Events, resp.Body, resp.Header)
	}
	s, err := testkit.CheckStreamRules(resp.Events, testkit.StreamRules{Exact: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Raw, `"text":"Hello"`) {
		t.Errorf("stream %s, want the text", s.Raw)
	}
}

func TestChatRefusalAndFailures(t *testing.T) {
	t.Run("untranslatable request: 400, no upstream call", func(t *testing.T) {
		u := &upstream{status: 200, body: completion, prof: &openai.Profile{Name: "text-only", NoImages: true}}
		c := call(`{"model":"claude-x","max_tokens":50,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"http://x/y.png"}}]}]}`, false)
		convert.Prepare(u, c)
		resp, err := convert.Do(context.Background(), u, c)
		if err != nil || resp.Status != 400 || u.calls != 0 {
			t.Fatalf("status %v err %v after %d calls, want a 400 answer without a call", resp, err, u.calls)
		}
		if b := read(t, resp); !strings.Contains(b, `"type":"invalid_request_error"`) {
			t.Errorf("body %s", b)
		}
	})
	t.Run("2xx that is no chat completion: 502 with a note", func(t *testing.T) {
		u := &upstream{status: 200, body: `{"object":"list"}`}
		c := call(request, false)
		convert.Prepare(u, c)
		resp, err := convert.Do(context.Background(), u, c)
		if err != nil || resp.Status != 502 || resp.Note == nil {
			t.Fatalf("answer %+v err %v, want 502 with a note", resp, err)
		}
	})
	t.Run("error answers pass as the provider made them", func(t *testing.T) {
		u := &upstream{status: 429, body: `{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}`}
		c := call(request, false)
		convert.Prepare(u, c)
		resp, err := convert.Do(context.Background(), u, c)
		if err != nil || resp.Status != 429 || read(t, resp) != u.body {
			t.Fatalf("answer %+v err %v, want the 429 untouched", resp, err)
		}
	})
	t.Run("an OpenAI call passes through", func(t *testing.T) {
		u := &upstream{status: 200, body: `{"id":"x"}`}
		c := &provider.Call{Op: provider.OpMessages, Format: provider.FormatOpenAI, Body: []byte(`{}`)}
		convert.Prepare(u, c)
		resp, err := convert.Do(context.Background(), u, c)
		if err != nil || c.Prepared != nil || read(t, resp) != u.body {
			t.Fatalf("answer %+v err %v prepared %v, want the body untouched", resp, err, c.Prepared)
		}
	})
	t.Run("an Anthropic call to an Anthropic upstream passes through", func(t *testing.T) {
		u := &upstream{status: 200, body: `{"id":"x"}`}
		c := call(request, false)
		convert.Prepare(plainUpstream{u}, c)
		resp, err := convert.Do(context.Background(), plainUpstream{u}, c)
		if err != nil || c.Prepared != nil || c.PreparedBody != nil || read(t, resp) != u.body {
			t.Fatalf("answer %+v err %v prepared %v, want the body untouched", resp, err, c.Prepared)
		}
	})
}
