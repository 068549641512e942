package server

// The access log line's fields, and the encoder that writes them as one
// JSON line into a reused buffer.
//
// slog's attribute path costs, per line, an Attr slice, a Record, a
// json.Marshal of every float (slog's JSON handler does that to match
// encoding/json) and of the attempts list, and the handler's own buffer
// management. When the logger's handler is a LineSink (app's JSON logger
// is), the line is encoded here instead, byte for byte the shape slog's
// JSON handler writes: {"time":…,"level":…,"msg":"request", then the
// fields in the same order with the same names and values}. Any other
// handler (the text format, a test's) gets the same fields as attributes.

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// A LineSink is a slog.Handler that also takes whole log lines, already
// encoded as its JSON records are, and writes each with one Write,
// serialized with the records it writes itself.
type LineSink interface {
	slog.Handler
	WriteLine(line []byte) error
}

// lineFields receives an access log line's fields in order.
type lineFields interface {
	str(key, v string)
	num(key string, v int64)
	ms(key string, d time.Duration) // a duration in milliseconds, µs precision
	flag(key string, v bool)
	strs(key string, v []string)
}

// accessLevel is the line's level: debug for health checks and the root,
// else info; warn when the request failed or its answer was faulty; error
// for an internal error.
func accessLevel(x *exchange, base slog.Level) slog.Level {
	level := base
	if x.err != nil {
		level = max(level, slog.LevelWarn)
		if x.err.Kind == apierr.Internal {
			level = slog.LevelError
		}
	}
	if x.note != nil || x.streamErr != nil {
		level = max(level, slog.LevelWarn)
	}
	return level
}

// accessFields walks the line's fields, the one list of them.
func accessFields(x *exchange, r *http.Request, status int, d time.Duration, f lineFields, redact func(string) string) {
	f.str("request_id", x.id)
	f.str("method", r.Method)
	f.str("path", r.URL.Path)
	f.num("status", int64(status))
	f.ms("duration_ms", d)
	f.num("bytes_in", x.bytesIn)
	f.num("bytes_out", x.bytesOut)
	optional(f, "key", x.key)
	if x.model != "" {
		f.str("model", x.model)
		f.flag("stream", x.stream)
	}
	optional(f, "route", x.route)
	optional(f, "tag", x.tag)
	if x.provider != "" {
		f.str("provider", x.provider)
		f.str("node", x.node)
		f.str("upstream_model", x.upstreamModel)
		f.ms("first_byte_ms", x.firstByte)
	}
	if n := len(x.attempts); n > 1 || n == 1 && x.attempts[0].Status/100 != 2 {
		// provider@node:outcome, in order: the fallback path at a glance
		// (a lone success says no more than provider and node above).
		list := make([]string, len(x.attempts))
		for i, a := range x.attempts {
			list[i] = a.String()
		}
		f.strs("attempts", list)
	}
	if c := x.cache; c != nil && c.result != "" {
		f.str("cache", c.result)
		f.flag("cached", c.free)
	}
	if x.usageSeen {
		f.num("input_tokens", x.usage.Input)
		f.num("output_tokens", x.usage.Output)
		f.num("cache_read_input_tokens", x.usage.CacheRead)
		f.num("cache_creation_input_tokens", x.usage.CacheCreation)
	}
	if x.err != nil {
		f.str("error_kind", x.err.Kind.String())
		f.str("error", redact(errorText(x.err)))
	}
	if x.note != nil {
		f.str("upstream_note", redact(x.note.Error()))
	}
	if x.streamErr != nil {
		f.str("stream_error", redact(x.streamErr.Error()))
	}
}

// optional writes a string field that is there only when not empty.
func optional(f lineFields, key, v string) {
	if v != "" {
		f.str(key, v)
	}
}

