package check

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// request sends one one-token request to base for res.Model, the way the
// provider would, and fills in the verdict.
// headers are the target's own, added to the provider's.
func (o Options) request(ctx context.Context, p *config.Provider, headers map[string]string, base string, res Result) Result {
	res.Node = hostOf(base)
	client := o.client()
	defer client.CloseIdleConnections()
	status, body, elapsed, err := o.send(ctx, client, p, headers, base, res.Model, p.Auth)
	res.Millis = ms(elapsed)
	if err != nil {
		res.Detail, res.Cause = err.Error(), requestErrCause(err)
		return res
	}
	res.Detail = strconv.Itoa(status) + " " + snippet(body)
	if status == http.StatusOK {
		res.OK, res.Detail = true, "200"
		return res
	}
	res.Cause = diagnose(p, status, body)
	if status == http.StatusUnauthorized && p.Type == config.TypeAnthropic && !wrongPrefix(p) {
		// Relays differ in the header they read: try the other one once.
		other := config.AuthBearer
		if p.Auth == config.AuthBearer {
			other = config.AuthXAPIKey
		}
		if st, _, _, err := o.send(ctx, client, p, headers, base, res.Model, other); err == nil && st != http.StatusUnauthorized && st != http.StatusForbidden {
			res.Cause = fmt.Sprintf("wrong auth header: this upstream accepts the key with auth: %s", other)
		}
	}
	return res
}

func (o Options) client() *http.Client {
	return &http.Client{
		Timeout: o.Timeout,
		Transport: &http.Transport{
			Proxy:               o.Proxy,
			DialContext:         o.Dial,
			TLSClientConfig:     &tls.Config{RootCAs: o.RootCAs},
			TLSHandshakeTimeout: o.Timeout,
			ForceAttemptHTTP2:   true,
		},
	}
}

func (o Options) send(ctx context.Context, c *http.Client, p *config.Provider, headers map[string]string, base, model, auth string) (int, []byte, time.Duration, error) {
	target, body := strings.TrimSuffix(base, "/"), oneTokenBody(model)
	if p.Type == config.TypeAnthropic {
		target += "/v1/messages"
	} else {
		target += "/chat/completions"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range []map[string]string{p.Headers, headers} {
		for k, v := range h {
			req.Header.Set(k, v)
		}
	}
	key := p.APIKey.Reveal()
	switch {
	case key == "":
	case p.Type == config.TypeAnthropic && auth != config.AuthBearer:
		req.Header.Set("x-api-key", key)
	default:
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if p.Type == config.TypeAnthropic {
		req.Header.Set("anthropic-version", "2023-06-01")
	}
	start := o.Clock()
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, o.Clock().Sub(start), fmt.Errorf("post %s: %w", hostOf(base), err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	return resp.StatusCode, data, o.Clock().Sub(start), nil
}

func requestErrCause(err error) string {
	if isTimeout(err) {
		return "no answer in time: proxy needed (set HTTPS_PROXY), or the upstream is overloaded"
	}
	return "the request failed before an answer: " + connectCause(StepTLS, err)
}

// oneTokenBody is a request both formats accept: one short user message,
// at most one token back.
func oneTokenBody(model string) []byte {
	var b []byte
	b = append(b, `{"model":`...)
	b = jsonpeek.AppendString(b, model)
	return append(b, `,"max_tokens":1,"messages":[{"role":"user","content":"ping"}]}`...)
}

// diagnose names the likely cause of a non-200 answer.
func diagnose(p *config.Provider, status int, body []byte) string {
	msg := strings.ToLower(string(body))
	switch {
	case status == http.StatusProxyAuthRequired:
		return "proxy needed: a proxy asks for credentials (set HTTPS_PROXY with user:password)"
	case status == http.StatusUnauthorized && wrongPrefix(p):
		return "wrong key prefix: " + p.Name + " keys start with " + strconv.Quote(wantPrefix(p)) + "; is this another vendor's key?"
	case status == http.StatusUnauthorized:
		return "authentication failed: the key is wrong, revoked, or sent in the wrong header (auth: x-api-key or bearer)"
	case status == http.StatusForbidden && containsAny(msg, "region", "country", "territor", "location"):
		return "region blocked: the vendor refuses this egress location; call it through a proxy or relay in a supported region"
	case status == http.StatusForbidden:
		return "forbidden: the key lacks access to this model or API"
	case status == http.StatusNotFound && containsAny(msg, "model"):
		return "model not found: check the target's model name against the vendor's list"
	case status == http.StatusNotFound, status == http.StatusMethodNotAllowed:
		if p.Type == config.TypeAnthropic {
			return "wrong base path: Ferry appends /v1/messages; base_urls must not end in /v1"
		}
		return "wrong base path: Ferry appends /chat/completions; base_urls usually end in /v1 (the vendor's OpenAI-compatible path)"
	case status == http.StatusBadRequest && containsAny(msg, "model"):
		return "model not found or not allowed: check the target's model name"
	case status == http.StatusTooManyRequests:
		return "rate limited or out of quota: the key works, but the account cannot serve traffic now"
	case status >= 500:
		return "the upstream failed: retry later, or ask the relay's operator"
	}
	return "unexpected answer"
}

// wantPrefix is the key prefix the well-known vendors issue ("" when unknown).
func wantPrefix(p *config.Provider) string {
	switch {
	case p.Type == config.TypeAnthropic && strings.Contains(strings.Join(baseURLs(p), " "), "api.anthropic.com"):
		return "sk-ant-"
	case p.Type == config.TypeOpenAI && (p.Profile == "openai" || p.Profile == "deepseek" || p.Profile == "dashscope" || p.Profile == "moonshot"):
		return "sk-"
	}
	return ""
}

func wrongPrefix(p *config.Provider) bool {
	want := wantPrefix(p)
	return want != "" && !strings.HasPrefix(p.APIKey.Reveal(), want)
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// snippet is the start of an error body, on one line; keys are never in it
// (the upstream's answer, not our request).
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

func hostOf(base string) string {
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		return u.Host
	}
	return base
}
