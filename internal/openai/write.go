package openai

// The append-based writer of ChatRequest. encoding/json re-compacts and
// re-validates the output of every nested MarshalJSON method (ChatRequest,
// Content, Part, ToolChoice), and reflects over every struct: for a 2 KB
// request that was most of the gateway's translation CPU. appendChatRequest
// writes the whole body in one pass, byte for byte as encoding/json with
// SetEscapeHTML(false) wrote it: same field order, same omitempty rules,
// strings through jsonpeek.AppendString, raw values compacted.

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// appendChatRequest appends r as JSON: the typed fields in declaration
// order, then Extra's unknown keys in key order.
func appendChatRequest(dst []byte, r *ChatRequest) ([]byte, error) {
	var err error
	dst = append(dst, `{"model":`...)
	dst = jsonpeek.AppendString(dst, r.Model)
	dst = append(dst, `,"messages":`...)
	if r.Messages == nil {
		dst = append(dst, "null"...)
	} else {
		dst = appendEach(dst, r.Messages, appendMessage)
	}
	dst = appendOptInt(dst, `,"max_tokens":`, r.MaxTokens)
	dst = appendOptInt(dst, `,"max_completion_tokens":`, r.MaxCompletionTokens)
	if dst, err = appendOptFloat(dst, `,"temperature":`, r.Temperature); err != nil {
		return nil, err
	}
	if dst, err = appendOptFloat(dst, `,"top_p":`, r.TopP); err != nil {
		return nil, err
	}
	dst = appendOptInt(dst, `,"n":`, r.N)
	if r.Seed != nil {
		dst = append(dst, `,"seed":`...)
		dst = strconv.AppendInt(dst, *r.Seed, 10)
	}
	if dst, err = appendOptFloat(dst, `,"presence_penalty":`, r.PresencePenalty); err != nil {
		return nil, err
	}
	if dst, err = appendOptFloat(dst, `,"frequency_penalty":`, r.FrequencyPenalty); err != nil {
		return nil, err
	}
	if len(r.Stop) > 0 {
		dst = appendEach(append(dst, `,"stop":`...), r.Stop, appendStringAt)
	}
	if r.Stream {
		dst = append(dst, `,"stream":true`...)
	}
	if o := r.StreamOptions; o != nil {
		dst = append(dst, `,"stream_options":{"include_usage":`...)
		dst = strconv.AppendBool(dst, o.IncludeUsage)
		if o.IncludeObfuscation != nil {
			dst = append(dst, `,"include_obfuscation":`...)
			dst = strconv.AppendBool(dst, *o.IncludeObfuscation)
		}
		dst = append(dst, '}')
	}
	if len(r.Tools) > 0 {
		dst = append(dst, `,"tools":[`...)
		for i := range r.Tools {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendTool(dst, &r.Tools[i]); err != nil {
				return nil, err
			}
		}
		dst = append(dst, ']')
	}
	if r.ToolChoice != nil {
		dst = append(dst, `,"tool_choice":`...)
		if dst, err = appendToolChoice(dst, r.ToolChoice); err != nil {
			return nil, err
		}
	}
	if r.ParallelToolCalls != nil {
		dst = append(dst, `,"parallel_tool_calls":`...)
		dst = strconv.AppendBool(dst, *r.ParallelToolCalls)
	}
	if f := r.ResponseFormat; f != nil {
		dst = append(dst, `,"response_format":{"type":`...)
		dst = jsonpeek.AppendString(dst, f.Type)
		if s := f.JSONSchema; s != nil {
			dst = append(dst, `,"json_schema":{"name":`...)
			dst = jsonpeek.AppendString(dst, s.Name)
			dst = appendOptString(dst, `,"description":`, s.Description)
			if len(s.Schema) > 0 {
				dst = append(dst, `,"schema":`...)
				if dst, err = appendRaw(dst, s.Schema); err != nil {
					return nil, err
				}
			}
			dst = appendOptBool(dst, `,"strict":`, s.Strict)
			dst = append(dst, '}')
		}
		dst = append(dst, '}')
	}
	dst = appendOptString(dst, `,"reasoning_effort":`, r.ReasoningEffort)
	dst = appendOptString(dst, `,"user":`, r.User)
	if len(r.Extra) > 0 {
		if dst, err = appendExtra(dst, r.Extra); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// chatRequestSize estimates the length of r's JSON, for one allocation of
// the body instead of a dozen regrowths: the bulk is text, tool
// parameters and arguments, plus some room per member for the syntax.
func chatRequestSize(r *ChatRequest) int {
	n := 512 + len(r.Model)
	for i := range r.Messages {
		m := &r.Messages[i]
		n += 64 + len(m.ToolCallID)
		if c := m.Content; c != nil {
			n += len(c.Text)
			for j := range c.Parts {
				p := &c.Parts[j]
				n += 32 + len(p.Text)
				if p.ImageURL != nil {
					n += len(p.ImageURL.URL)
				}
				if p.File != nil {
					n += len(p.File.FileData)
				}
			}
		}
		for j := range m.ToolCalls {
			f := &m.ToolCalls[j].Function
			n += 64 + len(m.ToolCalls[j].ID) + len(f.Name) + len(f.Arguments)
		}
		if m.ReasoningContent != nil {
			n += len(*m.ReasoningContent)
		}
	}
	for i := range r.Tools {
		f := &r.Tools[i].Function
		n += 64 + len(f.Name) + len(f.Description) + len(f.Parameters)
	}
	// Escapes make strings longer: a little slack saves a regrowth.
	return n + n/16
}

// appendExtra appends the Extra members whose keys name no typed field,
// in key order.
func appendExtra(dst []byte, extra map[string]json.RawMessage) ([]byte, error) {
	known := chatRequestFields()
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if !known[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := extra[k]
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		dst = append(dst, ',')
		dst = jsonpeek.AppendString(dst, k)
		dst = append(dst, ':')
		var err error
		if dst, err = appendRaw(dst, v); err != nil {
			return nil, errors.New("openai: ChatRequest.Extra[" + k + "] is not valid JSON")
		}
	}
	return dst, nil
}

func appendMessage(dst []byte, m *Message) []byte {
	dst = append(dst, `{"role":`...)
	dst = jsonpeek.AppendString(dst, m.Role)
	dst = append(dst, `,"content":`...)
	dst = appendContent(dst, m.Content)
	dst = appendOptString(dst, `,"name":`, m.Name)
	if len(m.ToolCalls) > 0 {
		dst = appendEach(append(dst, `,"tool_calls":`...), m.ToolCalls, appendToolCall)
	}
	dst = appendOptString(dst, `,"tool_call_id":`, m.ToolCallID)
	dst = appendOptStringPtr(dst, `,"refusal":`, m.Refusal)
	dst = appendOptStringPtr(dst, `,"reasoning_content":`, m.ReasoningContent)
	dst = appendOptStringPtr(dst, `,"reasoning":`, m.Reasoning)
	return append(dst, '}')
}

// appendContent appends c as Content.MarshalJSON writes it: null, a
// string, or an array of parts.
func appendContent(dst []byte, c *Content) []byte {
	switch {
	case c == nil:
		return append(dst, "null"...)
	case c.Parts == nil:
		return jsonpeek.AppendString(dst, c.Text)
	}
	return appendEach(dst, c.Parts, appendPart)
}

// appendEach appends xs as a JSON array, each element written by f.
func appendEach[T any](dst []byte, xs []T, f func([]byte, *T) []byte) []byte {
	dst = append(dst, '[')
	for i := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = f(dst, &xs[i])
	}
	return append(dst, ']')
}

// appendStringAt appends *s as a JSON string, for appendEach.
func appendStringAt(dst []byte, s *string) []byte { return jsonpeek.AppendString(dst, *s) }

// appendPart appends p as Part.MarshalJSON writes it.
func appendPart(dst []byte, p *Part) []byte {
	if p.Type == PartText && p.Text == "" {
		return append(dst, `{"type":"text","text":""}`...)
	}
	dst = append(dst, `{"type":`...)
	dst = jsonpeek.AppendString(dst, p.Type)
	dst = appendOptString(dst, `,"text":`, p.Text)
	if u := p.ImageURL; u != nil {
		dst = append(dst, `,"image_url":{"url":`...)
		dst = jsonpeek.AppendString(dst, u.URL)
		dst = appendOptString(dst, `,"detail":`, u.Detail)
		dst = append(dst, '}')
	}
	if f := p.File; f != nil {
		// Every member is optional: each is written with a leading comma,
		// and the first one's is then dropped.
		dst = append(dst, `,"file":{`...)
		n := len(dst)
		dst = appendOptString(dst, `,"file_data":`, f.FileData)
		dst = appendOptString(dst, `,"file_id":`, f.FileID)
		dst = appendOptString(dst, `,"filename":`, f.Filename)
		if len(dst) > n {
			dst = append(dst[:n], dst[n+1:]...)
		}
		dst = append(dst, '}')
	}
	if a := p.InputAudio; a != nil {
		dst = append(dst, `,"input_audio":{"data":`...)
		dst = jsonpeek.AppendString(dst, a.Data)
		dst = append(dst, `,"format":`...)
		dst = jsonpeek.AppendString(dst, a.Format)
		dst = append(dst, '}')
	}
	dst = appendOptString(dst, `,"refusal":`, p.Refusal)
	return append(dst, '}')
}

func appendToolCall(dst []byte, c *ToolCall) []byte {
	dst = append(dst, '{')
	if c.Index != nil {
		dst = append(dst, `"index":`...)
		dst = strconv.AppendInt(dst, int64(*c.Index), 10)
		dst = append(dst, ',')
	}
	if c.ID != "" {
		dst = append(dst, `"id":`...)
		dst = jsonpeek.AppendString(dst, c.ID)
		dst = append(dst, ',')
	}
	if c.Type != "" {
		dst = append(dst, `"type":`...)
		dst = jsonpeek.AppendString(dst, c.Type)
		dst = append(dst, ',')
	}
	dst = append(dst, `"function":{`...)
	if c.Function.Name != "" {
		dst = append(dst, `"name":`...)
		dst = jsonpeek.AppendString(dst, c.Function.Name)
		dst = append(dst, ',')
	}
	dst = append(dst, `"arguments":`...)
	dst = jsonpeek.AppendString(dst, c.Function.Arguments)
	return append(dst, "}}"...)
}

func appendTool(dst []byte, t *Tool) ([]byte, error) {
	dst = append(dst, `{"type":`...)
	dst = jsonpeek.AppendString(dst, t.Type)
	dst = append(dst, `,"function":{"name":`...)
	f := &t.Function
	dst = jsonpeek.AppendString(dst, f.Name)
	dst = appendOptString(dst, `,"description":`, f.Description)
	if len(f.Parameters) > 0 {
		dst = append(dst, `,"parameters":`...)
		var err error
		if dst, err = appendRaw(dst, f.Parameters); err != nil {
			return nil, err
		}
	}
	dst = appendOptBool(dst, `,"strict":`, f.Strict)
	return append(dst, "}}"...), nil
}

// appendToolChoice appends t as ToolChoice.MarshalJSON writes it.
func appendToolChoice(dst []byte, t *ToolChoice) ([]byte, error) {
	switch {
	case t.Raw != nil:
		return appendRaw(dst, t.Raw)
	case t.Function != "":
		dst = append(dst, `{"type":"function","function":{"name":`...)
		dst = jsonpeek.AppendString(dst, t.Function)
		return append(dst, "}}"...), nil
	}
	return jsonpeek.AppendString(dst, t.Mode), nil
}

// appendRaw appends the JSON value v compacted and validated, as
// encoding/json writes a json.RawMessage. An object or array that is
// compact already (tool schemas as clients send them) is validated by
// jsonpeek and copied; json.Compact, several times slower, appends the
// others straight into dst's spare room.
func appendRaw(dst []byte, v []byte) ([]byte, error) {
	if len(v) == 0 {
		return nil, errors.New("openai: empty raw JSON value")
	}
	if isCompact(v) && (v[0] == '{' && jsonpeek.Object(v, nil) == nil || v[0] == '[' && jsonpeek.Array(v, nil) == nil) {
		return append(dst, v...), nil
	}
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// isCompact reports whether v has no whitespace outside its strings, so
// that json.Compact would leave a valid v as it is. Only the answer for
// valid JSON matters.
func isCompact(v []byte) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case ' ', '\t', '\n', '\r':
			return false
		case '"':
			for i++; i < len(v) && v[i] != '"'; i++ {
				if v[i] == '\\' {
					i++
				}
			}
		}
	}
	return true
}

func appendOptString(dst []byte, key, s string) []byte {
	if s == "" {
		return dst
	}
	dst = append(dst, key...)
	return jsonpeek.AppendString(dst, s)
}

func appendOptStringPtr(dst []byte, key string, s *string) []byte {
	if s == nil {
		return dst
	}
	dst = append(dst, key...)
	return jsonpeek.AppendString(dst, *s)
}

func appendOptInt(dst []byte, key string, n *int) []byte {
	if n == nil {
		return dst
	}
	dst = append(dst, key...)
	return strconv.AppendInt(dst, int64(*n), 10)
}

func appendOptBool(dst []byte, key string, b *bool) []byte {
	if b == nil {
		return dst
	}
	dst = append(dst, key...)
	return strconv.AppendBool(dst, *b)
}

func appendOptFloat(dst []byte, key string, f *float64) ([]byte, error) {
	if f == nil {
		return dst, nil
	}
	dst = append(dst, key...)
	return appendFloat(dst, *f)
}

// appendFloat appends f as encoding/json writes a float64: like ES6,
// exponent form only below 1e-6 or from 1e21, with "e-07" shortened to
// "e-7". NaN and infinities are an error, as there.
func appendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, &json.UnsupportedValueError{Str: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}
