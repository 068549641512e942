// Command benchmock is the loopback upstream and the time-to-first-token
// client of scripts/bench.sh, the side-by-side measurement of the gateway
// against calling the upstream directly.
//
//	benchmock -listen 127.0.0.1:9300
//	    serves POST /v1/messages (Anthropic format) and
//	    POST /v1/chat/completions (OpenAI format), each a canned answer,
//	    or an event stream when the body asks for one ("stream":true).
//	benchmock -listen 127.0.0.1:9304 -proxy http://127.0.0.1:9300 -client h1|nethttp
//	    serves a forwarding proxy with no features to that upstream: the
//	    bench's floor (proxy.go).
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
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/ferrygw/ferry/internal/bench"
)

func main() {
	listen := flag.String("listen", "", "serve the mock upstream on this loopback address")
	ttft := flag.String("ttft", "", "measure time to first token against this base URL")
	format := flag.String("format", "anthropic", "the client format for -ttft: anthropic or openai")
	model := flag.String("model", "claude-sonnet-4-5", "the model asked for by -ttft")
	key := flag.String("key", "", "the API key sent by -ttft")
	n := flag.Int("n", 300, "requests sent by -ttft")
	proxy := flag.String("proxy", "", "with -listen: forward to this upstream base URL instead of answering")
	client := flag.String("client", "h1", "the upstream transport of -proxy: h1 or nethttp")
	flag.Parse()
	switch {
	case *listen != "" && *proxy != "":
		if err := serveProxy(*listen, *proxy, *client); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case *listen != "":
		srv := &http.Server{Addr: *listen, Handler: bench.Upstream(), ReadHeaderTimeout: 10 * time.Second}
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
