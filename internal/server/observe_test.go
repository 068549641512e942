package server

import (
	"errors"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/metrics"
)

func TestErrorTextOnce(t *testing.T) {
	cause := errors.New("unexpected end of JSON input")
	for _, c := range []struct {
		e    *apierr.Error
		want string
	}{
		{apierr.Wrap(apierr.InvalidRequest, cause, cause.Error()), "unexpected end of JSON input"},
		{apierr.Wrap(apierr.BadGateway, cause, "upstream answer could not be read"), "upstream answer could not be read: unexpected end of JSON input"},
		{apierr.New(apierr.NotFound, "model %q not found", "x"), `model "x" not found`},
		{apierr.Wrap(apierr.BadGateway, errors.New("read: upstream answer could not be read: EOF"), "upstream answer could not be read"), "read: upstream answer could not be read: EOF"},
	} {
		if got := errorText(c.e); got != c.want {
			t.Errorf("errorText(%v) = %q, want %q", c.e, got, c.want)
		}
	}
}

// BenchmarkObserve is a finished request's metrics: the request counter,
// the latency split and the request span (tracing off).
func BenchmarkObserve(b *testing.B) {
	s := &Server{m: metrics.New(), tags: metrics.NewLabels([]string{"batch", "chat"})}
	x := &exchange{endpoint: epMessages, route: "claude-sonnet-4-5", model: "claude-sonnet-4-5", provider: "anthropic",
		node: "10.0.0.1", tag: "batch", stream: true, firstByte: time.Millisecond, upstreamWait: 40 * time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		s.observe(x, 200, 41*time.Millisecond)
	}
}
