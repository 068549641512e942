package app

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

// countingWriter records each Write it gets.
type countingWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.buf.Write(p)
}

func (c *countingWriter) state() (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String(), c.writes
}

func TestLogBufferFlushes(t *testing.T) {
	t.Run("when full", func(t *testing.T) {
		w := &countingWriter{}
		b := newLogBuffer(w, 64, time.Hour)
		line := strings.Repeat("x", 19) + "\n" // 20 bytes: three fit
		for range 3 {
			b.Write([]byte(line))
		}
		if got, n := w.state(); got != "" || n != 0 {
			t.Fatalf("written before full: %q in %d writes", got, n)
		}
		b.Write([]byte(line)) // the fourth does not fit: the three go
		if got, n := w.state(); got != strings.Repeat(line, 3) || n != 1 {
			t.Fatalf("got %q in %d writes, want three lines in one", got, n)
		}
		big := strings.Repeat("y", 99) + "\n" // larger than the buffer: through
		b.Write([]byte(big))
		if got, n := w.state(); got != strings.Repeat(line, 4)+big || n != 3 {
			t.Fatalf("got %q in %d writes", got, n)
		}
		b.Close()
	})
	t.Run("on the timer", func(t *testing.T) {
		w := &countingWriter{}
		b := newLogBuffer(w, 4096, 10*time.Millisecond)
		defer b.Close()
		b.Write([]byte("a\n"))
		b.Write([]byte("b\n"))
		deadline := time.Now().Add(5 * time.Second)
		for {
			if got, n := w.state(); got == "a\nb\n" {
				if n != 1 {
					t.Fatalf("%d writes, want 1", n)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("never flushed")
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.Write([]byte("c\n")) // the timer is armed again
		for got, _ := w.state(); got != "a\nb\nc\n"; got, _ = w.state() {
			if time.Now().After(deadline) {
				t.Fatal("second line never flushed")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	t.Run("on close, then through", func(t *testing.T) {
		w := &countingWriter{}
		b := newLogBuffer(w, 4096, time.Hour)
		b.Write([]byte("a\n"))
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		b.Write([]byte("b\n"))
		if got, n := w.state(); got != "a\nb\n" || n != 2 {
			t.Fatalf("got %q in %d writes", got, n)
		}
	})
}

// TestBufferedLoggerLinesWhole: records and access lines from many
// goroutines come out whole, one a line, and none is lost on Close.
func TestBufferedLoggerLinesWhole(t *testing.T) {
	w := &countingWriter{}
	log, b := NewBufferedLogger(config.Log{Level: "info"}, w)
	sink := log.Handler().(*jsonLog)
	var wg sync.WaitGroup
	const goroutines, each = 8, 500
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if i%2 == 0 {
					log.Info("record", "g", g, "i", i)
				} else {
					sink.WriteLine(fmt.Appendf(nil, `{"msg":"line","g":%d,"i":%d}`+"\n", g, i))
				}
			}
		}()
	}
	wg.Wait()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	out, writes := w.state()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != goroutines*each {
		t.Fatalf("%d lines, want %d", len(lines), goroutines*each)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "{") || !strings.HasSuffix(l, "}") {
			t.Fatalf("broken line %q", l)
		}
	}
	if writes >= len(lines)/10 {
		t.Errorf("%d writes for %d lines: not buffered", writes, len(lines))
	}
}
