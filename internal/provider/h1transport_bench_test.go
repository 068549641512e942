package provider

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkTransportRoundTrip compares net/http's Transport with
// H1Transport on a loopback upstream: one provider-like POST (a 1 KB JSON
// body) answered with a small JSON body (Content-Length) or a short event
// stream (chunked, 8 events), read to the end. The upstream runs in a
// child process, so that cpu-ns/op (getrusage of this process) is the
// client's CPU alone.
//
//	go test -run '^$' -bench TransportRoundTrip -benchmem -count 5 ./internal/provider/
func BenchmarkTransportRoundTrip(b *testing.B) {
	addr := startBenchUpstream(b)
	body := []byte(`{"model":"m","max_tokens":64,"messages":[{"role":"user","content":"` + strings.Repeat("hello ", 150) + `"}]}`)
	h := http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {"k"}, "Anthropic-Version": {"2023-06-01"}}
	for _, path := range []string{"/json", "/sse"} {
		for _, name := range []string{"net/http", "h1"} {
			tr := testTransports()[name]
			b.Run(strings.TrimPrefix(path, "/")+"/"+name, func(b *testing.B) {
				defer tr.CloseIdleConnections()
				u := "http://" + addr + path
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuNow()
				for b.Loop() {
					resp, err := post(context.Background(), tr, u, h, body)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				b.ReportMetric(float64(cpuNow()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startBenchUpstream runs TestBenchUpstream in a child process and
// returns its address.
func startBenchUpstream(b *testing.B) string {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchUpstream$")
	cmd.Env = append(os.Environ(), "FERRY_BENCH_UPSTREAM=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "addr ") {
		b.Fatalf("bench upstream: %q, %v", line, err)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "addr "))
}

// TestBenchUpstream is the benchmark's upstream when run as its child;
// otherwise it does nothing. It serves until its stdin closes.
func TestBenchUpstream(t *testing.T) {
	if os.Getenv("FERRY_BENCH_UPSTREAM") == "" {
		t.Skip("the benchmark's upstream process")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("addr %s\n", ln.Addr())
	answer := []byte(`{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Hello there"}],"model":"m","stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":3}}`)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/sse" {
			w.Header().Set("Content-Type", "text/event-stream")
			for i := range 8 {
				fmt.Fprintf(w, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"tok%d\"}}\n\n", i)
				w.(http.Flusher).Flush()
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	})}
	go srv.Serve(ln)
	io.Copy(io.Discard, os.Stdin)
}
