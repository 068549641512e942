package translate

// Decoding a client's Messages request in one validating pass.
//
// encoding/json validated the whole body (checkValid), then walked it by
// reflection and scanned every message and tool again to hand it to its
// UnmarshalJSON. rqBody validates the body once with jsonpeek.Object and
// decodes the top-level members from the spans it reports; messages'
// content and tools go straight to anthropic's decoders (whose own fast
// paths take the common blocks), the small objects are read in place.
// Where the result could differ from encoding/json's (a value of the
// wrong type, a key given twice or matching a field only
// case-insensitively, a decoder's error), it gives up, and the caller
// decodes with encoding/json, which words any error as before.

import (
	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// The members of the objects rqBody decodes, in the order of the
// structs' fields.
var (
	rqRequestKeys = []string{"model", "max_tokens", "messages", "system", "stop_sequences", "temperature", "top_p", "top_k",
		"stream", "tools", "tool_choice", "thinking", "output_config", "metadata"}
	rqMessageKeys      = []string{"role", "content"}
	rqToolChoiceKeys   = []string{"type", "name", "disable_parallel_tool_use"}
	rqThinkingKeys     = []string{"type", "budget_tokens", "display"}
	rqOutputConfigKeys = []string{"effort", "format"}
	rqOutputFormatKeys = []string{"type", "schema"}
	rqMetadataKeys     = []string{"user_id"}
)

// rqBody decodes body into in (which must be zero) as json.Unmarshal
// would, and reports whether it did.
func rqBody(body []byte, in *anthropic.MessageRequest) bool {
	ok := true
	var seen uint64
	err := jsonpeek.Object(body, func(key []byte, start, end int) bool {
		v := body[start:end]
		switch rdField(key, rqRequestKeys, &seen) {
		case rdUnknown:
			return true
		case rdBail:
			ok = false
		case 0:
			ok = rdString(v, &in.Model)
		case 1:
			ok = rdInt(v, &in.MaxTokens)
		case 2:
			ok = rqMessages(v, &in.Messages)
		case 3:
			ok = rqSystem(v, &in.System)
		case 4:
			ok = rqStrings(v, &in.StopSequences)
		case 5:
			ok = rdFloatPtr(v, &in.Temperature)
		case 6:
			ok = rdFloatPtr(v, &in.TopP)
		case 7:
			ok = rdIntPtr(v, &in.TopK)
		case 8:
			ok = rdBool(v, &in.Stream)
		case 9:
			ok = rqTools(v, &in.Tools)
		case 10:
			ok = rqToolChoice(v, &in.ToolChoice)
		case 11:
			ok = rqThinkingField(v, &in.Thinking)
		case 12:
			ok = rqOutputConfig(v, &in.OutputConfig)
		case 13:
			ok = rqMetadata(v, &in.Metadata)
		}
		return ok
	})
	return err == nil && ok
}

func rqMessages(v []byte, dst *[]anthropic.MessageParam) bool {
	if rdNull(v) {
		*dst = nil
		return true
	}
	ms := make([]anthropic.MessageParam, 0, 8)
	ok := rdArray(v, func(v []byte) bool {
		ms = append(ms, anthropic.MessageParam{})
		m := &ms[len(ms)-1]
		return rdNull(v) || rdObject(v, rqMessageKeys, func(i int, v []byte) bool {
			if i == 0 {
				return rdString(v, &m.Role)
			}
			// encoding/json calls UnmarshalJSON for null too.
			return m.Content.UnmarshalJSON(v) == nil
		})
	})
	*dst = ms
	return ok
}

func rqSystem(v []byte, dst **anthropic.Content) bool {
	if rdNull(v) {
		*dst = nil
		return true
	}
	c := &anthropic.Content{}
	*dst = c
	return c.UnmarshalJSON(v) == nil
}

func rqStrings(v []byte, dst *[]string) bool {
	if rdNull(v) {
		*dst = nil
		return true
	}
	ss := []string{}
	ok := rdArray(v, func(v []byte) bool {
		ss = append(ss, "")
		return rdString(v, &ss[len(ss)-1])
	})
	*dst = ss
	return ok
}

func rqTools(v []byte, dst *[]anthropic.Tool) bool {
	if rdNull(v) {
		*dst = nil
		return true
	}
	ts := []anthropic.Tool{}
	ok := rdArray(v, func(v []byte) bool {
		ts = append(ts, anthropic.Tool{})
		// encoding/json calls UnmarshalJSON for null too.
		return ts[len(ts)-1].UnmarshalJSON(v) == nil
	})
	*dst = ts
	return ok
}

func rqToolChoice(v []byte, dst **anthropic.ToolChoice) bool {
	if rdNull(v) {
		*dst = nil
		return true
	}
	c := &anthropic.ToolChoice{}
	*dst = c
	return rdObject(v, rqToolChoiceKeys, func(i int, v []byte) bool {
		switch i {
		case 0:
			return rdString(v, &c.Type)
		case 1:
			return rdString(v, &c.Name)
		}
		return rdBool(v, &c.DisableParallelToolUse)
	})
}

func rqThinkingField(v []byte, dst **anthropic.Thinking) bool {
	if rdNull(v) {
		*dst = nil
		return true
	}
	t := &anthropic.Thinking{}
	*dst = t
	return rdObject(v, rqThinkingKeys, func(i int, v []byte) bool {
		switch i {
		case 0:
			return rdString(v, &t.Type)
		case 1:
			return rdInt(v, &t.BudgetTokens)
		}
		return rdString(v, &t.Display)
	})
}

func rqOutputConfig(v []byte, dst **anthropic.OutputConfig) bool {
	if rdNull(v) {
		*dst = nil
		return true
	}
	c := &anthropic.OutputConfig{}
	*dst = c
	return rdObject(v, rqOutputConfigKeys, func(i int, v []byte) bool {
		if i == 0 {
			return rdString(v, &c.Effort)
		}
		if rdNull(v) {
			c.Format = nil
			return true
		}
		f := &anthropic.OutputFormat{}
		c.Format = f
		return rdObject(v, rqOutputFormatKeys, func(i int, v []byte) bool {
			if i == 0 {
				return rdString(v, &f.Type)
			}
			return rdRaw(v, &f.Schema)
		})
	})
}

func rqMetadata(v []byte, dst **anthropic.Metadata) bool {
	if rdNull(v) {
		*dst = nil
		return true
	}
	m := &anthropic.Metadata{}
	*dst = m
	return rdObject(v, rqMetadataKeys, func(_ int, v []byte) bool { return rdStringPtr(v, &m.UserID) })
}
