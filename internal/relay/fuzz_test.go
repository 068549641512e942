package relay

import (
	"net/http"
	"testing"
	"time"
)

// FuzzParseRetryAfter: an upstream's retry hints are outside input; any
// value gives a wait that is not negative and, unless it is a date, at most
// the 1e6 s the parser accepts.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range [][2]string{{"", "2"}, {"150", ""}, {"12.5", "1"}, {"junk", "Wed, 21 Oct 2015 07:28:00 GMT"}, {"-1", "-1"}, {"1e308", "99999999999999999999"}, {"NaN", "Inf"}} {
		f.Add(s[0], s[1])
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, ms, secs string) {
		h := http.Header{}
		if ms != "" {
			h.Set("Retry-After-Ms", ms)
		}
		if secs != "" {
			h.Set("Retry-After", secs)
		}
		d := parseRetryAfter(h, now)
		if d < 0 {
			t.Fatalf("retry-after-ms %q, retry-after %q: %v", ms, secs, d)
		}
		if _, err := http.ParseTime(secs); err != nil && d > 1e6*time.Second {
			t.Fatalf("retry-after-ms %q, retry-after %q: %v is too long", ms, secs, d)
		}
	})
}
