package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"

	"github.com/ferrygw/ferry/internal/cache"
	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/sse"
)

// Filling the cache: an answer is stored as it goes by the client, when
// it is complete (see relayDo).

// tap stores an answer once it is complete.
type tap struct {
	s           *Server
	r           *http.Request
	st          *cacheState
	shared      *sharedResult // the shared call, whose answer is stored once
	acc         *cache.Accumulator
	contentType string
	done        bool
}

// complete stores a finished answer (msg nil: it did not finish, or
// cannot be stored).
func (t *tap) complete(msg []byte) {
	if t.done {
		return
	}
	t.done = true
	st, s := t.st, t.s
	if msg == nil {
		s.finishClaim(t.r, st, nil, "")
		return
	}
	if t.contentType == "" {
		t.contentType = "application/json"
	}
	// A shared answer is stored once, by whichever of its requests gets
	// to its end first (the one that made the call may have left).
	if st.keep > 0 && (t.shared == nil || t.shared.stored.CompareAndSwap(false, true)) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.r.Context()), storeTimeout)
		err := s.cache.Put(ctx, st.key, st.scope, msg, t.contentType, st.keep)
		cancel()
		if err != nil && err != cache.ErrTooLarge {
			s.m.CacheErrors.WithLabelValues("put").Inc()
			s.log.Warn("cache store failed", slog.String("op", "put"), slog.Any("error", err))
		}
	}
	s.finishClaim(t.r, st, msg, t.contentType)
}

// tapBody passes a JSON answer through, keeping a copy up to the largest
// answer stored, and stores it when the body has been read to its end.
type tapBody struct {
	io.ReadCloser
	t    *tap
	buf  []byte
	over bool
}

func (b *tapBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if !b.over {
		if int64(len(b.buf)+n) > b.t.s.cache.MaxEntryBytes() {
			b.over, b.buf = true, nil
		} else {
			b.buf = append(b.buf, p[:n]...)
		}
	}
	if err == io.EOF {
		var msg []byte
		// Only a message is an answer worth keeping.
		if !b.over && string(jsonpeek.Member(b.buf, "type")) == `"message"` && jsonpeek.Valid(b.buf) {
			msg = b.buf
		}
		b.t.complete(msg)
	}
	return n, err
}

func (b *tapBody) Close() error {
	b.t.complete(nil)
	return b.ReadCloser.Close()
}

// tapEvents passes a stream through, rebuilding its message, and stores
// the message when message_stop goes by, before the client gets it.
type tapEvents struct {
	provider.StreamBase
	t *tap
}

func (e *tapEvents) Next() (sse.Event, error) {
	ev, err := e.Src.Next()
	if err == nil && !e.t.done {
		e.t.acc.Add(ev.Name, ev.Data)
		if string(ev.Name) == "message_stop" {
			msg, _ := e.t.acc.Message()
			e.t.complete(msg)
		}
	}
	return ev, err
}

func (e *tapEvents) Close() error {
	e.t.complete(nil)
	return e.Src.Close()
}
