package translate

import "github.com/ferrygw/ferry/internal/openai"

// Profile is what a translator needs to know about an OpenAI-compatible
// upstream: openai.Profile, in the wire package so that the providers
// that fill it need not import translate.
type Profile = openai.Profile

// RequestInfo is what translating a request learned that translating its
// answer needs.
type RequestInfo struct {
	Model         string   // the model the client asked for; answers echo it
	Stream        bool     // the client asked for a stream
	StopSequences []string // to tell which one matched, when the vendor does not say
	Thinking      bool     // the client asked for thinking
	InputEstimate int      // an estimate of input tokens, for message_start before usage arrives
	// OneToolCall: the client set tool_choice.disable_parallel_tool_use,
	// so the answer keeps its first tool call only, whatever the upstream
	// did with parallel_tool_calls (sent where the Profile allows it).
	OneToolCall bool `json:",omitempty"`
}

// Error is a request the translator cannot express for the upstream: the
// client gets 400 invalid_request_error with Msg.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }
