package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

// Rate limiting through the whole gateway: in process first (headers in
// both formats, refusals, the upstream's own headers replaced), then three
// ferry processes sharing one Redis.

func TestRateLimitHeadersAndRefusals(t *testing.T) {
	g := newGateway(t, func(c *config.Config) {
		c.RateLimits.Rules = []config.RateRule{{Scope: config.ScopeKey, RPM: 4, TPM: 100000}}
	})
	const msg = `{"model":"sim-1","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`
	est := int64(len(msg)/4 + 50)

	resp, _ := g.rawPost(t, "/v1/messages", msg, nil)
	wantHeaders(t, "messages", resp, map[string]string{
		"Anthropic-Ratelimit-Requests-Limit":     "4",
		"Anthropic-Ratelimit-Requests-Remaining": "3",
		"Anthropic-Ratelimit-Tokens-Limit":       "100000",
	})
	if got := header64(t, resp, "Anthropic-Ratelimit-Tokens-Remaining"); got != 100000-est {
		t.Errorf("tokens remaining %d, want %d (the reservation taken)", got, 100000-est)
	}
	reset, err := time.Parse(time.RFC3339, resp.Header.Get("Anthropic-Ratelimit-Requests-Reset"))
	// A sliding window: given back at the start of the slot 61 s on.
	if until := time.Until(reset); err != nil || until < 59*time.Second || until > 62*time.Second {
		t.Errorf("requests reset %q (%v): want RFC 3339, ~61 s ahead", resp.Header.Get("Anthropic-Ratelimit-Requests-Reset"), err)
	}

	resp, _ = g.rawPost(t, "/v1/messages/count_tokens", `{"model":"sim-1","messages":[{"role":"user","content":"hi"}]}`, nil)
	wantHeaders(t, "count_tokens", resp, map[string]string{"Anthropic-Ratelimit-Requests-Remaining": "2"})
	// The first request was settled to its usage: most of its reservation
	// came back.
	if got := header64(t, resp, "Anthropic-Ratelimit-Tokens-Remaining"); got < 100000-est/2 {
		t.Errorf("tokens remaining %d after settling: the reservation was not refunded", got)
	}

	resp, _ = g.rawPost(t, "/v1/chat/completions", `{"model":"sim-1","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`, nil)
	wantHeaders(t, "chat.completions", resp, map[string]string{
		"X-Ratelimit-Limit-Requests":         "4",
		"X-Ratelimit-Remaining-Requests":     "1",
		"X-Ratelimit-Limit-Tokens":           "100000",
		"Anthropic-Ratelimit-Requests-Limit": "",
	})
	if d, err := time.ParseDuration(resp.Header.Get("X-Ratelimit-Reset-Requests")); err != nil || d < 59*time.Second || d > 62*time.Second {
		t.Errorf("x-ratelimit-reset-requests %q: want a duration of ~61s", resp.Header.Get("X-Ratelimit-Reset-Requests"))
	}

	resp, _ = g.rawPost(t, "/v1/complete", `{"model":"sim-1","max_tokens_to_sample":20,"prompt":"\n\nHuman: hi\n\nAssistant:"}`, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("complete: %d", resp.StatusCode)
	}
	wantHeaders(t, "complete", resp, map[string]string{"Anthropic-Ratelimit-Requests-Remaining": "0"})

	resp, body := g.rawPost(t, "/v1/messages", msg, nil)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("fifth request: %d, want 429", resp.StatusCode)
	}
	typ, text := decodeError(t, body)
	if typ != "rate_limit_error" || text != "Rate limit exceeded: 4 requests per minute for this gateway key." {
		t.Errorf("429 body: %s %q", typ, text)
	}
	// Until the first request's slot is given back, 61 s after its start.
	if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra < 59 || ra > 61 {
		t.Errorf("retry-after %q, want ~61 (whole seconds, rounded up)", resp.Header.Get("Retry-After"))
	}
	wantHeaders(t, "429", resp, map[string]string{"Anthropic-Ratelimit-Requests-Remaining": "0", "X-Should-Retry": ""})

	resp, body = g.rawPost(t, "/v1/chat/completions", `{"model":"sim-1","messages":[{"role":"user","content":"hi"}]}`, nil)
	var oe struct {
		Error struct{ Type, Message string }
	}
	if err := json.Unmarshal(body, &oe); err != nil || resp.StatusCode != 429 || oe.Error.Type != "rate_limit_error" {
		t.Errorf("OpenAI-format 429: %d %s", resp.StatusCode, body)
	}
	wantHeaders(t, "OpenAI 429", resp, map[string]string{"X-Ratelimit-Remaining-Requests": "0"})
	if resp.Header.Get("Retry-After") == "" {
		t.Error("OpenAI-format 429 without retry-after")
	}
	var m dto.Metric
	if err := g.App.metrics.RateLimitRejected.WithLabelValues("key", "rpm").Write(&m); err != nil {
		t.Fatal(err)
	}
	if n := m.GetCounter().GetValue(); n != 2 {
		t.Errorf("ferry_ratelimit_rejected_total{scope=key,limit=rpm} = %v, want 2", n)
	}
}

