// Command benchmock is the loopback upstream and the time-to-first-token
// client of scripts/bench.sh, the side-by-side measurement of the gateway
// against calling the upstream directly.
//
//	benchmock -listen 127.0.0.1:9300
//	    serves POST /v1/messages (Anthropic format) and
//	    POST /v1/chat/completions (OpenAI format), each a canned answer,
//	    or an event stream when the body asks for one ("stream":true).
//	benchmock -ttft URL -format anthropic|openai -model M -key K -n 300
//	    sends n streaming requests one after another and prints the
//	    median and p99 time until the first text delta is read, in µs.
//
// It is a measurement tool, not a test fake: no scripting, no faults
// (internal/fakeupstream has those).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"
)

func main() {
	listen := flag.String("listen", "", "serve the mock upstream on this loopback address")
	ttft := flag.String("ttft", "", "measure time to first token against this base URL")
	format := flag.String("format", "anthropic", "the client format for -ttft: anthropic or openai")
	model := flag.String("model", "claude-sonnet-4-5", "the model asked for by -ttft")
	key := flag.String("key", "", "the API key sent by -ttft")
	n := flag.Int("n", 300, "requests sent by -ttft")
	flag.Parse()
	switch {
	case *listen != "":
		srv := &http.Server{Addr: *listen, Handler: handler(), ReadHeaderTimeout: 10 * time.Second}
		if err := srv.ListenAndServe(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case *ttft != "":
		p50, p99, err := measureTTFT(*ttft, *format, *model, *key, *n)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%.1f %.1f\n", p50, p99)
	default:
		flag.Usage()
		os.Exit(2)
	}
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

// measureTTFT sends n streaming requests one after another and returns the
// median and p99 time until the first text delta arrives, in µs.
func measureTTFT(base, format, model, key string, n int) (p50, p99 float64, err error) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	path, marker := "/v1/messages", []byte("content_block_delta")
	body := `{"model":"` + model + `","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"What is the weather in San Francisco today?"}]}`
	if format == "openai" {
		path, marker = "/v1/chat/completions", []byte(`"content":"The"`)
		body = `{"model":"` + model + `","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"What is the weather in San Francisco today?"}]}`
	}
	times := make([]float64, 0, n)
	for i := range n + n/10 { // the first tenth warms up
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader([]byte(body)))
		req.Header = http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {key}, "Authorization": {"Bearer " + key}, "Anthropic-Version": {"2023-06-01"}}
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return 0, 0, err
		}
		br := bufio.NewReader(resp.Body)
		var first time.Duration
		for {
			line, err := br.ReadSlice('\n')
			if first == 0 && bytes.Contains(line, marker) {
				first = time.Since(start)
			}
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || first == 0 {
			return 0, 0, fmt.Errorf("request %d: status %d, no text delta", i, resp.StatusCode)
		}
		if i >= n/10 {
			times = append(times, float64(first.Microseconds()))
		}
	}
	slices.Sort(times)
	return times[len(times)/2], times[len(times)*99/100], nil
}
