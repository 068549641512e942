package main

// The floor of scripts/bench.sh: a forwarding proxy with no features (no
// keys, routing, parsing, logging or metrics), so that what Ferry costs
// above it is what its features cost. It does what any HTTP/1.1 proxy
// must: net/http's server reads the request and its body, the client
// posts the body upstream on the same path, and the status, Content-Type
// and body come back; an event stream is flushed after each read, as
// Ferry flushes each event.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/server"
)

// proxyClient is the upstream transport of -client: h1 is Ferry's own
// (provider.H1Transport, as Ferry builds it for a plain-HTTP upstream),
// nethttp is net/http's, tuned as Ferry's TLS one is (a large idle pool
// per host, no transparent gzip).
func proxyClient(name string) (http.RoundTripper, error) {
	switch name {
	case "h1":
		return provider.NewH1Transport(config.Timeouts{Connect: 10 * time.Second}), nil
	case "nethttp":
		return &http.Transport{
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		}, nil
	}
	return nil, fmt.Errorf("-client %q: want h1 or nethttp", name)
}

// proxyServer serves the proxy to upstream (a base URL) on listen, with
// the server settings Ferry's public listener has.
func proxyServer(listen, upstream string, rt http.RoundTripper) (*http.Server, error) {
	base, err := url.Parse(upstream)
	if err != nil || base.Scheme != "http" || base.Host == "" {
		return nil, fmt.Errorf("-proxy %q: want an http:// base URL", upstream)
	}
	srv := server.NewHTTPServer(proxyHandler(base, rt))
	srv.Addr = listen
	return srv, nil
}

// forwarded are the request headers passed upstream.
var forwarded = []string{"Content-Type", "Anthropic-Version", "X-Api-Key", "Authorization"}

// proxyHandler forwards every POST to base + its path. GET /metrics
// answers the process's allocation count, in the Prometheus line Ferry's
// admin /metrics has, for the bench's allocations per request.
func proxyHandler(base *url.URL, rt http.RoundTripper) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/metrics" {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Fprintf(w, "go_memstats_mallocs_total %d\n", ms.Mallocs)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		u := *base
		u.Path = base.Path + r.URL.Path
		req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, u.String(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, k := range forwarded {
			if v, ok := r.Header[k]; ok {
				req.Header[k] = v
			}
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		ct := resp.Header.Get("Content-Type")
		w.Header()["Content-Type"] = []string{ct}
		if provider.IsEventStream(ct) {
			copyStream(w, resp)
			return
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header()["Content-Length"] = []string{strconv.Itoa(len(b))}
		w.WriteHeader(resp.StatusCode)
		w.Write(b)
	})
}

// copyStream relays an event stream, flushing after each read.
func copyStream(w http.ResponseWriter, resp *http.Response) {
	rc := http.NewResponseController(w)
	w.WriteHeader(resp.StatusCode)
	buf := make([]byte, 4<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

func serveProxy(listen, upstream, client string) error {
	rt, err := proxyClient(client)
	if err != nil {
		return err
	}
	srv, err := proxyServer(listen, upstream, rt)
	if err != nil {
		return err
	}
	return srv.ListenAndServe()
}
