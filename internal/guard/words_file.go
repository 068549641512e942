package guard

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zeebo/xxh3"
)

// WordFiles is a word list read from files (one word a line, blank lines
// and lines starting with # ignored), reloaded when a file's content
// changes. It is the only part of the package that does I/O.
type WordFiles struct {
	paths   []string
	current atomic.Pointer[WordList]
	sum     atomic.Uint64 // xxh3 of the files' contents last loaded
}

// LoadWordFiles reads paths into a list.
func LoadWordFiles(paths []string) (*WordFiles, error) {
	wf := &WordFiles{paths: paths}
	if _, err := wf.Reload(); err != nil {
		return nil, err
	}
	return wf, nil
}

// List returns the list in force.
func (wf *WordFiles) List() *WordList { return wf.current.Load() }

// Reload rereads the files and rebuilds the list when their content
// changed since the last load (content, not modification times, which
// can miss a quick rewrite); it reports whether it did. On error the list
// in force is kept.
func (wf *WordFiles) Reload() (bool, error) {
	h := xxh3.New()
	var words []string
	for _, p := range wf.paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return false, fmt.Errorf("word file: %w", err)
		}
		h.Write(data)
		h.Write([]byte{0})
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			w := strings.TrimSpace(sc.Text())
			if w != "" && !strings.HasPrefix(w, "#") {
				words = append(words, w)
			}
		}
		if err := sc.Err(); err != nil {
			return false, fmt.Errorf("word file %s: %w", p, err)
		}
	}
	sum := h.Sum64()
	if wf.current.Load() != nil && wf.sum.Load() == sum {
		return false, nil
	}
	wl, err := NewWordList(words)
	if err != nil {
		return false, fmt.Errorf("word files %v: %w", wf.paths, err)
	}
	wf.current.Store(wl)
	wf.sum.Store(sum)
	return true, nil
}

// Watch reloads the files every interval until ctx ends; onErr (which may
// be nil) hears of failed reloads, after which the previous list stays in
// force.
func (wf *WordFiles) Watch(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	wf.WatchTicks(ctx, t.C, onErr)
}

// WatchTicks is Watch driven by ticks, for a caller with its own clock.
func (wf *WordFiles) WatchTicks(ctx context.Context, ticks <-chan time.Time, onErr func(error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			if _, err := wf.Reload(); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}
