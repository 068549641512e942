// Package sse reads and writes Server-Sent Events frames.
//
// The reader frames events with bounded buffers and hands out slices into
// its buffer, so a pass-through copy costs no allocation per event.
package sse

// Event is one SSE frame.
//
// All slices alias the producer's buffer and are valid only until the next
// call to Next.
type Event struct {
	Name []byte // value of the last "event:" line, nil if none
	Data []byte // "data:" lines joined with "\n", nil if none
	Raw  []byte // the frame exactly as received, including its blank-line terminator
}

// Source yields events one at a time.
type Source interface {
	// Next returns the next event. It returns io.EOF after the last event
	// when the stream ended cleanly at a frame boundary, and another error
	// when the stream broke.
	Next() (Event, error)
	// Close releases the source and its underlying connection.
	Close() error
}
