package server

import "github.com/ferrygw/ferry/internal/sse"

// streamNote is what a stream's source notes about its answer once it
// ended (tool calls dropped for disable_parallel_tool_use), nil if nothing:
// the whole answer's Response.Note, for streams.
func streamNote(src sse.Source) error {
	if n, ok := src.(interface{ Note() error }); ok {
		return n.Note()
	}
	return nil
}

// Note passes on the tapped stream's note.
func (e *tapEvents) Note() error { return streamNote(e.Source) }

// Note passes on the shared stream's note.
func (e *flightEvents) Note() error { return streamNote(e.src) }
