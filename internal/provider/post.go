package provider

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Post sends body to u with header h through rt, once, under an idle
// guard: the wait for the answer's headers bounded by firstByte, the gaps
// between reads of its body by idle (GuardBody, or the guard's Touch). An
// error means no answer was had (see Failure); the answer's body is the
// caller's to close.
func Post(ctx context.Context, rt http.RoundTripper, u *url.URL, h http.Header, body []byte, firstByte, idle time.Duration) (*http.Response, *IdleGuard, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	p := new(posted)
	p.body.Reset(body)
	// Built by hand rather than with http.NewRequest: the URL is parsed
	// once per node, not once per request. The body is a bytes.Reader
	// with its length, so that a small request leaves in one write.
	req := (&http.Request{
		Method:        http.MethodPost,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          &p.body,
		GetBody:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
		ContentLength: int64(len(body)),
		Host:          u.Host,
	}).WithContext(ctx)
	g := &p.guard
	g.start(ctx, cancel, firstByte, idle)
	resp, err := rt.RoundTrip(req)
	if err = g.Headers(err); err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return nil, nil, err
	}
	return resp, g, nil
}

// posted is one Post's request body and guard, allocated together.
type posted struct {
	guard IdleGuard
	body  memBody
}

// memBody is a request body in memory: io.NopCloser(bytes.NewReader)
// in one value.
type memBody struct{ bytes.Reader }

func (*memBody) Close() error { return nil }
