package server

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/relay"
)

// lineSink is a LineSink over slog's JSON handler, as app builds it.
type lineSink struct {
	*slog.JSONHandler
	mu  sync.Mutex
	buf *bytes.Buffer
}

func (l *lineSink) WriteLine(b []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.buf.Write(b)
	return err
}

func accessExchanges() map[string]*exchange {
	full := &exchange{
		id: "req_01\"quoted\"", status: 200, bytesIn: 2048, bytesOut: 913,
		key: "team-ä", model: "claude-sonnet-4-5", stream: true, route: "claude-*",
		provider: "glm", node: "127.0.0.1:9000#2", upstreamModel: "glm-4.6",
		firstByte: 1234567 * time.Nanosecond,
		attempts: []relay.Attempt{
			{Provider: "glm", Node: "a", Reason: "connect", Backoff: 100 * time.Millisecond},
			{Provider: "glm", Node: "b", Status: 200},
		},
		cache:     &cacheState{result: "miss"},
		usage:     anthropic.Totals{Input: 512, Output: 48, CacheRead: 7, CacheCreation: 3},
		usageSeen: true,
		note:      errors.New("upstream said: \u2028 line\nbreak\ttab \x01 <b>&"),
		streamErr: errors.New("stream cut \xff short"),
	}
	return map[string]*exchange{
		"minimal": {id: "req_x", status: 200},
		"full":    full,
		"internal error": {id: "req_e", status: 500, model: "m",
			err: apierr.New(apierr.Internal, "internal error: %s", "boom")},
		"client error": {id: "req_c", status: 400, err: apierr.New(apierr.InvalidRequest, "max_tokens: must be positive")},
		"no duration":  {id: "req_z", status: 200, provider: "p"},
	}
}

// The encoder writes what slog's JSON handler writes from the same
// fields: the same bytes, the time aside.
func TestAccessLineMatchesSlog(t *testing.T) {
	timeRE := regexp.MustCompile(`^\{"time":"[^"]+",`)
	rfc := regexp.MustCompile(`^\{"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",`)
	for name, x := range accessExchanges() {
		for _, d := range []time.Duration{0, 1500 * time.Microsecond, 2*time.Second + 345678*time.Nanosecond} {
			r := httptest.NewRequest("POST", "/v1/messages?beta=true", nil)
			var fast, slow bytes.Buffer
			sink := &lineSink{JSONHandler: slog.NewJSONHandler(&fast, nil), buf: &fast}
			(&Server{log: slog.New(sink)}).writeAccess(x, r, slog.LevelInfo, x.status, d)
			(&Server{log: slog.New(slog.NewJSONHandler(&slow, nil))}).writeAccess(x, r, slog.LevelInfo, x.status, d)
			if !rfc.Match(fast.Bytes()) {
				t.Errorf("%s: time not RFC 3339: %s", name, fast.Bytes())
			}
			got := timeRE.ReplaceAll(fast.Bytes(), []byte(`{"time":"T",`))
			want := timeRE.ReplaceAll(slow.Bytes(), []byte(`{"time":"T",`))
			// slog marshals the attempts list with encoding/json, which
			// escapes <, > and &; none are in these attempts.
			if !bytes.Equal(got, want) {
				t.Errorf("%s, %v:\n got %s\nwant %s", name, d, got, want)
			}
		}
	}
}

// A line is written at the level the request earned.
func TestAccessLineLevel(t *testing.T) {
	ex := accessExchanges()
	for name, want := range map[string]string{"minimal": "INFO", "full": "WARN", "internal error": "ERROR", "client error": "WARN"} {
		var buf bytes.Buffer
		sink := &lineSink{JSONHandler: slog.NewJSONHandler(&buf, nil), buf: &buf}
		(&Server{log: slog.New(sink)}).writeAccess(ex[name], httptest.NewRequest("GET", "/", nil), slog.LevelInfo, 200, 0)
		if !bytes.Contains(buf.Bytes(), []byte(`"level":"`+want+`","msg":"request"`)) {
			t.Errorf("%s: %s, want level %s", name, buf.Bytes(), want)
		}
	}
}

// go test -run '^$' -bench AccessLine -benchmem ./internal/server/
func BenchmarkAccessLine(b *testing.B) {
	x := accessExchanges()["full"]
	x.note, x.streamErr, x.attempts = nil, nil, nil // a plain success
	r := httptest.NewRequest("POST", "/v1/messages", nil)
	var discard bytes.Buffer
	for _, c := range []struct {
		name string
		h    slog.Handler
	}{
		{"encoder", &lineSink{JSONHandler: slog.NewJSONHandler(&discard, nil), buf: &discard}},
		{"slog", slog.NewJSONHandler(&discard, nil)},
	} {
		s := &Server{log: slog.New(c.h)}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				discard.Reset()
				s.writeAccess(x, r, slog.LevelInfo, 200, 1500*time.Microsecond)
			}
		})
	}
}

// TestAppendMs: the hand-formatted milliseconds are AppendFloat's, byte
// for byte, on edges and a spread of values.
func TestAppendMs(t *testing.T) {
	ds := []time.Duration{0, time.Microsecond, 999 * time.Microsecond, time.Millisecond, 1500 * time.Microsecond,
		1010 * time.Microsecond, 1001 * time.Microsecond, -1500 * time.Microsecond, -time.Microsecond, 999 * time.Nanosecond,
		time.Hour, 1e15*time.Microsecond - 1, 1e15 * time.Microsecond, 1<<63 - 1, -1 << 63}
	for d := time.Duration(1); d < 1e18; d = d*7 + 13 {
		ds = append(ds, d, -d)
	}
	for _, d := range ds {
		want := strconv.AppendFloat(nil, msOf(d), 'f', -1, 64)
		if got := appendMs(nil, d); string(got) != string(want) {
			t.Errorf("appendMs(%d) = %s, want %s", d, got, want)
		}
	}
}