// writeAccess writes the request's access log line at base level or above
// (accessLevel), through the LineSink when there is one.
func (s *Server) writeAccess(x *exchange, r *http.Request, base slog.Level, status int, d time.Duration) {
	level := accessLevel(x, base)
	sink, ok := s.log.Handler().(LineSink)
	if !ok {
		var f attrFields
		f.a = make([]slog.Attr, 0, 24)
		accessFields(x, r, status, d, &f, s.redactLog)
		s.log.LogAttrs(context.Background(), level, "request", f.a...)
		return
	}
	f, _ := s.lines.Get().(*jsonFields)
	if f == nil {
		f = new(jsonFields)
	}
	f.b = appendLineHead(f.b[:0], time.Now(), level, "request")
	accessFields(x, r, status, d, f, s.redactLog)
	f.b = append(f.b, '}', '\n')
	sink.WriteLine(f.b) // as slog: a failed log write is not the request's failure
	if cap(f.b) <= 64<<10 {
		s.lines.Put(f)
	}
}

// appendLineHead starts a JSON line as slog's JSON handler does: the time
// (RFC 3339 with nanoseconds, the monotonic reading dropped), the level and
// the message.
func appendLineHead(b []byte, t time.Time, level slog.Level, msg string) []byte {
	b = append(b, `{"time":"`...)
	b = t.Round(0).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":`...)
	b = jsonpeek.AppendString(b, level.String())
	b = append(b, `,"msg":`...)
	return jsonpeek.AppendString(b, msg)
}

// jsonFields appends fields to a JSON line. Keys are constants that need
// no escaping.
type jsonFields struct{ b []byte }

func (j *jsonFields) key(k string) {
	j.b = append(j.b, ',', '"')
	j.b = append(j.b, k...)
	j.b = append(j.b, '"', ':')
}

func (j *jsonFields) str(k, v string) {
	j.key(k)
	j.b = jsonpeek.AppendString(j.b, v)
}

func (j *jsonFields) num(k string, v int64) {
	j.key(k)
	j.b = strconv.AppendInt(j.b, v, 10)
}

// ms writes d in milliseconds with three decimals at most: the value
// float64(d.Microseconds())/1000 that slog writes, formatted as
// encoding/json formats it (%f-style in this range, shortest form).
func (j *jsonFields) ms(k string, d time.Duration) {
	j.key(k)
	j.b = appendMs(j.b, d)
}

// appendMs appends msOf(d) as strconv.AppendFloat(b, msOf(d), 'f', -1, 64)
// does, from the integer microseconds: below 1e15 µs (31 years) the
// shortest decimal of the float is the exact one, trailing zeros dropped.
func appendMs(b []byte, d time.Duration) []byte {
	us := d.Microseconds()
	if us <= -1e15 || us >= 1e15 {
		return strconv.AppendFloat(b, msOf(d), 'f', -1, 64)
	}
	if us < 0 {
		b, us = append(b, '-'), -us
	}
	b = strconv.AppendInt(b, us/1000, 10)
	frac := us % 1000
	if frac == 0 {
		return b
	}
	digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for digits[n-1] == '0' {
		n--
	}
	return append(append(b, '.'), digits[:n]...)
}

func (j *jsonFields) flag(k string, v bool) {
	j.key(k)
	j.b = strconv.AppendBool(j.b, v)
}

func (j *jsonFields) strs(k string, v []string) {
	j.key(k)
	j.b = append(j.b, '[')
	for i, s := range v {
		if i > 0 {
			j.b = append(j.b, ',')
		}
		j.b = jsonpeek.AppendString(j.b, s)
	}
	j.b = append(j.b, ']')
}

// attrFields collects fields as slog attributes, for any other handler.
type attrFields struct{ a []slog.Attr }

func (f *attrFields) str(k, v string)              { f.a = append(f.a, slog.String(k, v)) }
func (f *attrFields) num(k string, v int64)        { f.a = append(f.a, slog.Int64(k, v)) }
func (f *attrFields) ms(k string, d time.Duration) { f.a = append(f.a, slog.Float64(k, msOf(d))) }
func (f *attrFields) flag(k string, v bool)        { f.a = append(f.a, slog.Bool(k, v)) }
func (f *attrFields) strs(k string, v []string)    { f.a = append(f.a, slog.Any(k, v)) }

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
