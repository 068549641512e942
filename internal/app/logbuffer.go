package app

import (
	"io"
	"sync"
	"time"
)

// LogBuffer gathers log lines and writes them to the log's destination in
// large writes: when the buffer is full, at most flushEvery after its
// first line, and on Close. Under load that is one write(2) per tens of
// kilobytes, not one per request: the access log costed a syscall per line.
//
// A graceful shutdown loses nothing (`ferry serve` closes the buffer after
// the app has drained); a crash (SIGKILL, a runtime fatal error) may lose
// the lines of the last flush interval.
type LogBuffer struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	armed  bool // the flush timer runs: buf has lines
	closed bool
	timer  *time.Timer
	every  time.Duration
	err    error // the last failed write, reported by Flush and Close
}

// Defaults of the buffer: 64 KiB, flushed every 100 ms.
const (
	logBufferSize = 64 << 10
	logFlushEvery = 100 * time.Millisecond
)

func newLogBuffer(w io.Writer, size int, every time.Duration) *LogBuffer {
	b := &LogBuffer{w: w, buf: make([]byte, 0, size), every: every}
	b.timer = time.AfterFunc(time.Hour, b.tick)
	b.timer.Stop()
	return b
}

// Write keeps p whole in the buffer (or writes it through when it is as
// large as the buffer, or the buffer is closed). Lines written with one
// Write stay whole and in order.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.w.Write(p)
	}
	if len(b.buf)+len(p) > cap(b.buf) {
		b.flushLocked()
		if len(p) >= cap(b.buf) {
			return b.w.Write(p)
		}
	}
	b.buf = append(b.buf, p...)
	if !b.armed {
		b.armed = true
		b.timer.Reset(b.every)
	}
	return len(p), nil
}

// tick is the timer's flush.
func (b *LogBuffer) tick() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	b.flushLocked()
}

// Flush writes what the buffer holds.
func (b *LogBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	return b.err
}

// Close flushes the buffer and stops buffering: later lines are written
// through at once.
func (b *LogBuffer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timer.Stop()
	b.armed = false
	b.flushLocked()
	b.closed = true
	return b.err
}

func (b *LogBuffer) flushLocked() {
	if len(b.buf) == 0 {
		return
	}
	if _, err := b.w.Write(b.buf); err != nil {
		b.err = err // as slog: a failed log write fails no request
	}
	b.buf = b.buf[:0]
}
