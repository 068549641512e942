package provider

import (
	"io"

	"github.com/ferrygw/ferry/internal/sse"
)

// StreamTranslator turns one stream's events into another format's, for
// Translated: Feed takes a source event and queues what it makes of it,
// Next yields the queue, Finish ends the translation (err: the source's
// failure, nil at a clean end) with a closing event, and Done reports that
// the translation ended on its own (after an upstream error chunk) and
// wants no more of the source.
type StreamTranslator interface {
	Feed(sse.Event)
	Next() (sse.Event, bool)
	Finish(err error)
	Done() bool
}

// Translated is the one stream-translation loop: it reads Src's events,
// feeds them to Tr and yields what Tr makes. Tr closes every stream it is
// given (an end marker, or an error event), so io.EOF from here is always
// a clean end; a source failure (a cut, a read error) is Tr.Finish's
// argument and the stream's Fault. Usage and Note are Src's; a wrapper
// whose translator knows better overrides them.
type Translated struct {
	StreamBase
	Tr    StreamTranslator
	ended bool
	fault error // the source's failure, closed by Tr

	held    bool // Ready took the next event (or the end) from Tr: Next returns it
	hold    sse.Event
	holdErr error
}

// NewTranslated translates src with tr.
func NewTranslated(src Stream, tr StreamTranslator) *Translated {
	return &Translated{StreamBase: StreamBase{Src: src}, Tr: tr}
}

// Next yields the translator's next event, reading the source as needed.
func (t *Translated) Next() (sse.Event, error) {
	if t.held {
		t.held = false
		return t.hold, t.holdErr
	}
	ev, _, err := t.step(true)
	return ev, err
}

// Ready reports whether Next would return without waiting on the source:
// it translates the source's events at hand until one comes out (kept for
// Next) or none is left, as a translation may make nothing of an event.
func (t *Translated) Ready() bool {
	if !t.held {
		t.hold, t.held, t.holdErr = t.step(false)
	}
	return t.held
}

// step yields the translator's next event, reading the source as needed;
// with wait false it reads the source only while Src is Ready, and
// reports false when it would have to wait.
func (t *Translated) step(wait bool) (sse.Event, bool, error) {
	for {
		if ev, ok := t.Tr.Next(); ok {
			return ev, true, nil
		}
		if t.ended || t.Tr.Done() {
			return sse.Event{}, true, io.EOF
		}
		if !wait && !t.Src.Ready() {
			return sse.Event{}, false, nil
		}
		ev, err := t.Src.Next()
		if err != nil {
			t.ended = true
			if err == io.EOF {
				err = nil
			}
			t.fault = err
			t.Tr.Finish(err)
			continue
		}
		t.Tr.Feed(ev)
	}
}

// Fault is the source's failure, or the fault the source reported.
func (t *Translated) Fault() error {
	if t.fault != nil {
		return t.fault
	}
	return t.Src.Fault()
}
