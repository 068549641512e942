package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/bench"
)

// The mock answers both formats, whole or streamed, and the TTFT client
// finds the first text delta in each.
func TestMockAnswers(t *testing.T) {
	srv := httptest.NewServer(bench.Upstream())
	defer srv.Close()
	for _, c := range []struct {
		path, body, wantCT, wantIn string
	}{
		{"/v1/messages", `{"model":"m","max_tokens":5}`, "application/json", `"stop_reason":"end_turn"`},
		{"/v1/messages", `{"model":"m","stream":true}`, "text/event-stream", "event: message_stop\n"},
		{"/v1/chat/completions", `{"model":"m"}`, "application/json", `"finish_reason":"stop"`},
		{"/v1/chat/completions", `{"model":"m", "stream": true}`, "text/event-stream", "data: [DONE]\n\n"},
	} {
		resp, err := http.Post(srv.URL+c.path, "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != c.wantCT || !strings.Contains(string(b), c.wantIn) {
			t.Errorf("%s %s: %d %s %.300s", c.path, c.body, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		if c.wantCT == "application/json" && !json.Valid(b) {
			t.Errorf("%s: invalid JSON: %s", c.path, b)
		}
	}
	for _, format := range []string{"anthropic", "openai"} {
		p50, p99, err := measureTTFT(srv.URL, format, "m", "k", 20)
		if err != nil || p50 <= 0 || p99 < p50 {
			t.Errorf("%s: ttft p50 %v p99 %v err %v", format, p50, p99, err)
		}
	}
}
