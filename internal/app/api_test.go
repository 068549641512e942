package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
	"github.com/ferrygw/ferry/internal/testbody"
)

const plainBody = `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`

func decodeError(t *testing.T, b []byte) (typ, msg string) {
	t.Helper()
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Type != "error" || e.RequestID == "" {
		t.Fatalf("not an Anthropic error body: %s", b)
	}
	return e.Error.Type, e.Error.Message
}

func TestGatewayErrors(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.Limits.MaxRequestBytes = 4096 })
	cases := []struct {
		name, method, path, body string
		hdr                      map[string]string
		status                   int
		typ, msgPart             string
	}{
		{"missing key", "POST", "/v1/messages", plainBody, map[string]string{"X-Api-Key": ""}, 401, "authentication_error", "x-api-key header is required"},
		{"wrong bearer", "POST", "/v1/messages", plainBody, map[string]string{"X-Api-Key": "", "Authorization": "Bearer nope"}, 401, "authentication_error", "invalid x-api-key"},
		{"not json", "POST", "/v1/messages", `{"model":`, nil, 400, "invalid_request_error", "not a JSON object"},
		{"array body", "POST", "/v1/messages", `[1]`, nil, 400, "invalid_request_error", "not a JSON object"},
		{"no model", "POST", "/v1/messages", `{"max_tokens":1,"messages":[]}`, nil, 400, "invalid_request_error", "model"},
		{"model not string", "POST", "/v1/messages", `{"model":7}`, nil, 400, "invalid_request_error", "model"},
		{"duplicate model", "POST", "/v1/messages", `{"model":"claude-sonnet-4-5","model":"other"}`, nil, 400, "invalid_request_error", "duplicate"},
		{"unknown model", "POST", "/v1/messages", `{"model":"glm-4.6","max_tokens":1,"messages":[]}`, nil, 404, "not_found_error", "model: glm-4.6"},
		{"too large by length", "POST", "/v1/messages", `{"model":"claude-sonnet-4-5","x":"` + strings.Repeat("a", 5000) + `"}`, nil, 413, "request_too_large", "4096"},
		{"unknown path", "POST", "/v1/complete2", plainBody, nil, 404, "not_found_error", "/v1/complete2"},
		{"wrong method", "GET", "/v1/messages", "", nil, 405, "invalid_request_error", "GET"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := len(g.Fake.Requests())
			req, _ := http.NewRequest(c.method, g.URL+c.path, strings.NewReader(c.body))
			req.Header.Set("X-Api-Key", clientKey)
			for k, v := range c.hdr {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			resp, err := g.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, b)
			}
			typ, msg := decodeError(t, b)
			if typ != c.typ || !strings.Contains(msg, c.msgPart) {
				t.Errorf("error %s %q, want %s containing %q", typ, msg, c.typ, c.msgPart)
			}
			if resp.Header.Get("X-Should-Retry") != "false" {
				t.Errorf("deterministic rejection without x-should-retry: false")
			}
			if resp.Header.Get("Request-Id") == "" {
				t.Errorf("no request-id")
			}
			if len(g.Fake.Requests()) != n {
				t.Errorf("rejected request reached the upstream")
			}
		})
	}
}

func TestBodyTooLargeChunked(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.Limits.MaxRequestBytes = 4096 })
	pr, pw := io.Pipe()
	go func() {
		fmt.Fprintf(pw, `{"model":"claude-sonnet-4-5","x":"%s"}`, strings.Repeat("a", 10000))
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", g.URL+"/v1/messages", pr)
	req.Header.Set("X-Api-Key", clientKey)
	resp, err := g.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if typ, _ := decodeError(t, b); typ != "request_too_large" {
		t.Errorf("type %s", typ)
	}
}

