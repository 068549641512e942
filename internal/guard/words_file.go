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
)

// WordFiles is a word list read from files (one word a line, blank lines
// and lines starting with # ignored), reloaded when a file changes. It is
// the only part of the package that does I/O.
type WordFiles struct {
	paths   []string
	current atomic.Pointer[WordList]
	stamp   atomic.Value // string: the files' sizes and modification times
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

func (wf *WordFiles) stampNow() (string, error) {
	var b strings.Builder
	for _, p := range wf.paths {
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("word file: %w", err)
		}
		fmt.Fprintf(&b, "%s:%d:%d;", p, fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String(), nil
}

// Reload rereads the files when any changed since the last load, and
// reports whether it did. On error the list in force is kept.
func (wf *WordFiles) Reload() (bool, error) {
	st, err := wf.stampNow()
	if err != nil {
		return false, err
	}
	if old, _ := wf.stamp.Load().(string); old == st && wf.current.Load() != nil {
		return false, nil
	}
	var words []string
	for _, p := range wf.paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return false, fmt.Errorf("word file: %w", err)
		}
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
	wl, err := NewWordList(words)
	if err != nil {
		return false, fmt.Errorf("word files %v: %w", wf.paths, err)
	}
	wf.current.Store(wl)
	wf.stamp.Store(st)
	return true, nil
}

// Watch polls the files every interval until ctx ends, reloading on
// change; onErr (which may be nil) hears of failed reloads, after which the
// previous list stays in force.
func (wf *WordFiles) Watch(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := wf.Reload(); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}
