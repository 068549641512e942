package relay

// noteOf returns what a stream source notes about its answer once it ended
// (openaicompat's tool calls dropped for disable_parallel_tool_use), nil
// when the source notes nothing.
func noteOf(src any) error {
	if n, ok := src.(interface{ Note() error }); ok {
		return n.Note()
	}
	return nil
}

// Note passes on the watched stream's note, for the access log.
func (e *watchedEvents) Note() error { return noteOf(e.src) }

// Note passes on the translated stream's note, for the access log.
func (t *translatedSource) Note() error { return noteOf(t.src) }
