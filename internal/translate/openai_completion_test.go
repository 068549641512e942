package translate

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/sse"
)

func TestOpenAICompletionToChatRequest(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{"defaults", `{"model":"m","prompt":"hi"}`, `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":16}`, ""},
		{"all kept", `{"model":"m","prompt":["hi"],"max_tokens":5,"stop":["\n"],"temperature":0.5,"top_p":0.9,"stream":true,"stream_options":{"include_usage":true},"user":"u","n":1,"logprobs":null}`,
			`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":5,"stop":["\n"],"temperature":0.5,"top_p":0.9,"stream":true,"stream_options":{"include_usage":true},"user":"u"}`, ""},
		{"no model", `{"prompt":"hi"}`, "", "model: field required"},
		{"no prompt", `{"model":"m"}`, "", "prompt: field required"},
		{"token prompt", `{"model":"m","prompt":[1,2]}`, "", "prompt: must be a string or an array of one string"},
		{"two prompts", `{"model":"m","prompt":["a","b"]}`, "", "prompt: must be a string or an array of one string"},
		{"n 2", `{"model":"m","prompt":"a","n":2}`, "", "n: only 1 is supported"},
		{"max_tokens 0", `{"model":"m","prompt":"a","max_tokens":0}`, "", "max_tokens: must be at least 1"},
		{"not JSON", `{`, "", "the body is not a valid completion request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, info, err := OpenAICompletionToChatRequest([]byte(tt.in), Env{})
			if tt.wantErr != "" {
				var te *Error
				if !errors.As(err, &te) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want *Error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("chat request (-want +got):\n%s", diff)
			}
			if info.Model != "m" {
				t.Errorf("info.Model = %q", info.Model)
			}
		})
	}
}

func TestOpenAIChatToCompletionResponse(t *testing.T) {
	chat := `{"id":"chatcmpl-abc","object":"chat.completion","created":7,"model":"up","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`
	got, err := OpenAIChatToCompletionResponse([]byte(chat), &OpenAICompletionInfo{Model: "m", Echo: "Hi. "})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"cmpl-abc","object":"text_completion","created":7,"model":"m","choices":[{"text":"Hi. Hello","index":0,"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestOpenAIChatToCompletionStream(t *testing.T) {
	in := []string{
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"up","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"up","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"up","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"up","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`,
		`[DONE]`,
	}
	s := NewOpenAIChatToCompletionStream(&OpenAICompletionInfo{Model: "m"})
	var out strings.Builder
	for _, d := range in {
		s.Feed(sse.Event{Data: []byte(d)})
		for f, ok := s.Next(); ok; f, ok = s.Next() {
			out.Write(f)
		}
	}
	s.Finish(nil)
	if _, ok := s.Next(); ok {
		t.Error("a frame after [DONE]")
	}
	want := `data: {"id":"cmpl-1","object":"text_completion","created":7,"model":"m","choices":[{"text":"Hel","index":0,"logprobs":null,"finish_reason":null}]}` + "\n\n" +
		`data: {"id":"cmpl-1","object":"text_completion","created":7,"model":"m","choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}]}` + "\n\n" +
		`data: {"id":"cmpl-1","object":"text_completion","created":7,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}` + "\n\n" +
		"data: [DONE]\n\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	cut := NewOpenAIChatToCompletionStream(nil)
	cut.Feed(sse.Event{Data: []byte(in[1])})
	cut.Finish(errors.New("reset"))
	var last []byte
	for f, ok := cut.Next(); ok; f, ok = cut.Next() {
		last = append(last[:0], f...)
	}
	var e struct {
		Error struct{ Type string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(strings.TrimSpace(string(last)), "data: ")), &e); err != nil || e.Error.Type != "api_error" {
		t.Errorf("a cut stream ends with %q, want an error chunk", last)
	}
}

func FuzzOpenAICompletionToChatRequest(f *testing.F) {
	f.Add([]byte(`{"model":"m","prompt":"hi","max_tokens":5,"stop":"\n","stream":true}`))
	f.Add([]byte(`{"model":"m","prompt":["hi"],"echo":true}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, info, err := OpenAICompletionToChatRequest(body, Env{})
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error is not *Error: %v", err)
			}
			return
		}
		if info == nil || !json.Valid(out) {
			t.Fatalf("invalid output %q", out)
		}
	})
}
