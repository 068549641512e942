package app

import (
	"io"
	"log/slog"
	"sync"

	"github.com/ferrygw/ferry/internal/server"
)

// jsonLog is slog's JSON handler that also takes the server's access log
// lines, which the server encodes itself into a reused buffer
// (server/accesslog.go) in the handler's own shape. One lock keeps the
// handler's records and those lines whole and apart.
type jsonLog struct {
	*slog.JSONHandler
	out io.Writer
}

var _ server.LineSink = (*jsonLog)(nil)

// newJSONLog writes to w under one lock; a LogBuffer is its own lock.
func newJSONLog(w io.Writer, ho *slog.HandlerOptions) *jsonLog {
	out := w
	if _, ok := w.(*LogBuffer); !ok {
		out = &lockedWriter{w: w}
	}
	return &jsonLog{JSONHandler: slog.NewJSONHandler(out, ho), out: out}
}

// WriteLine writes one encoded line with one Write.
func (h *jsonLog) WriteLine(line []byte) error {
	_, err := h.out.Write(line)
	return err
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
