package translate

// Decoding a client's Messages request in one validating pass.
//
// encoding/json validated the whole body (checkValid), then walked it by
// reflection and scanned every message and tool again to hand it to its
// UnmarshalJSON. rqBody validates the body once with jsonpeek.Object and
// decodes the top-level members from the spans it reports; messages'
// content and tools go straight to anthropic's decoders (whose own fast
// paths take the common blocks), the small objects are read in place.
// Where the result could differ from encoding/json's (see json_decode.go),
// or a decoder fails, it gives up, and the caller decodes with
// encoding/json, which words any error as before.

import "github.com/ferrygw/ferry/internal/anthropic"

// rqBody decodes body into in (which must be zero) as json.Unmarshal
// would, and reports whether it did.
func rqBody(body []byte, in *anthropic.MessageRequest) bool {
	return rqRequest.top(body, in)
}

var (
	rqRequest = rdStruct[anthropic.MessageRequest]{
		{"model", func(v []byte, r *anthropic.MessageRequest) bool { return rdString(v, &r.Model) }},
		{"max_tokens", func(v []byte, r *anthropic.MessageRequest) bool { return rdInt(v, &r.MaxTokens) }},
		{"messages", func(v []byte, r *anthropic.MessageRequest) bool { return rdSlice(v, &r.Messages, rqMessage.object) }},
		{"system", func(v []byte, r *anthropic.MessageRequest) bool {
			return rdNew(v, &r.System, rdUnmarshaler[anthropic.Content])
		}},
		{"stop_sequences", func(v []byte, r *anthropic.MessageRequest) bool { return rdSlice(v, &r.StopSequences, rdString) }},
		{"temperature", func(v []byte, r *anthropic.MessageRequest) bool { return rdFloatPtr(v, &r.Temperature) }},
		{"top_p", func(v []byte, r *anthropic.MessageRequest) bool { return rdFloatPtr(v, &r.TopP) }},
		{"top_k", func(v []byte, r *anthropic.MessageRequest) bool { return rdIntPtr(v, &r.TopK) }},
		{"stream", func(v []byte, r *anthropic.MessageRequest) bool { return rdBool(v, &r.Stream) }},
		{"tools", func(v []byte, r *anthropic.MessageRequest) bool {
			return rdSlice(v, &r.Tools, rdUnmarshaler[anthropic.Tool])
		}},
		{"tool_choice", func(v []byte, r *anthropic.MessageRequest) bool { return rdNew(v, &r.ToolChoice, rqToolChoice.object) }},
		{"thinking", func(v []byte, r *anthropic.MessageRequest) bool {
			return rdNew(v, &r.Thinking, rqThinkingObject.object)
		}},
		{"output_config", func(v []byte, r *anthropic.MessageRequest) bool {
			return rdNew(v, &r.OutputConfig, rqOutputConfig.object)
		}},
		{"metadata", func(v []byte, r *anthropic.MessageRequest) bool { return rdNew(v, &r.Metadata, rqMetadata.object) }},
	}
	rqMessage = rdStruct[anthropic.MessageParam]{
		{"role", func(v []byte, m *anthropic.MessageParam) bool { return rdString(v, &m.Role) }},
		{"content", func(v []byte, m *anthropic.MessageParam) bool { return rdUnmarshaler(v, &m.Content) }},
	}
	rqToolChoice = rdStruct[anthropic.ToolChoice]{
		{"type", func(v []byte, c *anthropic.ToolChoice) bool { return rdString(v, &c.Type) }},
		{"name", func(v []byte, c *anthropic.ToolChoice) bool { return rdString(v, &c.Name) }},
		{"disable_parallel_tool_use", func(v []byte, c *anthropic.ToolChoice) bool { return rdBool(v, &c.DisableParallelToolUse) }},
	}
	rqThinkingObject = rdStruct[anthropic.Thinking]{
		{"type", func(v []byte, t *anthropic.Thinking) bool { return rdString(v, &t.Type) }},
		{"budget_tokens", func(v []byte, t *anthropic.Thinking) bool { return rdInt(v, &t.BudgetTokens) }},
		{"display", func(v []byte, t *anthropic.Thinking) bool { return rdString(v, &t.Display) }},
	}
	rqOutputConfig = rdStruct[anthropic.OutputConfig]{
		{"effort", func(v []byte, c *anthropic.OutputConfig) bool { return rdString(v, &c.Effort) }},
		{"format", func(v []byte, c *anthropic.OutputConfig) bool { return rdNew(v, &c.Format, rqOutputFormat.object) }},
	}
	rqOutputFormat = rdStruct[anthropic.OutputFormat]{
		{"type", func(v []byte, f *anthropic.OutputFormat) bool { return rdString(v, &f.Type) }},
		{"schema", func(v []byte, f *anthropic.OutputFormat) bool { return rdRaw(v, &f.Schema) }},
	}
	rqMetadata = rdStruct[anthropic.Metadata]{
		{"user_id", func(v []byte, m *anthropic.Metadata) bool { return rdStringPtr(v, &m.UserID) }},
	}
)
