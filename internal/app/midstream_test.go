package app

// Mid-stream failures, in every combination of client format and upstream
// protocol: once the client has the status and some events, a broken
// upstream (reset, clean end without its end marker, silence past
// stream_idle) ends the stream with an error frame in the client's format
// and a clean close, and is never retried.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
)

func TestMidStreamBreaks(t *testing.T) {
	vendor := fakeupstream.New()
	t.Cleanup(vendor.Close)
	g := newGateway(t, func(c *config.Config) {
		c.Providers = append(c.Providers, config.Provider{Name: "glm", Type: config.TypeOpenAI, Profile: "zhipu", BaseURLs: []string{vendor.URL}, APIKey: vendorKey})
		c.Routes = append(c.Routes, config.Route{Match: "glm-*", Targets: []config.Target{{Provider: "glm"}}})
		for i := range c.Providers {
			c.Providers[i].Timeouts.StreamIdle = 300 * time.Millisecond
			// Each break is a failure of the node: twelve in a row would
			// open its breaker, which is not what this test is about.
			c.Providers[i].Breaker.Disabled = true
		}
	})
	anthStream := fakeupstream.MustLoad(t, fixtures+"stream_text.txtar")
	oaiStream := fakeupstream.MustLoad(t, openaiFixtures+"zhipu_tool_stream.txtar")
	const (
		anthBody = `{"model":"claude-opus-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
		oaiToA   = `{"model":"claude-opus-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
		glmBody  = `{"model":"glm-4.7-flash","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	)
	combos := []struct {
		name     string
		path     string
		body     string
		up       *fakeupstream.Server
		fixture  *fakeupstream.Fixture
		openai   bool // the client speaks OpenAI
		provider string
	}{
		{"anthropic client, anthropic upstream", "/v1/messages", anthBody, g.Fake, anthStream, false, "anthropic-hk"},
		{"anthropic client, openai upstream", "/v1/messages", glmBody, vendor, oaiStream, false, "glm"},
		{"openai client, anthropic upstream", "/v1/chat/completions", oaiToA, g.Fake, anthStream, true, "anthropic-hk"},
		{"openai client, openai upstream", "/v1/chat/completions", glmBody, vendor, oaiStream, true, "glm"},
	}
	faults := []fakeupstream.Fault{fakeupstream.ResetAfterEvents, fakeupstream.TruncateAfterEvents, fakeupstream.StallAfterEvents}
	for _, c := range combos {
		for _, f := range faults {
			t.Run(fmt.Sprintf("%s, %s", c.name, f), func(t *testing.T) {
				n := len(c.up.Requests())
				c.up.Enqueue(fakeupstream.Reply{Fixture: c.fixture, Fault: f, Events: 3})
				start := time.Now()
				resp, got := g.rawPost(t, c.path, c.body, nil)
				body := string(got)
				if resp.StatusCode != 200 || resp.Header.Get("X-Ferry-Provider") != c.provider {
					t.Fatalf("status %d from %q:\n%s", resp.StatusCode, resp.Header.Get("X-Ferry-Provider"), body)
				}
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("took %v", d)
				}
				if !strings.HasSuffix(body, "\n\n") {
					t.Errorf("the stream does not end on a whole frame:\n%q", body)
				}
				frames := strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
				last := frames[len(frames)-1]
				if len(frames) < 2 {
					t.Errorf("%d frames, want the first events before the error:\n%s", len(frames), body)
				}
				if c.openai {
					if !strings.HasPrefix(last, `data: {"error":{`) || strings.Contains(body, "[DONE]") {
						t.Errorf("no OpenAI error chunk at the end (or a [DONE]):\n%s", body)
					}
				} else {
					if !strings.HasPrefix(last, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"") || strings.Contains(body, "message_stop") {
						t.Errorf("no error event at the end (or a message_stop):\n%s", body)
					}
				}
				if got := len(c.up.Requests()) - n; got != 1 {
					t.Errorf("upstream got %d requests, want 1: nothing is retried after the first byte", got)
				}
			})
		}
	}
}
