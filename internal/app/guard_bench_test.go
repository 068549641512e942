package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
)

// BenchmarkGuardRequest2KB reports what the guard adds to a 2 KB request
// end to end (client, gateway, fake upstream on loopback): the same
// request through a gateway without a guard and through one with every
// built-in category on (phone pseudonymized, so the answer is filtered
// too). The difference of the two ns/op (and cpu-µs/op) is the guard's.
func BenchmarkGuardRequest2KB(b *testing.B) {
	fake := fakeupstream.New()
	defer fake.Close()
	fake.SetDefault(fakeupstream.Reply{Fixture: messageFixture("Calling <PHONE_1> now.")})
	var text strings.Builder
	for text.Len() < 1900 {
		text.WriteString("客户反馈良好，订单 20240101123456789 已发货。The customer asked about the invoice. ")
	}
	body := []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"` + text.String() + ` call 13812345678"}]}`)
	policies := []struct {
		name string
		pii  map[string]string
	}{
		{"no_guard", nil},
		{"guard", map[string]string{"id_card": "pseudonymize", "bank_card": "redact", "phone": "pseudonymize", "landline": "redact", "email": "redact", "passport": "redact", "secret": "block"}},
	}
	for _, p := range policies {
		b.Run(p.name, func(b *testing.B) {
			gw, stop := quietGatewayWith(b, fake, func(c *config.Config) { c.Guard.PII = p.pii })
			defer stop()
			hc := benchClient()
			defer hc.CloseIdleConnections()
			if out := post(b, hc, gw, body); p.pii != nil && !bytes.Contains(out, []byte("13812345678")) {
				b.Fatalf("answer not restored: %s", out)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			c0 := cpuTime()
			for i := 0; i < b.N; i++ {
				post(b, hc, gw, body)
			}
			b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/1e3, "cpu-µs/op")
		})
	}
}

// BenchmarkGuardStream reports the cost per streamed event with the
// guard's answer filter on (a 1,000-word list, so every text delta is
// filtered; none matches, so the stream must come out unchanged), to
// compare with BenchmarkPassthroughStream.
func BenchmarkGuardStream(b *testing.B) {
	f := longStream(1000)
	words := make([]string, 1000)
	for i := range words {
		words[i] = "禁词" + strconv.Itoa(i) + "word"
	}
	path := filepath.Join(b.TempDir(), "words.txt")
	if err := os.WriteFile(path, []byte(strings.Join(words, "\n")), 0o600); err != nil {
		b.Fatal(err)
	}
	start := func(b *testing.B, fake *fakeupstream.Server) (string, func()) {
		return quietGatewayWith(b, fake, func(c *config.Config) {
			c.Guard.PII = map[string]string{"phone": "pseudonymize"}
			c.Guard.Words.Files = []string{path}
		})
	}
	benchStream(b, f, start, "event", func(b *testing.B, out []byte) {
		if !bytes.Equal(out, f.Body) {
			b.Fatal("stream differs")
		}
	})
}