func TestRateLimitHeadersReplaceTheUpstreams(t *testing.T) {
	g := newGateway(t, func(c *config.Config) {
		c.RateLimits.Rules = []config.RateRule{{Scope: config.ScopeRoute, Match: "claude-*", RPM: 10, TPM: 1_000_000}}
	})
	g.reply(t, "message_tool_use") // carries api.anthropic.com's own anthropic-ratelimit-* (4000 rpm)
	resp, _ := g.rawPost(t, "/v1/messages", `{"model":"claude-3-7-sonnet-20250219","max_tokens":1000,"messages":[{"role":"user","content":"weather?"}]}`, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	wantHeaders(t, "messages", resp, map[string]string{
		"Anthropic-Ratelimit-Requests-Limit":     "10",
		"Anthropic-Ratelimit-Requests-Remaining": "9",
		"Anthropic-Ratelimit-Tokens-Limit":       "1000000",
	})
	// A model on another route: no rule applies, no headers.
	resp, _ = g.rawPost(t, "/v1/messages", `{"model":"sim-1","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, nil)
	wantHeaders(t, "sim route", resp, map[string]string{"Anthropic-Ratelimit-Requests-Limit": ""})
}

func wantHeaders(t *testing.T, what string, resp *http.Response, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
}

func header64(t *testing.T, resp *http.Response, k string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(resp.Header.Get(k), 10, 64)
	if err != nil {
		t.Errorf("%s: %q is not a number", k, resp.Header.Get(k))
	}
	return n
}

const (
	multiKeyA = "sk-ferry-multi-a-0123456789abcdef"
	multiKeyB = "sk-ferry-multi-b-0123456789abcdef"
)

// multiConfig is the processes' config, with two simulated models: "fast"
// answers "ok" at once; any other name gets 150 tokens after 100 ms, so
// that many requests are in flight at once.
func multiConfig(redisAddr, prefix, onFailure string, rules string) string {
	return fmt.Sprintf(`keys:
  - {name: team-a, key: %s}
  - {name: team-b, key: %s}
providers:
  - name: fast
    type: simulator
    simulator:
      text: ok
  - name: slow
    type: simulator
    simulator:
      text: %q
      first_token: 100ms
routes:
  - match: fast
    targets: [{provider: fast}]
  - match: "*"
    targets: [{provider: slow}]
rate_limits:
  backend: redis
  on_store_failure: %s
  rules:
%s
redis:
  addr: %s
  prefix: %q
  timeout: 1s # a loaded test machine is slow; exactness is the point here
log:
  level: warn
shutdown_timeout: 5s
`, multiKeyA, multiKeyB, strings.TrimSpace(strings.Repeat("lorem ", 150)), onFailure, rules, redisAddr, prefix)
}

// rlOutcome is one request's result in a load run.
type rlOutcome struct {
	start  time.Time
	took   time.Duration
	key    string
	status int
	tokens int64 // input + output + cache tokens of a 200
	errMsg string
}

// drive sends requests from workers goroutines, round robin over the
// processes, until d has passed; at half time it calls midway (if set).
// Every request is /v1/messages with body, under key.
func drive(t *testing.T, procs []*ferryProc, workers int, d time.Duration, key, body string, midway func()) []rlOutcome {
	t.Helper()
	return driveKeys(t, procs, workers, d, []string{key}, body, midway)
}

// driveKeys is drive with several keys, worker w sending under keys[w %
// len(keys)].
func driveKeys(t *testing.T, procs []*ferryProc, workers int, d time.Duration, keys []string, body string, midway func()) []rlOutcome {
	t.Helper()
	return driveWhile(t, procs, workers, d, keys, body, midway, nil)
}

// driveWhile is driveKeys that also stops, before d has passed, once more
// (called with each outcome in turn, under a lock) returns false. nil
// more: until d has passed.
func driveWhile(t *testing.T, procs []*ferryProc, workers int, d time.Duration, keys []string, body string, midway func(), more func(rlOutcome) bool) []rlOutcome {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(d)
	var (
		mu   sync.Mutex
		out  []rlOutcome
		wg   sync.WaitGroup
		stop atomic.Bool
	)
	if midway != nil {
		// Wait for a midway call that started (a slow kill under load may
		// outlast the run): the caller reads what it wrote.
		ran := make(chan struct{})
		timer := time.AfterFunc(d/2, func() { defer close(ran); midway() })
		defer func() {
			if !timer.Stop() {
				<-ran
			}
		}()
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := keys[w%len(keys)]
			for i := w; time.Now().Before(deadline) && !stop.Load(); i += workers {
				o := rlOutcome{start: time.Now(), key: key}
				req, _ := http.NewRequest(http.MethodPost, procs[i%len(procs)].URL+"/v1/messages", strings.NewReader(body))
				req.Header.Set("X-Api-Key", key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					o.errMsg = err.Error()
				} else {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					o.status = resp.StatusCode
					var m struct {
						Usage struct {
							Input         int64 `json:"input_tokens"`
							Output        int64 `json:"output_tokens"`
							CacheRead     int64 `json:"cache_read_input_tokens"`
							CacheCreation int64 `json:"cache_creation_input_tokens"`
						}
						Error struct{ Message string }
					}
					json.Unmarshal(b, &m)
					o.tokens = m.Usage.Input + m.Usage.Output + m.Usage.CacheRead + m.Usage.CacheCreation
					o.errMsg = m.Error.Message
				}
				o.took = time.Since(o.start)
				mu.Lock()
				out = append(out, o)
				if more != nil && !more(o) {
					stop.Store(true)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

// redisNow is Redis's clock, which the limiter uses.
func redisNow(t *testing.T, c *redis.Client) time.Time {
	t.Helper()
	tm, err := c.Time(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestMultiInstanceRateLimits runs three ferry processes on one Redis and
// drives them concurrently: together they admit the requests-per-minute
// limit within 1% and never more over the run (shorter than a minute: the
// sliding window gives nothing back in it; a token bucket would have
// refilled), and never let more tokens through than the limit plus one
// request's reservation.
func TestMultiInstanceRateLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	rdb, prefix := testkit.Redis(t)
	const rpm, tpm = 1200, 30000
	rules := fmt.Sprintf("    - {scope: key, match: team-a, rpm: %d}\n    - {scope: key, match: team-b, tpm: %d}", rpm, tpm)
	procs := startFerries(t, 3, multiConfig("127.0.0.1:6379", prefix, config.FailClosed, rules))

	t.Run("requests per minute", func(t *testing.T) {
		body := `{"model":"fast","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`
		t0 := redisNow(t, rdb)
		out := drive(t, procs, 32, 4*time.Second, multiKeyA, body, nil)
		elapsed := redisNow(t, rdb).Sub(t0)
		ok, refused := count(t, out)
		allowed := float64(rpm)
		t.Logf("%d requests: %d accepted, %d refused; the window allows %.0f in %v", len(out), ok, refused, allowed, elapsed)
		if math.Abs(float64(ok)-allowed) > allowed/100 {
			t.Errorf("accepted %d, want %.1f ± 1%%", ok, allowed)
		}
		if float64(ok) > allowed {
			t.Errorf("accepted %d: more than a rolling minute may (%.0f)", ok, allowed)
		}
	})

	t.Cleanup(func() {
		if t.Failed() {
			for i, p := range procs {
				t.Logf("process %d log:\n%s", i, p.Stderr.String())
			}
		}
	})

	t.Run("tokens per minute", func(t *testing.T) {
		body := `{"model":"sim-1","max_tokens":200,"messages":[{"role":"user","content":"tell me a long story"}]}`
		reservation := int64(len(body)/4 + 200)
		t0 := redisNow(t, rdb)
		out := drive(t, procs, 32, 3*time.Second, multiKeyB, body, nil)
		elapsed := redisNow(t, rdb).Sub(t0)
		ok, refused := count(t, out)
		var used int64
		for _, o := range out {
			used += o.tokens
		}
		allowed := float64(tpm)
		t.Logf("%d requests: %d accepted using %d tokens (%.0f each), %d refused; the window allows %.0f tokens in %v, a reservation is %d",
			len(out), ok, used, float64(used)/float64(max(ok, 1)), refused, allowed, elapsed, reservation)
		if refused == 0 {
			t.Fatal("no request was refused: the load did not reach the limit")
		}
		if float64(used) > allowed+float64(reservation) {
			t.Errorf("%d tokens used: over the limit (%.0f) by more than one reservation (%d)", used, allowed, reservation)
		}
		if float64(used) < 0.8*allowed {
			t.Errorf("%d tokens used of %.0f allowed: the limiter held back far too much", used, allowed)
		}
	})
}

// count checks every rlOutcome is a 200 or a 429, and counts them.
func count(t *testing.T, out []rlOutcome) (ok, refused int) {
	t.Helper()
	other := 0
	for _, o := range out {
		switch o.status {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			refused++
		default:
			if other++; other <= 3 {
				t.Errorf("unexpected answer: %d %s", o.status, o.errMsg)
			}
		}
	}
	return ok, refused
}

// TestMultiInstanceStoreFailure kills the processes' Redis halfway through
// a run: under fail_open they keep answering, deciding in memory; under
// fail_closed they answer 503. Either way each process counts it.
func TestMultiInstanceStoreFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, mode := range []string{config.FailOpen, config.FailClosed} {
		t.Run(mode, func(t *testing.T) {
			addr, kill := startRedis(t)
			rules := "    - {scope: key, rpm: 1000000, concurrency: 1000}"
			procs := startFerries(t, 3, multiConfig(addr, "ferrytest:", mode, rules))
			body := `{"model":"fast","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`
			var killed time.Time
			out := drive(t, procs, 16, 3*time.Second, multiKeyA, body, func() {
				kill()
				killed = time.Now()
			})
			var before, after int
			for _, o := range out {
				if killed.IsZero() || !o.start.After(killed) {
					if o.status == http.StatusOK {
						before++
					}
					continue
				}
				after++
				switch {
				case mode == config.FailOpen && o.status != http.StatusOK:
					t.Errorf("fail_open after the kill: %d %s, want 200", o.status, o.errMsg)
				case mode == config.FailClosed && (o.status != http.StatusServiceUnavailable || o.errMsg != "rate limit store unavailable"):
					t.Errorf("fail_closed after the kill: %d %q, want 503 rate limit store unavailable", o.status, o.errMsg)
				}
			}
			t.Logf("%d answered 200 before the kill, %d requests after", before, after)
			if before == 0 || after == 0 {
				t.Fatalf("%d requests before the kill, %d after: the run did not straddle it", before, after)
			}
			for i, p := range procs {
				n := metricValue(p.Metrics(t), "ferry_ratelimit_store_errors_total", map[string]string{"backend": "redis", "mode": mode})
				if n < 1 {
					t.Errorf("process %d counted %v store errors, want some", i, n)
				}
				if !strings.Contains(p.Stderr.String(), "rate limit store failed") {
					t.Errorf("process %d did not log the store failure:\n%s", i, p.Stderr.String())
				}
			}
		})
	}
}
