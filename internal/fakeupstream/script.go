package fakeupstream

import (
	"net/http"
	"time"
)

// Script decides the reply to the n-th request a fake receives (n counts
// from 0, queued replies included) when no reply is queued. It runs under
// the fake's lock: it must not call the fake's methods.
type Script func(n int) Reply

// Always answers every request with r.
func Always(r Reply) Script { return func(int) Reply { return r } }

// First answers the first k requests with bad, the rest with good.
func First(k int, bad, good Reply) Script {
	return func(n int) Reply {
		if n < k {
			return bad
		}
		return good
	}
}

// Share answers a share in [0,1] of requests with bad and the rest with
// good, spread evenly and deterministically: among the first n requests
// exactly floor(n*share) get bad.
func Share(share float64, bad, good Reply) Script {
	return func(n int) Reply {
		if int(float64(n+1)*share) > int(float64(n)*share) {
			return bad
		}
		return good
	}
}

// Until answers with bad until the clock passes end, then with good: a
// storm for a period. now defaults to time.Now.
func Until(now func() time.Time, end time.Time, bad, good Reply) Script {
	if now == nil {
		now = time.Now
	}
	return func(int) Reply {
		if now().Before(end) {
			return bad
		}
		return good
	}
}

// WithHeader returns a copy of f with header k set to v, or removed when
// v is empty: e.g. a recorded 429 with "Retry-After-Ms: 100" in place of
// its "Retry-After: 7".
func (f *Fixture) WithHeader(k, v string) *Fixture {
	c := *f
	c.Header = f.Header.Clone()
	if v == "" {
		c.Header.Del(k)
	} else {
		c.Header.Set(k, v)
	}
	return &c
}

// Malformed is a 200 answer whose JSON body is cut short: f's headers and
// the first half of its body (f should be a JSON message fixture).
func Malformed(f *Fixture) *Fixture {
	c := *f
	c.Name = f.Name + " (malformed)"
	c.Header = f.Header.Clone()
	c.Header.Del("Content-Length")
	c.Status = http.StatusOK
	c.Body = f.Body[:len(f.Body)/2]
	return &c
}
