package guard

import (
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

// benchText is prose in English and Chinese with numbers, a few values and
// no listed word: the common case of a prompt.
func benchText(n int) string {
	const para = "The quarterly report for order 202412061234567 shows 1,234 units shipped at 3.50 each; " +
		"客户反馈良好，下单时间 1733456789123，联系人 张三，电话 13812345678。" +
		"See https://example.com/docs?id=42 and email support@example.com for details. "
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(para)
	}
	s := b.String()[:n]
	return strings.ToValidUTF8(s[:len(s)-3], "") // cut on a rune boundary
}

func benchWords() []string {
	words := make([]string, 0, 1000)
	for i := range 1000 {
		words = append(words, "禁词"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26%26)))
	}
	return words
}

// BenchmarkScan measures the combined scan (every detector and a
// 1000-word list) over 1 MB of text.
func BenchmarkScan(b *testing.B) {
	g := newGuard(b, ActionRedact, benchWords())
	s := benchText(1 << 20)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		ms := g.det.Scan(s, nil)
		ms = g.words.Find(s, ms)
		_ = ms
	}
}

func benchBody(text string) []byte {
	b := []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"You are helpful.","messages":[{"role":"user","content":`)
	b = jsonpeek.AppendString(b, text)
	return append(b, `}]}`...)
}

// BenchmarkRequest2KB is the time added to a 2 KB request with nothing to
// change (the common case) and with a phone number pseudonymized.
func BenchmarkRequest2KB(b *testing.B) {
	g := newGuard(b, ActionPseudonymize, benchWords())
	clean := benchBody(strings.ReplaceAll(strings.ReplaceAll(benchText(1900), "13812345678", "n/a"), "support@example.com", "support"))
	dirty := benchBody(benchText(1900))
	for _, c := range []struct {
		name string
		body []byte
	}{{"clean", clean}, {"match", dirty}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := g.Request(c.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAnswerChunk is the cost per streamed text delta of restoring
// placeholders and filtering words.
func BenchmarkAnswerChunk(b *testing.B) {
	g := newGuard(b, ActionPseudonymize, benchWords())
	_, res, _ := g.Request(benchBody("call 13812345678"))
	ev := event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Sure, here is the next part of the answer, "}}`)
	a := g.Answer(res.Pseudonyms)
	var evs []sse.Event
	b.ReportAllocs()
	for b.Loop() {
		evs = a.Filter(ev, evs[:0])
	}
}

func BenchmarkScanParts(b *testing.B) {
	g := newGuard(b, ActionRedact, benchWords())
	s := benchText(1 << 20)
	b.Run("detectors", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			g.det.Scan(s, nil)
		}
	})
	b.Run("words", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			g.words.Find(s, nil)
		}
	})
}
