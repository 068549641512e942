package canary

import (
	"fmt"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

func BenchmarkOrder(b *testing.B) {
	s := mustNew(b, Options{Targets: []Target{{Name: "a", Weight: 90}, {Name: "b", Weight: 5}, {Name: "c", Weight: 5, Canary: true}}})
	dst := make([]int, 0, 3)
	b.Run("random", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst = s.Order("", dst)
		}
	})
	b.Run("sticky", func(b *testing.B) {
		key := "sk-ant-api03-0123456789abcdef0123456789abcdef" // a gateway key's length
		b.ReportAllocs()
		for b.Loop() {
			dst = s.Order(key, dst)
		}
	})
}

func BenchmarkRecord(b *testing.B) {
	newSplit := func() *Split {
		// Thresholds out of reach: the guard judges on every canary record
		// but never rolls back.
		return mustNew(b, Options{Targets: []Target{{Name: "a", Weight: 90}, {Name: "b", Weight: 5}, {Name: "c", Weight: 5, Canary: true}},
			Guard: config.CanaryGuard{MinRequests: 1, MaxErrorRate: 2, MaxLatencyRatio: 1000}})
	}
	for _, bc := range []struct {
		name   string
		target int
	}{{"primary", 0}, {"canary", 2}} {
		b.Run(bc.name, func(b *testing.B) {
			s := newSplit()
			for i := range 1000 { // a window with data in every bucket of the histogram's range
				s.Record(i%3, i%10 != 0, time.Duration(i)*time.Millisecond)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				s.Record(bc.target, i%50 != 0, time.Duration(100+i%900)*time.Millisecond)
			}
			if bc.target == 2 && s.Snapshot().LastEvent != nil {
				b.Fatal("benchmark split rolled back")
			}
		})
	}
}

// ExampleSplit_Order shows the order for a 95/5 split with a sticky key.
func ExampleSplit_Order() {
	s, _ := New(Options{Route: "claude-*", Targets: []Target{{Name: "anthropic", Weight: 95}, {Name: "bedrock", Weight: 5, Canary: true}}})
	fmt.Println(len(s.Order("user-42", nil)), s.Weighted())
	// Output: 2 true
}
