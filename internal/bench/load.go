// Package bench measures an Anthropic- or OpenAI-compatible endpoint: a
// load generator at a fixed rate or concurrency (Run), the loopback
// upstream it is measured against (Upstream), and the side-by-side replay
// of prompts against several models (Replay).
package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

// Formats of the request bodies Run sends.
const (
	FormatAnthropic = "anthropic"
	FormatOpenAI    = "openai"
)

// Options say what Run sends, where, and how hard.
type Options struct {
	URL       string // base URL: Ferry's listener or any compatible endpoint
	Format    string // FormatAnthropic (POST /v1/messages) or FormatOpenAI (POST /v1/chat/completions)
	Model     string
	Key       string // sent as x-api-key and as a bearer token; never printed
	Stream    bool
	Prompt    string
	MaxTokens int

	// Load: Rate > 0 sends that many requests per second (open loop, each
	// on its own goroutine up to MaxInFlight); otherwise Concurrency
	// workers send one after another (closed loop).
	Rate        float64
	Concurrency int
	MaxInFlight int // open loop's bound (0: 1000)

	// Stop at whichever comes first: Duration elapsed or Requests sent
	// (0: no bound of that kind; at least one must be set).
	Duration time.Duration
	Requests int

	Client *http.Client // nil: a client with no timeout and pooled connections
	// Progress, when set, gets a progress line (ending in \r) every
	// ProgressEvery (0: 1s).
	Progress      io.Writer
	ProgressEvery time.Duration
}

// Run sends the load and returns its measurements. ctx ending stops it
// early; what was measured so far is returned.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.Client == nil {
		o.Client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true}}
	}
	path, body := o.request()
	col := newCollector()
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	stopProgress := o.progress(col)
	start := time.Now()
	if o.Rate > 0 {
		o.openLoop(ctx, col, path, body)
	} else {
		o.closedLoop(ctx, col, path, body)
	}
	elapsed := time.Since(start)
	stopProgress()
	return col.result(elapsed), nil
}

func (o *Options) check() error {
	switch {
	case o.URL == "":
		return errors.New("bench: no URL")
	case o.Format != FormatAnthropic && o.Format != FormatOpenAI:
		return fmt.Errorf("bench: format %q: want anthropic or openai", o.Format)
	case o.Duration <= 0 && o.Requests <= 0:
		return errors.New("bench: set a duration or a number of requests")
	case o.Rate <= 0 && o.Concurrency <= 0:
		return errors.New("bench: set a rate or a concurrency")
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = 256
	}
	if o.Prompt == "" {
		o.Prompt = "What is the weather in San Francisco today?"
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 1000
	}
	o.URL = strings.TrimRight(o.URL, "/")
	return nil
}

// request returns the path and the body every request sends.
func (o *Options) request() (string, []byte) {
	path := "/v1/messages"
	if o.Format == FormatOpenAI {
		path = "/v1/chat/completions"
	}
	b := []byte(`{"model":`)
	b = jsonpeek.AppendString(b, o.Model)
	b = fmt.Appendf(b, `,"max_tokens":%d,"stream":%t,"messages":[{"role":"user","content":`, o.MaxTokens, o.Stream)
	b = jsonpeek.AppendString(b, o.Prompt)
	b = append(b, `}]}`...)
	return path, b
}

// take reports whether another request may start (the Requests bound).
func (o *Options) take(sent *int, mu *sync.Mutex) bool {
	mu.Lock()
	defer mu.Unlock()
	if o.Requests > 0 && *sent >= o.Requests {
		return false
	}
	*sent++
	return true
}

func (o *Options) closedLoop(ctx context.Context, col *collector, path string, body []byte) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sent int
	)
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && o.take(&sent, &mu) {
				col.add(o.one(ctx, path, body))
			}
		}()
	}
	wg.Wait()
}

func (o *Options) openLoop(ctx context.Context, col *collector, path string, body []byte) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sent int
	)
	slots := make(chan struct{}, o.MaxInFlight)
	tick := time.NewTicker(time.Duration(float64(time.Second) / o.Rate))
	defer tick.Stop()
	for ctx.Err() == nil && o.take(&sent, &mu) {
		select {
		case slots <- struct{}{}:
			wg.Add(1)
			go func() {
				defer wg.Done()
				col.add(o.one(ctx, path, body))
				<-slots
			}()
		default: // the bound is reached: the request counts as dropped
			col.add(sample{err: "client: in-flight bound reached"})
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	wg.Wait()
}

// one sends one request and measures it.
func (o *Options) one(ctx context.Context, path string, body []byte) sample {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL+path, bytes.NewReader(body))
	if err != nil {
		return sample{err: "client: " + err.Error()}
	}
	req.Header["Content-Type"] = []string{"application/json"}
	req.Header["Anthropic-Version"] = []string{"2023-06-01"}
	if o.Key != "" {
		req.Header["X-Api-Key"] = []string{o.Key}
		req.Header["Authorization"] = []string{"Bearer " + o.Key}
	}
	start := time.Now()
	resp, err := o.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return sample{cancelled: true}
		}
		return sample{err: "transport: " + shortErr(err)}
	}
	defer resp.Body.Close()
	s := sample{}
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		s.err = fmt.Sprintf("status %d", resp.StatusCode)
		s.latency = time.Since(start)
		return s
	}
	if o.Stream {
		s = readStream(resp.Body, start)
	} else if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		s.err = "body: " + shortErr(err)
	}
	s.latency = time.Since(start)
	if s.err != "" && ctx.Err() != nil {
		return sample{cancelled: true}
	}
	return s
}

// readStream reads an event stream, noting the time to the first text
// delta and the gaps between events after it. An Anthropic error event is
// an error; a stream without message_stop or [DONE] ended early.
func readStream(body io.Reader, start time.Time) sample {
	var s sample
	rd := sse.NewReader(body, 1<<20)
	last, done := time.Time{}, false
	for {
		ev, err := rd.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.err = "stream: " + shortErr(err)
			} else if !done {
				s.err = "stream: ended early"
			}
			return s
		}
		now := time.Now()
		switch {
		case string(ev.Name) == "error":
			s.err = "stream: error event"
			return s
		case string(ev.Name) == "message_stop", bytes.Equal(ev.Data, []byte("[DONE]")):
			done = true
		}
		if s.ttft == 0 && isText(ev) {
			s.ttft = now.Sub(start)
		}
		if !last.IsZero() {
			s.gaps = append(s.gaps, now.Sub(last))
		}
		if s.ttft != 0 {
			last = now
		}
	}
}

// isText reports an event carrying answer text: Anthropic's
// content_block_delta, or an OpenAI chunk with a non-empty content delta.
func isText(ev sse.Event) bool {
	if string(ev.Name) == "content_block_delta" {
		return true
	}
	return len(ev.Name) == 0 && bytes.Contains(ev.Data, []byte(`"content":"`)) && !bytes.Contains(ev.Data, []byte(`"content":""`))
}

// shortErr is an error's last clause: the URL and operation that
// net/http puts first are the same for every request.
func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}