func TestAuthStylesAndRequestID(t *testing.T) {
	g := newGateway(t)
	f := fakeupstream.MustLoad(t, fixtures+"message_tool_use.txtar")
	g.Fake.SetDefault(fakeupstream.Reply{Fixture: f})
	for _, c := range []struct {
		name   string
		hdr    map[string]string
		wantID string
	}{
		{"bearer, generated id", map[string]string{"X-Api-Key": "", "Authorization": "Bearer " + clientKey}, ""},
		{"x-api-key, request-id kept", map[string]string{"Request-Id": "trace-abc-123"}, "trace-abc-123"},
		{"x-request-id kept", map[string]string{"X-Request-Id": "xr-9"}, "xr-9"},
		{"bad id replaced", map[string]string{"Request-Id": "has space"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", g.URL+"/v1/messages?beta=true", strings.NewReader(plainBody))
			req.Header.Set("X-Api-Key", clientKey)
			req.Header.Set("Anthropic-Version", "2026-10-21")
			for k, v := range c.hdr {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			resp, err := g.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			id := resp.Header.Get("Request-Id")
			if c.wantID != "" && id != c.wantID {
				t.Errorf("request-id %q, want %q", id, c.wantID)
			}
			if c.wantID == "" && (!strings.HasPrefix(id, "req_") || len(id) != 28) {
				t.Errorf("generated request-id %q", id)
			}
			if up := resp.Header.Get("Upstream-Request-Id"); up != "req_011CUdxQw7RVYqK9s3QPnFkB" {
				t.Errorf("upstream request id %q", up)
			}
			last := g.Fake.Last()
			if last.Query != "beta=true" {
				t.Errorf("beta query not forwarded: %q", last.Query)
			}
			if v := last.Header.Get("Anthropic-Version"); v != "2026-10-21" {
				t.Errorf("anthropic-version %q", v)
			}
			if last.Header.Get("Authorization") != "" || last.Header.Get("X-Api-Key") != providerKey {
				t.Errorf("upstream credentials wrong")
			}
		})
	}
}

func TestWarmupHealthAndReadiness(t *testing.T) {
	g := newGateway(t)
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"HEAD", "/", 200},
		{"GET", "/healthz", 200},
		{"GET", "/readyz", 200},
	} {
		req, _ := http.NewRequest(c.method, g.URL+c.path, nil)
		resp, err := g.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: %d", c.method, c.path, resp.StatusCode)
		}
	}
	g.App.current().server.Drain()
	resp, err := g.HTTP.Get(g.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("draining readyz: %d", resp.StatusCode)
	}
}

func TestNoKeysLoopbackOnly(t *testing.T) {
	for _, c := range []struct {
		listen string
		ok     bool
	}{
		{"127.0.0.1:0", true},
		{"[::1]:0", true},
		{"localhost:0", true},
		{"0.0.0.0:8080", false},
		{":8080", false},
		{"192.168.1.10:8080", false},
	} {
		cfg, _ := config.Defaults(func(string) (string, bool) { return "", false })
		cfg.Listen = c.listen
		_, err := New(cfg, Options{})
		if (err == nil) != c.ok {
			t.Errorf("listen %s without keys: err = %v", c.listen, err)
		}
	}
}

func TestMetricsOnAdminListener(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.Admin.Listen = "127.0.0.1:0" })
	g.reply(t, "message_tool_use")
	resp, _ := g.rawPost(t, "/v1/messages", plainBody, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	g.rawPost(t, "/v1/messages", `{"model":`, nil) // a 400, counted as a gateway error
	r, err := g.HTTP.Get("http://" + g.App.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	for _, want := range []string{
		`ferry_requests_total{class="2xx",code="200",endpoint="messages",error_type="",model="claude-sonnet-4-5",node="127.0.0.1:`, // the node's port varies
		`provider="anthropic-hk",route="claude-sonnet-4-5",tag="none"} 1`,
		`ferry_requests_total{class="4xx",code="400",endpoint="messages",error_type="invalid_request",model="other",node="",provider="",route="",tag="none"} 1`,
		`ferry_tokens_total{model="claude-sonnet-4-5",provider="anthropic-hk",tag="none",type="input"} 402`,
		`ferry_tokens_total{model="claude-sonnet-4-5",provider="anthropic-hk",tag="none",type="output"} 89`,
		`ferry_errors_total{endpoint="messages",kind="invalid_request"} 1`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The public listener does not serve metrics.
	pr, err := g.HTTP.Get(g.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	pr.Body.Close()
	if pr.StatusCode != 404 {
		t.Errorf("public /metrics: %d", pr.StatusCode)
	}
}

// TestLargeClaudeCodeBody: a 100+ KB body with dozens of tools reaches the
// upstream byte for byte, but for the rewritten model.
func TestLargeClaudeCodeBody(t *testing.T) {
	g := newGateway(t)
	g.reply(t, "stream_text")
	body := testbody.ClaudeCode("claude-sonnet-4-5")
	if len(body) < 100<<10 {
		t.Fatalf("body is only %d bytes", len(body))
	}
	resp, out := g.rawPost(t, "/v1/messages?beta=true", string(body), map[string]string{
		"Anthropic-Beta": "claude-code-20250219,interleaved-thinking-2025-05-14", "X-App": "cli",
	})
	if resp.StatusCode != 200 || !strings.HasSuffix(string(out), "event: message_stop\ndata: {\"type\":\"message_stop\"        }\n\n") {
		t.Fatalf("status %d, stream end %q", resp.StatusCode, out[max(0, len(out)-80):])
	}
	want := strings.Replace(string(body), `"model":"claude-sonnet-4-5"`, `"model":"claude-sonnet-4-20250514"`, 1)
	if got := string(g.Fake.Last().Body); got != want {
		t.Errorf("upstream body differs beyond the model (len %d vs %d)", len(got), len(want))
	}
	if h := g.Fake.Last().Header; h.Get("X-App") != "cli" || h.Get("Anthropic-Beta") != "claude-code-20250219,interleaved-thinking-2025-05-14" {
		t.Errorf("claude code headers not forwarded: %v", h)
	}
}
