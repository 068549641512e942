package shadow

import (
	"errors"
	"io"
	"sync"

	"github.com/ferrygw/ferry/internal/sse"
)

// TapEvents returns a Source that yields src's events unchanged and feeds
// each to rec. When the stream ends (Next returns an error) or is closed,
// whichever comes first, done gets rec's Outcome, once, outside any lock.
// Usage, notes and how the stream ended are not its business: the relay
// wraps the tap in a provider.StreamBase over the same source.
func TapEvents(src sse.Source, rec *Recorder, done func(Outcome)) sse.Source {
	return &tapEvents{src: src, tapEnd: tapEnd{rec: rec, done: done}}
}

// tapEnd is the end both taps share: done gets rec's Outcome once, when
// the answer ends or the tap is closed, whichever comes first.
type tapEnd struct {
	mu   sync.Mutex // Close may run while Next or Read is blocked
	rec  *Recorder
	done func(Outcome)
	over bool // done was called
}

// endOnce ends the tap unless it has ended already.
func (t *tapEnd) endOnce(feed func()) {
	t.mu.Lock()
	if t.over {
		t.mu.Unlock()
		return
	}
	t.end(feed)
}

// end is called with mu held and releases it before calling done. feed,
// when not nil, first gives rec what the tap kept back.
func (t *tapEnd) end(feed func()) {
	t.over = true
	if feed != nil {
		feed()
	}
	o := t.rec.Outcome()
	t.mu.Unlock()
	if t.done != nil {
		t.done(o)
	}
}

type tapEvents struct {
	src sse.Source
	tapEnd
}

func (t *tapEvents) Next() (sse.Event, error) {
	ev, err := t.src.Next()
	t.mu.Lock()
	if t.over {
		t.mu.Unlock()
		return ev, err
	}
	if err == nil {
		t.rec.FeedEvent(ev)
		t.mu.Unlock()
		return ev, nil
	}
	if err != io.EOF {
		t.rec.Fail(err)
	}
	t.end(nil) // unlocks
	return ev, err
}

func (t *tapEvents) Close() error {
	t.endOnce(nil)
	return t.src.Close()
}

// TapBody returns a ReadCloser that reads body unchanged and keeps a copy
// of what passes (up to MaxBody) for rec. At end of file or Close,
// whichever comes first, rec gets the bytes and done gets its Outcome,
// once. The copy is the price of a mirrored JSON answer; answers are
// rarely over a few hundred kilobytes.
func TapBody(body io.ReadCloser, rec *Recorder, done func(Outcome)) io.ReadCloser {
	return &tapBody{body: body, tapEnd: tapEnd{rec: rec, done: done}}
}

type tapBody struct {
	body io.ReadCloser
	tapEnd
	buf []byte
	big bool // more than MaxBody passed
}

func (t *tapBody) Read(p []byte) (int, error) {
	n, err := t.body.Read(p)
	t.mu.Lock()
	if t.over {
		t.mu.Unlock()
		return n, err
	}
	if n > 0 && !t.big {
		if len(t.buf)+n > MaxBody {
			t.big, t.buf = true, nil
		} else {
			t.buf = append(t.buf, p[:n]...)
		}
	}
	if err == nil {
		t.mu.Unlock()
		return n, nil
	}
	if err != io.EOF {
		t.rec.Fail(err)
	}
	t.end(t.feed) // unlocks
	return n, err
}

func (t *tapBody) Close() error {
	t.endOnce(t.feed)
	return t.body.Close()
}

// feed gives rec the body kept (mu held).
func (t *tapBody) feed() {
	if t.big {
		t.rec.Fail(errTooBig)
	} else {
		// Fed even without end of file: a reader that stopped at the
		// body's last byte still read it all, and an incomplete body
		// does not parse.
		t.rec.FeedBody(t.buf)
	}
	t.buf = nil
}

var errTooBig = errors.New("answer over the shadow body limit")
