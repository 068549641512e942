package app

import (
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/ferrygw/ferry/internal/config"

	"github.com/ferrygw/ferry/internal/server"
)

// jsonLog is slog's JSON handler that also takes the server's access log
// lines, which the server encodes itself into a reused buffer
// (server/accesslog.go) in the handler's own shape. One lock keeps the
// handler's records and those lines whole and apart.
type jsonLog struct {
	*slog.JSONHandler
	out io.Writer
	lvl *slog.LevelVar
}

var _ server.LineSink = (*jsonLog)(nil)

// newJSONLog writes to w under one lock; a LogBuffer is its own lock.
func newJSONLog(w io.Writer, lvl *slog.LevelVar) *jsonLog {
	out := w
	if _, ok := w.(*LogBuffer); !ok {
		out = &lockedWriter{w: w}
	}
	return &jsonLog{JSONHandler: slog.NewJSONHandler(out, &slog.HandlerOptions{Level: lvl}), out: out, lvl: lvl}
}

// SetLevel changes the level (a hot reload of log.level).
func (h *jsonLog) SetLevel(l slog.Level) { h.lvl.Set(l) }

// textLog is slog's text handler whose level a reload may change.
type textLog struct {
	*slog.TextHandler
	lvl *slog.LevelVar
}

// SetLevel changes the level (a hot reload of log.level).
func (h *textLog) SetLevel(l slog.Level) { h.lvl.Set(l) }

// levelSetter is a handler NewLogger built: its level follows log.level
// over reloads. (A logger passed in Options keeps its own.)
type levelSetter interface{ SetLevel(slog.Level) }

// NewLogger builds the logger the config asks for, writing to w (stderr if
// nil). A reload of log.level changes its level.
func NewLogger(c config.Log, w io.Writer) *slog.Logger {
	if w == nil {
		w = stderr()
	}
	return newLogger(c, w)
}

// NewBufferedLogger is NewLogger writing through a LogBuffer (64 KiB,
// flushed every 100 ms): few write syscalls under load. Close the buffer
// after the app's Run returns; until then a crash may lose the last 100 ms
// of lines.
func NewBufferedLogger(c config.Log, w io.Writer) (*slog.Logger, *LogBuffer) {
	if w == nil {
		w = stderr()
	}
	b := newLogBuffer(w, logBufferSize, logFlushEvery)
	return newLogger(c, b), b
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	lvl := new(slog.LevelVar)
	lvl.Set(logLevel(c.Level))
	if c.Format == "text" {
		return slog.New(&textLog{TextHandler: slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl}), lvl: lvl})
	}
	return slog.New(newJSONLog(w, lvl))
}

// logLevel is log.level's slog level (info when empty).
func logLevel(level string) slog.Level {
	switch strings.ToLower(level) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// setLogLevel puts log.level in force on a logger NewLogger built.
func setLogLevel(log *slog.Logger, level string) {
	if ls, ok := log.Handler().(levelSetter); ok {
		ls.SetLevel(logLevel(level))
	}
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
