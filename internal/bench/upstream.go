package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Upstream is the loopback upstream of measurements (`ferry bench
// --simulate`, cmd/benchmock): POST /v1/messages (Anthropic format) and
// POST /v1/chat/completions (OpenAI format), each a canned answer, or an
// event stream when the body asks for one ("stream":true). It is a
// measurement tool, not a test fake: no scripting, no faults
// (internal/fakeupstream has those).
func Upstream() http.Handler {
	return handler()
}

// The canned answers: sizes and header counts like a real upstream's.
const (
	anthropicJSON = `{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"The weather in San Francisco today is mild and partly cloudy, with a high near 18°C and a light westerly breeze in the afternoon. Fog may return along the coast in the evening."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":512,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":48,"service_tier":"standard"}}`
	openaiJSON    = `{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"The weather in San Francisco today is mild and partly cloudy, with a high near 18°C and a light westerly breeze in the afternoon. Fog may return along the coast in the evening.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":512,"completion_tokens":48,"total_tokens":560,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf"}`
)

// streamWords are the text deltas of a streamed answer.
var streamWords = []string{"The", " weather", " in", " San", " Francisco", " today", " is", " mild", " and", " partly", " cloudy", "."}

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/messages", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := w.Header()
		h["Request-Id"] = []string{"req_011CSHoEeqs5C35K2UUqR7Fy"}
		h["Anthropic-Organization-Id"] = []string{"00000000-0000-0000-0000-000000000000"}
		if wantsStream(body) {
			anthropicStream(w)
			return
		}
		h["Content-Type"] = []string{"application/json"}
		io.WriteString(w, anthropicJSON)
	})
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header()["X-Request-Id"] = []string{"req_8f1c0a5b2d9e4f7a"}
		if wantsStream(body) {
			openaiStream(w)
			return
		}
		w.Header()["Content-Type"] = []string{"application/json"}
		io.WriteString(w, openaiJSON)
	})
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		io.WriteString(w, `{"data":[]}`)
	})
	return mux
}

func wantsStream(body []byte) bool {
	return bytes.Contains(body, []byte(`"stream":true`)) || bytes.Contains(body, []byte(`"stream": true`))
}

// anthropicStream writes an answer as Anthropic events, one flush each.
func anthropicStream(w http.ResponseWriter) {
	w.Header()["Content-Type"] = []string{"text/event-stream"}
	rc := http.NewResponseController(w)
	ev := func(name, data string) {
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
		rc.Flush()
	}
	ev("message_start", `{"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":512,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`)
	ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	for _, word := range streamWords {
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+strconv.Quote(word)+`}}`)
	}
	ev("content_block_stop", `{"type":"content_block_stop","index":0}`)
	ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":12}}`)
	ev("message_stop", `{"type":"message_stop"}`)
}

// openaiStream writes an answer as Chat Completions chunks, one flush each.
func openaiStream(w http.ResponseWriter) {
	w.Header()["Content-Type"] = []string{"text/event-stream"}
	rc := http.NewResponseController(w)
	const head = `{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_f9f4fb6dbf","choices":[`
	chunk := func(choices string) {
		fmt.Fprintf(w, "data: %s%s]}\n\n", head, choices)
		rc.Flush()
	}
	chunk(`{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}`)
	for _, word := range streamWords {
		chunk(`{"index":0,"delta":{"content":` + strconv.Quote(word) + `},"finish_reason":null}`)
	}
	chunk(`{"index":0,"delta":{},"finish_reason":"stop"}`)
	fmt.Fprintf(w, "data: %s],\"usage\":{\"prompt_tokens\":512,\"completion_tokens\":12,\"total_tokens\":524}}\n\n", head)
	io.WriteString(w, "data: [DONE]\n\n")
}
