package translate

// Anthropic Messages request → OpenAI Chat Completions request: tools,
// tool_choice, schemas, limits and thinking.

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/openai"
)

// tools translates tools and tool_choice.
func (b *rqBuilder) tools(in *anthropic.MessageRequest, out *openai.ChatRequest, info *RequestInfo) error {
	strip := map[string]bool{}
	for _, k := range b.p.StripSchemaKeys {
		strip[k] = true
	}
	dropped := map[string]bool{}
	for i := range in.Tools {
		t := &in.Tools[i]
		if !t.IsCustom() {
			// Server tools run at Anthropic; there is nothing to call.
			dropped[t.Name] = true
			continue
		}
		if t.Name == "" {
			return &Error{Msg: fmt.Sprintf("tools.%d.name: field required", i)}
		}
		params := rqSchema(t.InputSchema, strip)
		b.chars += len(t.Name) + len(t.Description) + len(params)
		out.Tools = append(out.Tools, openai.Tool{Type: "function", Function: openai.Function{Name: t.Name, Description: t.Description, Parameters: params}})
	}
	tc := in.ToolChoice
	if tc != nil && tc.Type == "tool" && dropped[tc.Name] {
		return &Error{Msg: fmt.Sprintf("tool_choice.name: %q is a server tool, which this model's upstream cannot run", tc.Name)}
	}
	if tc == nil || len(out.Tools) == 0 {
		return nil // OpenAI refuses a tool_choice without tools
	}
	// Enforced on the answer on every profile: an upstream without
	// parallel_tool_calls (or one that ignores it) may still call several.
	info.OneToolCall = tc.DisableParallelToolUse && tc.Type != "none"
	var choice *openai.ToolChoice
	switch tc.Type {
	case "auto":
		choice = &openai.ToolChoice{Mode: openai.ToolChoiceAuto}
	case "any":
		choice = &openai.ToolChoice{Mode: openai.ToolChoiceRequired}
	case "none":
		choice = &openai.ToolChoice{Mode: openai.ToolChoiceNone}
	case "tool":
		choice = &openai.ToolChoice{Function: tc.Name}
	}
	switch {
	case b.p.ToolChoice:
		out.ToolChoice = choice
	case tc.Type == "none":
		// The upstream has no tool_choice, but "call no tool" can still be
		// said by offering none.
		out.Tools = nil
		return nil
	}
	if tc.DisableParallelToolUse && b.p.ParallelToolCalls && tc.Type != "none" {
		f := false
		out.ParallelToolCalls = &f
	}
	return nil
}

// rqSchema returns a tool's parameters: input_schema without the keywords
// in strip, removed wherever a subschema can be, not in property names or
// values (a property may be called "default"). Key order is kept: models
// see the arguments in the order the client wrote them.
func rqSchema(schema json.RawMessage, strip map[string]bool) json.RawMessage {
	if len(schema) == 0 || string(schema) == "null" {
		return json.RawMessage(`{"type":"object","properties":{}}`)
	}
	if len(strip) == 0 {
		return schema
	}
	return rqStrip(nil, schema, strip, 0)
}

// rqSubschemas are the JSON Schema keywords whose value is a schema ('s'),
// an object of schemas ('m') or an array of schemas ('l').
var rqSubschemas = map[string]byte{
	"items": 's', "additionalItems": 's', "contains": 's', "not": 's', "if": 's', "then": 's', "else": 's',
	"additionalProperties": 's', "propertyNames": 's', "unevaluatedItems": 's', "unevaluatedProperties": 's',
	"properties": 'm', "patternProperties": 'm', "$defs": 'm', "definitions": 'm', "dependentSchemas": 'm',
	"allOf": 'l', "anyOf": 'l', "oneOf": 'l', "prefixItems": 'l',
}

// rqStrip appends schema v without the keys in strip.
func rqStrip(dst []byte, v []byte, strip map[string]bool, depth int) []byte {
	if depth > rqMaxSchemaDepth || len(v) == 0 || v[0] != '{' {
		return append(dst, v...)
	}
	return rqStripObject(dst, v, strip, depth, 0)
}

