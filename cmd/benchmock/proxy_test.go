package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/bench"
)

// Through the proxy, with either client, each answer of the mock (JSON
// and event stream, both formats) arrives byte-identical to the direct
// one, with its status and Content-Type; GET /metrics counts allocations.
func TestProxyPassesThrough(t *testing.T) {
	mock := httptest.NewServer(bench.Upstream())
	defer mock.Close()
	for _, client := range []string{"h1", "nethttp"} {
		rt, err := proxyClient(client)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := proxyServer("", mock.URL, rt)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln)
		proxyURL := "http://" + ln.Addr().String()
		for _, c := range []struct{ path, body, wantCT string }{
			{"/v1/messages", `{"model":"m","max_tokens":5}`, "application/json"},
			{"/v1/messages", `{"model":"m","stream":true}`, "text/event-stream"},
			{"/v1/chat/completions", `{"model":"m","stream":true}`, "text/event-stream"},
		} {
			_, _, want := post(t, mock.URL+c.path, c.body)
			code, ct, got := post(t, proxyURL+c.path, c.body)
			if code != 200 || ct != c.wantCT || !bytes.Equal(got, want) || len(want) == 0 {
				t.Errorf("%s %s %s: %d %s\n%s\nwant\n%s", client, c.path, c.body, code, ct, got, want)
			}
		}
		if code, _, b := post(t, proxyURL+"/nowhere", `{}`); code != http.StatusNotFound {
			t.Errorf("%s: a 404 upstream came back as %d %s", client, code, b)
		}
		resp, err := http.Get(proxyURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(b), "go_memstats_mallocs_total ") {
			t.Errorf("%s: /metrics: %s", client, b)
		}
		srv.Close()
	}
	if _, err := proxyClient("h3"); err == nil {
		t.Error("an unknown -client was accepted")
	}
	if _, err := proxyServer("", "https://example.invalid", nil); err == nil {
		t.Error("an https upstream was accepted")
	}
}

func post(t *testing.T, url, body string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}
