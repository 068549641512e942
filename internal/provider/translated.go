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
}

// NewTranslated translates src with tr.
func NewTranslated(src Stream, tr StreamTranslator) *Translated {
	return &Translated{StreamBase: StreamBase{Src: src}, Tr: tr}
}

// Next yields the translator's next event, reading the source as needed.
func (t *Translated) Next() (sse.Event, error) {
	for {
		if ev, ok := t.Tr.Next(); ok {
			return ev, nil
		}
		if t.ended || t.Tr.Done() {
			return sse.Event{}, io.EOF
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