// rqStripObject appends object v: a schema (kind 0), whose keys in strip
// are dropped, or an object of schemas (kind 'm'), whose keys are names.
func rqStripObject(dst, v []byte, strip map[string]bool, depth int, kind byte) []byte {
	start := len(dst)
	dst = append(dst, '{')
	first := true
	err := jsonpeek.Object(v, func(key []byte, s, e int) bool {
		val := v[s:e]
		k := string(key)
		if kind == 0 && strip[k] {
			return true
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsonpeek.AppendString(dst, k)
		dst = append(dst, ':')
		sub := byte('s') // in an object of schemas, every value is one
		if kind == 0 {
			sub = rqSubschemas[k]
		}
		switch {
		case sub == 's':
			dst = rqStrip(dst, val, strip, depth+1)
		case sub == 'm' && len(val) > 0 && val[0] == '{' && depth < rqMaxSchemaDepth:
			dst = rqStripObject(dst, val, strip, depth+1, 'm')
		case sub == 'l' && len(val) > 0 && val[0] == '[':
			dst = rqStripList(dst, val, strip, depth+1)
		default:
			dst = append(dst, val...)
		}
		return true
	})
	if err != nil { // not an object jsonpeek takes (too deep): keep it as is
		return append(dst[:start], v...)
	}
	return append(dst, '}')
}

func rqStripList(dst, v []byte, strip map[string]bool, depth int) []byte {
	if depth > rqMaxSchemaDepth {
		return append(dst, v...)
	}
	start := len(dst)
	dst = append(dst, '[')
	first := true
	err := jsonpeek.Array(v, func(s, e int) bool {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = rqStrip(dst, v[s:e], strip, depth)
		return true
	})
	if err != nil { // not an array jsonpeek takes (too deep): keep it as is
		return append(dst[:start], v...)
	}
	return append(dst, ']')
}

// rqLimits translates max_tokens, sampling and stop sequences.
func rqLimits(in *anthropic.MessageRequest, p *Profile, out *openai.ChatRequest) error {
	if in.MaxTokens < 0 {
		return &Error{Msg: "max_tokens: must be at least 0"}
	}
	// 0 asks Anthropic to fill the prompt cache without generating;
	// OpenAI-compatible APIs reject 0, and 1 is the nearest they take.
	n := max(in.MaxTokens, 1)
	if p.MaxTokensCap > 0 {
		n = min(n, p.MaxTokensCap) // Claude Code asks for 32000-64000 (VENDORS.md C15)
	}
	switch p.MaxTokensField {
	case "", "max_tokens":
		out.MaxTokens = &n
	case "max_completion_tokens":
		out.MaxCompletionTokens = &n
	default:
		rqExtra(out, p.MaxTokensField, []byte(strconv.Itoa(n)))
	}
	if in.Temperature != nil && p.TemperatureMax > 0 {
		t := min(max(*in.Temperature, 0), p.TemperatureMax)
		out.Temperature = &t
	}
	if in.TopP != nil && p.TopPMax > 0 {
		t := min(max(*in.TopP, 0), p.TopPMax)
		out.TopP = &t
	}
	if in.TopK != nil && p.TopK {
		rqExtra(out, "top_k", []byte(strconv.Itoa(*in.TopK)))
	}
	if len(in.StopSequences) > 0 {
		stop := in.StopSequences
		if p.MaxStop > 0 && len(stop) > p.MaxStop {
			// The rest are kept in RequestInfo: Response enforces them.
			stop = stop[:p.MaxStop]
		}
		out.Stop = append(openai.Stop(nil), stop...)
	}
	return nil
}

func rqExtra(out *openai.ChatRequest, key string, v json.RawMessage) {
	if out.Extra == nil {
		out.Extra = map[string]json.RawMessage{}
	}
	out.Extra[key] = v
}

// rqThinkingOn reports whether a request asks for thinking.
func rqThinkingOn(t *anthropic.Thinking) bool {
	if t == nil {
		return false
	}
	switch t.Type {
	case "enabled", "adaptive", "between_tools":
		return true
	}
	return false
}

// rqEffort maps output_config.effort, or else the thinking budget, to an
// OpenAI reasoning_effort. Budget buckets as Higress (VENDORS.md C17):
// under 4096 low, under 16384 medium, else high. "" leaves the upstream's
// default (adaptive thinking without an effort).
func rqEffort(in *anthropic.MessageRequest) string {
	if oc := in.OutputConfig; oc != nil {
		switch oc.Effort {
		case "low", "medium", "high":
			return oc.Effort
		case "xhigh", "max":
			return "high"
		}
	}
	if t := in.Thinking; t != nil && t.Type == "enabled" && t.BudgetTokens > 0 {
		switch {
		case t.BudgetTokens < 4096:
			return "low"
		case t.BudgetTokens < 16384:
			return "medium"
		}
		return "high"
	}
	return ""
}

// rqThinking asks for reasoning, or turns it off, the upstream's way.
func rqThinking(in *anthropic.MessageRequest, p *Profile, out *openai.ChatRequest) {
	on := rqThinkingOn(in.Thinking)
	off := !on && p.ThinkingOffExplicit
	if on && p.ThinkingStreamOnly && !in.Stream {
		// The upstream refuses thinking without a stream (DashScope); the
		// client asked for a non-streaming call (Claude Code's fallback
		// after a broken stream), so the answer comes without reasoning
		// rather than as a 400.
		on, off = false, true
	}
	switch p.Thinking {
	case "reasoning_effort":
		switch {
		case on:
			out.ReasoningEffort = rqEffort(in)
		case off:
			out.ReasoningEffort = "none"
		}
	case "thinking_type":
		switch {
		case on:
			rqExtra(out, "thinking", json.RawMessage(`{"type":"enabled"}`))
		case off:
			rqExtra(out, "thinking", json.RawMessage(`{"type":"disabled"}`))
		}
	case "enable_thinking":
		switch {
		case on:
			rqExtra(out, "enable_thinking", json.RawMessage(`true`))
		case off:
			rqExtra(out, "enable_thinking", json.RawMessage(`false`))
		}
	}
}
