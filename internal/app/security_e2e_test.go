package app

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/ferrygw/ferry/internal/auth"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

// Under base_path the SDK works with the prefix in its base URL, and the
// API is not served at the root any more (the probes are).
func TestBasePathThroughSDK(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.BasePath = "/proxy" })
	c := g.client(option.WithBaseURL(g.URL + "/proxy"))
	msg, err := c.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model:     "sim-1",
		MaxTokens: 16,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	})
	if err != nil {
		t.Fatalf("under /proxy: %v", err)
	}
	if len(msg.Content) == 0 || msg.Content[0].Text == "" {
		t.Fatalf("empty answer: %+v", msg)
	}
	models, err := c.Models.List(context.Background(), anthropic.ModelListParams{})
	if err != nil || len(models.Data) == 0 {
		t.Fatalf("models under /proxy: %v %+v", err, models)
	}
	root := g.client()
	_, err = root.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "sim-1", MaxTokens: 16,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	})
	assertAPIError(t, err, http.StatusNotFound, "not_found_error")
	for _, p := range []string{"/healthz", "/proxy/healthz", "/readyz"} {
		resp, err := g.HTTP.Get(g.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", p, resp.StatusCode)
		}
	}
	resp, _ := g.rawPost(t, "/proxyv1/messages", `{}`, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/proxyv1/messages = %d, want 404", resp.StatusCode)
	}
}

// A service signs its requests instead of sending a key; a changed body,
// a stale timestamp and a replay are refused in Anthropic's error shape.
func TestSignedRequests(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	g := newGateway(t, func(c *config.Config) {
		c.BasePath = "/api"
		c.HMAC.Keys = []config.HMACKey{{ID: "billing-svc", Secret: secret}}
	})
	body := `{"model":"sim-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	send := func(at time.Time, signedBody, sentBody string) (int, string) {
		ts := strconv.FormatInt(at.Unix(), 10)
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/v1/messages", strings.NewReader(sentBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(auth.HeaderKeyID, "billing-svc")
		req.Header.Set(auth.HeaderTimestamp, ts)
		req.Header.Set(auth.HeaderSignature, auth.Sign([]byte(secret), ts, "POST", "/api/v1/messages", []byte(signedBody)))
		resp, err := g.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	now := time.Now()
	if code, b := send(now, body, body); code != http.StatusOK || !strings.Contains(b, `"type":"message"`) {
		t.Fatalf("signed request: %d %s", code, b)
	}
	if code, b := send(now, body, body); code != http.StatusUnauthorized || !strings.Contains(b, "already used") || !strings.Contains(b, `"type":"authentication_error"`) {
		t.Errorf("replay: %d %s", code, b)
	}
	if code, b := send(now.Add(time.Second), body, strings.Replace(body, "hi", "ho", 1)); code != http.StatusUnauthorized || !strings.Contains(b, "invalid request signature") {
		t.Errorf("changed body: %d %s", code, b)
	}
	if code, b := send(now.Add(-6*time.Minute), body, body); code != http.StatusUnauthorized || !strings.Contains(b, "too far") {
		t.Errorf("stale timestamp: %d %s", code, b)
	}
	// Bearer keys still work beside signatures.
	if resp, b := g.rawPost(t, "/api/v1/messages", body, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("bearer key: %d %s", resp.StatusCode, b)
	}
	if !strings.Contains(g.Logs.String(), `"key":"billing-svc"`) {
		t.Errorf("the access log does not name the signing key")
	}
	if strings.Contains(g.Logs.String(), secret) {
		t.Errorf("the hmac secret leaked into the logs")
	}
}

// Two gateways sharing Redis: a signed request accepted by one is refused
// by the other.
func TestSignedRequestReplayAcrossInstances(t *testing.T) {
	testkit.Redis(t) // Redis is there (or the test is skipped; fails under CI)
	const secret = "0123456789abcdef0123456789abcdef"
	mutate := func(c *config.Config) {
		c.Redis.Addr = testkit.RedisAddr
		c.HMAC.Keys = []config.HMACKey{{ID: "billing-svc", Secret: secret}}
	}
	a, b := newGateway(t, mutate), newGateway(t, mutate)
	body := []byte(`{"model":"sim-1","max_tokens":16,"messages":[{"role":"user","content":"` + t.Name() + time.Now().String() + `"}]}`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig := auth.Sign([]byte(secret), ts, "POST", "/v1/messages", body)
	for i, g := range []*gateway{a, b} {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/messages", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(auth.HeaderKeyID, "billing-svc")
		req.Header.Set(auth.HeaderTimestamp, ts)
		req.Header.Set(auth.HeaderSignature, sig)
		resp, err := g.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := []int{http.StatusOK, http.StatusUnauthorized}[i]
		if resp.StatusCode != want {
			t.Fatalf("instance %d: %d %s, want %d", i, resp.StatusCode, out, want)
		}
	}
}
