package app

import (
	"context"
	"io"
	"testing"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
	"github.com/ferrygw/ferry/internal/store/storetest"
	"github.com/ferrygw/ferry/internal/usage"
)

// BenchmarkGatewayCodeUsage is BenchmarkGatewayCodeJSON with the usage
// ledger on SQLite (ledger: a row per request, written by the background
// writer) and with a key budget besides (budget: reserve and settle in the
// store on every request), to compare with BenchmarkGatewayCodeJSON.
func BenchmarkGatewayCodeUsage(b *testing.B) {
	for _, tc := range []struct {
		name    string
		budgets []config.Budget
	}{
		{"ledger", nil},
		{"budget", []config.Budget{{Name: "b", Scope: "key", Period: "daily", Currency: "CNY", Limit: "1000000"}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			st := storetest.SQLite(b, usage.Schema)
			cfg := &config.Config{
				Listen:    "127.0.0.1:0",
				Admin:     config.Admin{Listen: "off"},
				Keys:      []config.Key{{Name: "team-a", Key: clientKey}},
				Providers: []config.Provider{{Name: "up", Type: config.TypeAnthropic, BaseURLs: []string{"http://127.0.0.1:1"}, APIKey: providerKey}},
				Routes:    []config.Route{{Match: "*", Targets: []config.Target{{Provider: "up", Model: "claude-sonnet-4-20250514"}}}},
				Usage:     config.Usage{Budgets: tc.budgets},
			}
			cfg.ApplyDefaults()
			f := fakeupstream.MustLoad(b, fixtures+"message_tool_use.txtar")
			log := NewLogger(config.Log{Level: "info"}, io.Discard)
			a, err := New(cfg, Options{Logger: log, transport: cannedTransport{f}, Store: st})
			if err != nil {
				b.Fatal(err)
			}
			a.money.start(log)
			benchHandler(b, a.Handler())
			b.StopTimer()
			a.money.close(context.Background(), log)
			if d := a.money.ledger.Dropped(); d != 0 {
				b.Fatalf("%d ledger rows dropped", d)
			}
		})
	}
}
