package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
	"github.com/ferrygw/ferry/internal/store"
	"github.com/ferrygw/ferry/internal/store/storetest"
	"github.com/ferrygw/ferry/internal/usage"
)

// BenchmarkLedgerThroughput: the gateway's handler driven by parallel
// clients (GOMAXPROCS×4 goroutines) with the network replaced by a canned
// answer, without a ledger ("off") and with one on SQLite and on
// PostgreSQL (a row per request, written by the background writer).
// It reports requests per second and the ledger rows dropped per request
// (at saturation the gateway outruns any store; the bounded buffer then
// drops and counts, never blocks). Compare req/s of off and
// sqlite/postgres for the ledger's cost to throughput:
//
//	go test -run '^$' -bench 'LedgerThroughput$' -benchtime 3s -count 3 ./internal/app/
func BenchmarkLedgerThroughput(b *testing.B) {
	for _, name := range []string{"off", "sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			var st *store.Store
			switch name {
			case "sqlite":
				st = storetest.SQLite(b, usage.Schema)
			case "postgres":
				st = storetest.Open(b, storetest.PostgresURL(b), usage.Schema)
			}
			h, a, log := ledgerGateway(b, st)
			b.ReportAllocs()
			b.SetParallelism(4)
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if code := serveOne(h); code != 200 {
						b.Error(code)
						return
					}
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
			if a.money != nil {
				a.money.close(context.Background(), log)
				l := a.money.ledger
				b.ReportMetric(float64(l.Dropped())/float64(b.N), "dropped/op")
				if l.Written()+l.Dropped() != int64(b.N) {
					b.Fatalf("%d ledger rows written and %d dropped for %d requests", l.Written(), l.Dropped(), b.N)
				}
			}
		})
	}
}

// BenchmarkLedgerSustained offers 5,000 requests a second (5 every
// millisecond, from parallel goroutines) for 2 s per iteration with the
// ledger on SQLite and on PostgreSQL, and fails if a single row is dropped:
// the ledger keeps up with 5,000 rows/s.
//
//	go test -run '^$' -bench 'LedgerSustained' -benchtime 1x ./internal/app/
func BenchmarkLedgerSustained(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			st := storetest.SQLite(b, usage.Schema)
			if name == "postgres" {
				st = storetest.Open(b, storetest.PostgresURL(b), usage.Schema)
			}
			h, a, log := ledgerGateway(b, st)
			const rate, span = 5000, 2 * time.Second
			sent := 0
			start := time.Now()
			for i := range b.N {
				tick := time.NewTicker(time.Millisecond)
				sem := make(chan struct{}, 64)
				for now := range tick.C {
					// As many as are due by now: a late tick catches up.
					due := int(float64(rate) * now.Sub(start).Seconds())
					if now.Sub(start) > span*time.Duration(i+1) {
						break
					}
					for sent < due {
						sem <- struct{}{}
						sent++
						go func() {
							defer func() { <-sem }()
							if code := serveOne(h); code != 200 {
								b.Error(code)
							}
						}()
					}
				}
				tick.Stop()
				for range cap(sem) {
					sem <- struct{}{}
				}
			}
			elapsed := time.Since(start)
			a.money.close(context.Background(), log)
			l := a.money.ledger
			b.ReportMetric(float64(l.Written())/elapsed.Seconds(), "rows/s")
			if l.Dropped() != 0 || l.Written() != int64(sent) {
				b.Fatalf("%d rows written, %d dropped, of %d requests", l.Written(), l.Dropped(), sent)
			}
		})
	}
}

// ledgerGateway is the benchmark gateway with the ledger on st, started.
func ledgerGateway(b *testing.B, st *store.Store) (http.Handler, *App, *slog.Logger) {
	cfg := &config.Config{
		Listen:    "127.0.0.1:0",
		Admin:     config.Admin{Listen: "off"},
		Keys:      []config.Key{{Name: "team-a", Key: clientKey}},
		Providers: []config.Provider{{Name: "up", Type: config.TypeAnthropic, BaseURLs: []string{"http://127.0.0.1:1"}, APIKey: providerKey}},
		Routes:    []config.Route{{Match: "*", Targets: []config.Target{{Provider: "up", Model: "claude-sonnet-4-20250514"}}}},
	}
	cfg.ApplyDefaults()
	f := fakeupstream.MustLoad(b, fixtures+"message_tool_use.txtar")
	log := NewLogger(config.Log{Level: "info"}, io.Discard)
	a, err := New(cfg, Options{Logger: log, transport: cannedTransport{f}, Store: st})
	if err != nil {
		b.Fatal(err)
	}
	if a.money != nil {
		a.money.start(log)
	}
	return a.Handler(), a, log
}

// serveOne sends the benchmark request through h and returns the status.
func serveOne(h http.Handler) int {
	req, _ := http.NewRequest(http.MethodPost, "/v1/messages", bytes.NewReader(requestBody))
	req.Header = http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {clientKey}, "Anthropic-Version": {"2023-06-01"}}
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, req)
	return w.code
}
