package server

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/metrics"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/relay"
	"github.com/ferrygw/ferry/internal/sse"
)

// flushRecorder counts the flushes of a stream and tells of each one.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushes int
	flushed chan struct{} // nil: nobody waits
}

func (w *flushRecorder) Flush() {
	w.flushes++
	if w.flushed != nil {
		w.flushed <- struct{}{}
	}
}

// burst is a 17-event Anthropic stream.
func burst() []string {
	evs := []string{"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3}}}\n\n"}
	for i := range 15 {
		evs = append(evs, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"w"+strings.Repeat("o", i)+"\"}}\n\n")
	}
	return append(evs, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
}

// relayTo relays src's events to w as a stream answer.
func relayTo(w *flushRecorder, src io.Reader) {
	s := &Server{m: metrics.New(), writeTimeout: time.Second}
	x := &exchange{ResponseWriter: w, start: time.Now(), status: http.StatusOK}
	x.rc = *http.NewResponseController(w)
	r := httptest.NewRequest(http.MethodPost, "/v1/messages", nil)
	res := &relay.Result{Response: &provider.Response{Status: http.StatusOK, Events: provider.Plain(sse.NewReader(src, 0))}, Provider: "p"}
	s.relayStream(x, r, res)
}

// A burst the upstream sent in one read goes out with one flush after the
// headers', not one per event.
func TestStreamBurstFlushedOnce(t *testing.T) {
	evs := burst()
	w := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
	relayTo(w, strings.NewReader(strings.Join(evs, "")))
	if got, want := w.Body.String(), strings.Join(evs, ""); got != want {
		t.Fatalf("relayed\n%q\nwant\n%q", got, want)
	}
	if w.flushes > 2 {
		t.Errorf("%d events read at once took %d flushes, want at most 2 (the headers, the burst)", len(evs), w.flushes)
	}
}

// A stream whose events arrive one by one has each flushed as it comes:
// the next one is sent only once the previous one was flushed.
func TestStreamSlowEventsFlushedAtOnce(t *testing.T) {
	evs := burst()
	pr, pw := io.Pipe()
	w := &flushRecorder{ResponseRecorder: httptest.NewRecorder(), flushed: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		relayTo(w, pr)
	}()
	wait := func(what string) {
		select {
		case <-w.flushed:
		case <-time.After(5 * time.Second):
			t.Fatalf("no flush after %s", what)
		}
	}
	wait("the headers")
	for i, ev := range evs {
		go pw.Write([]byte(ev))
		wait("event " + strconv.Itoa(i))
	}
	pw.Close()
	go func() {
		for range w.flushed { // a final flush, if any
		}
	}()
	<-done
	close(w.flushed)
	if !bytes.Equal(w.Body.Bytes(), []byte(strings.Join(evs, ""))) {
		t.Errorf("relayed %q", w.Body.String())
	}
}
