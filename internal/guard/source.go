package guard

import (
	"io"

	"github.com/ferrygw/ferry/internal/sse"
)

// Source wraps an Anthropic answer stream with the answer filter a. It is
// where the relay plugs the guard in: on the Anthropic events, before any
// translation to an OpenAI or legacy client's frames. After a refusal it
// ends (io.EOF) once the closing events are read, without reading the
// upstream further; Close closes the upstream.
func (a *Answer) Source(src sse.Source) sse.Source {
	return &filteredSource{src: src, a: a}
}

type filteredSource struct {
	src   sse.Source
	a     *Answer
	queue []sse.Event
}

func (f *filteredSource) Next() (sse.Event, error) {
	for len(f.queue) == 0 {
		if f.a.Refused() {
			return sse.Event{}, io.EOF
		}
		ev, err := f.src.Next()
		if err != nil {
			return sse.Event{}, err
		}
		f.queue = f.a.Filter(ev, f.queue[:0])
	}
	ev := f.queue[0]
	f.queue = f.queue[1:]
	return ev, nil
}

func (f *filteredSource) Close() error { return f.src.Close() }
