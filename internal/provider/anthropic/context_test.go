package anthropic_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/fakeupstream"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/provider/anthropic"
)

// TestContextErrorReworded: a vendor's Anthropic-compatible endpoint that
// words a context-length refusal its own way (Kimi) reaches the client in
// the sentence Claude Code acts on, streamed call or not; Anthropic's own
// sentence, other errors and a sentence without the input's size pass
// byte for byte.
func TestContextErrorReworded(t *testing.T) {
	kimi := fakeupstream.MustLoad(t, "../../../testdata/anthropic/error_400_context_kimi.txtar")
	own := fakeupstream.MustLoad(t, "../../../testdata/anthropic/error_400_context.txtar")
	tests := []struct {
		name   string
		status int
		body   string
		want   string // "" = passed byte for byte
	}{
		{"kimi", kimi.Status, string(kimi.Body), `{"type":"error","error":{"type":"invalid_request_error","message":"input length and ` + "`max_tokens`" + ` exceed context limit: 231932 + 32000 > 262144"}}`},
		{"anthropic's own", own.Status, string(own.Body), ""},
		{"other 400", 400, `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}`, ""},
		{"limit only", 400, `{"type":"error","error":{"type":"invalid_request_error","message":"<400> InternalError.Algo.InvalidParameter: Range of input length should be [1, 983616]"}}`, ""},
		{"not an error body", 400, `<html>bad request</html>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t, func(_ *upstream, w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{u.URL}}})
			for _, stream := range []bool{false, true} {
				c := call(`{"model":"kimi-for-coding","max_tokens":32000,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
				c.Stream = stream
				resp, err := do(t, context.Background(), p, c)
				if err != nil {
					t.Fatal(err)
				}
				want := tt.want
				if want == "" {
					want = tt.body
				}
				if got := readBody(t, resp); resp.Status != 400 || got != want {
					t.Errorf("stream %v: %d %s\nwant 400 %s", stream, resp.Status, got, want)
				}
				if (resp.Note != nil) != (tt.want != "") || resp.Note != nil && !strings.Contains(resp.Note.Error(), "exceeded model token limit") {
					t.Errorf("note %v", resp.Note)
				}
			}
		})
	}
}
