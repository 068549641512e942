package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
)

// headerSink is a ResponseWriter that only keeps headers, reset per round.
type headerSink struct{ h http.Header }

func (w *headerSink) Header() http.Header         { return w.h }
func (w *headerSink) Write(b []byte) (int, error) { return len(b), nil }
func (w *headerSink) WriteHeader(int)             {}

// go test -run '^$' -bench RateHeaders -benchmem ./internal/server/
func BenchmarkRateHeaders(b *testing.B) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 250e6, time.UTC)
	t := &testing.T{}
	s, tk := ticketAt(t, now, []config.RateRule{{Scope: "key", RPM: 500, TPM: 400000, Burst: true}}, 1000)
	for name, f := range map[string]provider.Format{"anthropic": provider.FormatAnthropic, "openai": provider.FormatOpenAI} {
		b.Run(name, func(b *testing.B) {
			w := &headerSink{}
			x := &exchange{ResponseWriter: w, format: f}
			b.ReportAllocs()
			for b.Loop() {
				w.h = http.Header{"Request-Id": {"req_x"}, "Content-Type": {"application/json"}}
				s.rateHeaders(x, tk)
			}
		})
	}
}
