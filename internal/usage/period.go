package usage

import (
	"fmt"
	"time"
)

// Period is how often a budget starts over.
type Period string

// Periods. Weeks start on Monday; every period starts at midnight in the
// budget's time zone (default Asia/Shanghai), so that a Beijing team's
// "today" is Beijing's today, not UTC's.
const (
	Daily   Period = "daily"
	Weekly  Period = "weekly"
	Monthly Period = "monthly"
)

// Valid reports whether p is a known period.
func (p Period) Valid() bool { return p == Daily || p == Weekly || p == Monthly }

// Window is one period's span: [Start, End) and a key naming it, such as
// "daily:2026-12-06", which is the same on every instance.
type Window struct {
	Start, End time.Time
	Key        string
}

// Window returns the period of kind p that contains t, in loc.
func (p Period) Window(t time.Time, loc *time.Location) Window {
	l := t.In(loc)
	y, mo, d := l.Date()
	var start, end time.Time
	switch p {
	case Weekly:
		back := (int(l.Weekday()) + 6) % 7 // days since Monday
		start = time.Date(y, mo, d-back, 0, 0, 0, 0, loc)
		end = time.Date(y, mo, d-back+7, 0, 0, 0, 0, loc)
	case Monthly:
		start = time.Date(y, mo, 1, 0, 0, 0, 0, loc)
		end = time.Date(y, mo+1, 1, 0, 0, 0, 0, loc)
	default:
		start = time.Date(y, mo, d, 0, 0, 0, 0, loc)
		end = time.Date(y, mo, d+1, 0, 0, 0, 0, loc)
	}
	return Window{Start: start, End: end, Key: fmt.Sprintf("%s:%s", p, start.Format(time.DateOnly))}
}

// RetryAfter is how long from now until w ends, in whole seconds rounded up
// (at least 1), for a refused request's retry-after header.
func (w Window) RetryAfter(now time.Time) time.Duration {
	d := w.End.Sub(now)
	s := (d + time.Second - 1) / time.Second
	if s < 1 {
		s = 1
	}
	return s * time.Second
}
