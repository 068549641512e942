package app

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
)

// OpenAI's legacy /v1/completions through openai-go, on a route whose
// upstream speaks Anthropic (the simulator): plain and streaming.
func TestOpenAICompletionsThroughSDK(t *testing.T) {
	g := newGateway(t)
	oc := openai.NewClient(ooption.WithBaseURL(g.URL+"/v1"), ooption.WithAPIKey(clientKey), ooption.WithHTTPClient(g.HTTP), ooption.WithMaxRetries(0))
	params := openai.CompletionNewParams{
		Model:     "sim-1",
		Prompt:    openai.CompletionNewParamsPromptUnion{OfString: openai.String("Say hello")},
		MaxTokens: openai.Int(32),
		Stop:      openai.CompletionNewParamsStopUnion{OfString: openai.String("###")},
	}
	c, err := oc.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatalf("completion: %v", err)
	}
	if c.Object != "text_completion" || !strings.HasPrefix(c.ID, "cmpl-") || c.Model != "sim-1" || len(c.Choices) != 1 || c.Choices[0].Text == "" {
		t.Fatalf("completion = %+v", c)
	}
	if c.Choices[0].FinishReason != "stop" && c.Choices[0].FinishReason != "length" || c.Usage.CompletionTokens == 0 {
		t.Errorf("finish %q usage %+v", c.Choices[0].FinishReason, c.Usage)
	}

	stream := oc.Completions.NewStreaming(context.Background(), params)
	var text strings.Builder
	var finish string
	chunks := 0
	for stream.Next() {
		ch := stream.Current()
		chunks++
		if ch.Object != "text_completion" || len(ch.Choices) != 1 {
			t.Fatalf("chunk = %+v", ch)
		}
		text.WriteString(ch.Choices[0].Text)
		if ch.Choices[0].FinishReason != "" {
			finish = string(ch.Choices[0].FinishReason)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if chunks < 2 || text.String() != c.Choices[0].Text || finish == "" {
		t.Errorf("stream: %d chunks, text %q (plain answer %q), finish %q", chunks, text.String(), c.Choices[0].Text, finish)
	}
}

// Raw HTTP: the defaults, an error in OpenAI's shape, and the stream's end
// marker.
func TestOpenAICompletionsRaw(t *testing.T) {
	g := newGateway(t)
	resp, b := g.rawPost(t, "/v1/completions", `{"model":"sim-1","prompt":["hi"],"stream":true}`, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"object":"text_completion"`) || !strings.HasSuffix(string(b), "data: [DONE]\n\n") {
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	resp, b = g.rawPost(t, "/v1/completions", `{"model":"sim-1","prompt":[1,2,3]}`, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"error":{"message":"prompt: must be a string`) || strings.Contains(string(b), `"type":"error"`) {
		t.Fatalf("token prompt: %d %s", resp.StatusCode, b)
	}
	resp, b = g.rawPost(t, "/v1/completions", `{"model":"sim-1","prompt":"hi","echo":true}`, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"text":"hi`) {
		t.Fatalf("echo: %d %s", resp.StatusCode, b)
	}
}
