package relay

import (
	"context"
	"errors"
	"testing"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/provider"
)

// TestMaxTokensRequired: a Messages request without max_tokens is
// Anthropic's 400 on every route, before any upstream is called;
// count_tokens and OpenAI clients are not held to it.
func TestMaxTokensRequired(t *testing.T) {
	for _, formats := range [][]provider.Format{nil, {provider.FormatOpenAI}} {
		f := &fakeProvider{formats: formats, answer: jsonAnswer(200, message)}
		g := simple(t, map[string]Provider{"a": f}, []string{"a"})
		for _, body := range []string{
			`{"model":"claude-x","messages":[{"role":"user","content":"hi"}]}`,
			`{"model":"claude-x","max_tokens":null,"messages":[]}`,
		} {
			_, err := g.Do(context.Background(), request(t, provider.FormatAnthropic, body))
			var e *apierr.Error
			if !errors.As(err, &e) || e.Kind != apierr.InvalidRequest || e.Public != "max_tokens: Field required" {
				t.Errorf("%s: err = %v, want 400 max_tokens: Field required", body, err)
			}
		}
		if n := f.count(); n != 0 {
			t.Errorf("the upstream was called %d times", n)
		}
		count := request(t, provider.FormatAnthropic, `{"model":"claude-x","messages":[]}`)
		count.Op = provider.OpCountTokens
		for _, req := range []*Request{count, request(t, provider.FormatOpenAI, `{"model":"claude-x","messages":[{"role":"user","content":"hi"}]}`), plain(t)} {
			res, err := g.Do(context.Background(), req)
			if err != nil {
				t.Errorf("%s: %v", req.Body, err)
				continue
			}
			res.Close()
		}
	}
}
