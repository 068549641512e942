package shadow

import (
	"context"
	"encoding/json"
	"time"
)

// Bounds on what an Outcome keeps, whatever the answer's size. A pair is
// compared on these; beyond them the answer is marked Truncated.
const (
	MaxText      = 32 << 10 // bytes of text kept (a long answer's first ~8k tokens)
	MaxToolCalls = 64       // tool calls kept
	MaxToolInput = 64 << 10 // bytes of tool input kept, all calls together
	MaxBody      = 8 << 20  // bytes of a JSON answer read; a larger one is not parsed
)

// Outcome is one side of a pair: what an upstream answered, in Anthropic's
// format, reduced to what the comparison needs.
type Outcome struct {
	Status  int           // HTTP status; 0 when there was no answer
	Latency time.Duration // from the call to the end of the answer
	TTFB    time.Duration // from the call to the response headers

	InputTokens         int64 // usage.input_tokens (uncached input)
	CacheReadTokens     int64
	CacheCreationTokens int64
	OutputTokens        int64

	Text       string     // the text blocks, concatenated, at most MaxText bytes
	ToolCalls  []ToolCall // tool_use blocks, in order
	Truncated  bool       // Text or the list of tool calls was cut at its bound
	StopReason string

	// ErrorType is error.type of an error answer or stream error event
	// ("rate_limit_error", "overloaded_error", ...).
	ErrorType string
	// Err says why there is no complete answer: a transport error, a stream
	// that broke or ended early, an unreadable body. Empty for a complete
	// answer, error statuses included.
	Err string
}

// PromptTokens is every input token, cached or not: the prompt's size as
// the upstream's tokenizer counts it.
func (o *Outcome) PromptTokens() int64 {
	return o.InputTokens + o.CacheReadTokens + o.CacheCreationTokens
}

// answered reports a complete answer with a status.
func (o *Outcome) answered() bool { return o.Err == "" && o.Status != 0 }

// ToolCall is one tool_use block.
type ToolCall struct {
	Name string
	// Input is the tool input as received: the raw JSON of a JSON answer,
	// or the joined input_json_delta fragments of a stream. Calls compare
	// their inputs as JSON values, so spacing and key order do not matter.
	Input     json.RawMessage
	Truncated bool // Input was cut at MaxToolInput and is not valid JSON
}

// Target is where a route's shadow traffic goes. Every field comes from the
// config, which bounds the number of targets and of metric label values.
type Target struct {
	Route    string // the route's match pattern
	Provider string // the shadow provider's name
	Model    string // the shadow model from the config; "" keeps the client's
}

// String is the shadow's label: "provider" or "provider/model".
func (t Target) String() string {
	if t.Model == "" {
		return t.Provider
	}
	return t.Provider + "/" + t.Model
}

// Job is one mirrored request: the primary's outcome and a function that
// makes the shadow call.
type Job struct {
	Target          Target
	RequestModel    string // the model the client asked for; shown in recent pairs, never a label
	PrimaryProvider string
	Primary         Outcome
	// Bytes is the memory Run holds until it runs (the request body it
	// will send); the queue refuses jobs past Options.QueueBytes.
	Bytes int64
	// Run makes the shadow call with ctx (the mirror's, bounded by
	// Options.Timeout; it ends early when Close gives up draining) and
	// returns the answer's Outcome, usually Recorder.Drain's. An error
	// means there was no answer. Run must return once ctx is done.
	Run func(ctx context.Context) (Outcome, error)
}
