package translate

// OpenAI Chat Completions request → Anthropic Messages request: the
// messages, their content parts, tool calls, schemas and tool_choice.

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// oiMessages decodes the messages array in one pass; if that fails, it
// decodes them one by one to say which message is wrong.
func oiMessages(v []byte) ([]oiInMessage, error) {
	var msgs []oiInMessage
	if json.Unmarshal(v, &msgs) == nil {
		return msgs, nil
	}
	var raws []json.RawMessage
	if err := oiDecode("messages", v, &raws); err != nil {
		return nil, err
	}
	for i, raw := range raws {
		var m oiInMessage
		if err := oiDecode("messages["+strconv.Itoa(i)+"]", raw, &m); err != nil {
			return nil, err
		}
	}
	return nil, oiErr("messages", "invalid value")
}

// oiStops keeps the stop sequences Anthropic accepts: it refuses one that
// is empty or all whitespace ("each stop sequence must contain
// non-whitespace"), which OpenAI takes (stop: "\n" is common). Those are
// dropped rather than failing the request.
func oiStops(stops []string) []string {
	var out []string
	for _, s := range stops {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// oiMarshal encodes v without HTML escaping (the bodies are not embedded in
// HTML, and clients do not escape either). The result is valid UTF-8:
// encoding/json coerces strings, but copies json.RawMessage values (tool
// schemas and inputs passed through) as they are, so invalid bytes in them
// are replaced here, each by U+FFFD as a JSON decoder would read them.
func oiMarshal(v any) ([]byte, error) {
	out, err := jsonpeek.Marshal(v)
	if err != nil {
		return nil, err
	}
	if utf8.Valid(out) {
		return out, nil
	}
	fixed := make([]byte, 0, len(out)+16)
	for i := 0; i < len(out); {
		r, size := utf8.DecodeRune(out[i:])
		if r == utf8.RuneError && size == 1 {
			fixed = append(fixed, "\uFFFD"...)
		} else {
			fixed = append(fixed, out[i:i+size]...)
		}
		i += size
	}
	return fixed, nil
}

// oiAppendTurn adds blocks as a turn of role, merging it into the last turn
// if that has the same role. In a user turn, tool_result blocks are kept
// before every other block (Anthropic refuses text before a tool result in
// the turn answering a tool call): they collect in results until
// oiFinishTurns puts them first.
func oiAppendTurn(turns []oiTurn, role string, blocks []oiBlock) []oiTurn {
	if len(blocks) == 0 {
		return turns
	}
	if n := len(turns); n == 0 || turns[n-1].Role != role {
		turns = append(turns, oiTurn{Role: role})
	}
	last := &turns[len(turns)-1]
	for _, b := range blocks {
		if role == "user" && b.Type == "tool_result" {
			last.results = append(last.results, b)
		} else {
			last.Content = append(last.Content, b)
		}
	}
	return turns
}

// oiFinishTurns puts each user turn's tool results first.
func oiFinishTurns(turns []oiTurn) {
	for i := range turns {
		t := &turns[i]
		if len(t.results) > 0 {
			t.Content = append(t.results, t.Content...)
			t.results = nil
		}
	}
}

// oiBlank reports whether a text is empty or all whitespace: Anthropic
// refuses such text blocks ("text content blocks must contain
// non-whitespace text"), so they are dropped.
func oiBlank(s string) bool { return strings.TrimSpace(s) == "" }

// oiTrimPrefill trims the trailing whitespace of a final assistant turn
// (a prefill), which Anthropic refuses ("final assistant content cannot
// end with trailing whitespace"), dropping what becomes empty.
func oiTrimPrefill(turns []oiTurn) []oiTurn {
	n := len(turns)
	if n == 0 || turns[n-1].Role != "assistant" {
		return turns
	}
	t := &turns[n-1]
	last := &t.Content[len(t.Content)-1]
	if last.Type != "text" {
		return turns
	}
	if last.Text = strings.TrimRightFunc(last.Text, unicode.IsSpace); last.Text == "" {
		if t.Content = t.Content[:len(t.Content)-1]; len(t.Content) == 0 {
			return turns[:n-1]
		}
	}
	return turns
}

// oiToolLoop reports whether the last assistant turn calls tools.
func oiToolLoop(turns []oiTurn) bool {
	for i := len(turns) - 1; i >= 0; i-- {
		if turns[i].Role != "assistant" {
			continue
		}
		for _, b := range turns[i].Content {
			if b.Type == "tool_use" {
				return true
			}
		}
		return false
	}
	return false
}

// oiDecodeString decodes the JSON string v of field.
func oiDecodeString(field string, v json.RawMessage) (string, error) {
	var s string
	err := oiDecode(field, v, &s)
	return s, err
}

// oiContent reads a message's content: null (nothing), a string (s, with
// isString) or an array of parts.
func oiContent(field string, v json.RawMessage) (parts []oiInPart, s string, isString bool, err error) {
	switch {
	case oiNull(v):
	case v[0] == '"':
		s, err = oiDecodeString(field, v)
		isString = true
	default:
		err = oiDecode(field, v, &parts)
	}
	return parts, s, isString, err
}

// oiTexts reads a system, developer or text-only content: a string or an
// array of text parts.
func oiTexts(field string, v json.RawMessage) ([]string, error) {
	parts, s, isString, err := oiContent(field, v)
	switch {
	case err != nil:
		return nil, err
	case isString:
		return []string{s}, nil
	}
	texts := make([]string, 0, len(parts))
	for i, p := range parts {
		if p.Type != "text" || p.Text == nil {
			return nil, oiErr(field+"["+strconv.Itoa(i)+"]", "only text parts are supported here")
		}
		texts = append(texts, *p.Text)
	}
	return texts, nil
}

// oiUserContent reads a user or tool message's content into Anthropic
// blocks. Tool messages (tool is set) take text and images.
func oiUserContent(field string, v json.RawMessage, tool bool) ([]oiBlock, error) {
	parts, s, isString, err := oiContent(field, v)
	switch {
	case err != nil:
		return nil, err
	case isString && oiBlank(s):
		return nil, nil
	case isString:
		return []oiBlock{{Type: "text", Text: s}}, nil
	}
	blocks := make([]oiBlock, 0, len(parts))
	for i, p := range parts {
		pf := field + "[" + strconv.Itoa(i) + "]"
		switch p.Type {
		case "text":
			if p.Text == nil {
				return nil, oiErr(pf+".text", "field required")
			}
			if !oiBlank(*p.Text) {
				blocks = append(blocks, oiBlock{Type: "text", Text: *p.Text})
			}
		case "image_url":
			b, err := oiImage(pf+".image_url", p.ImageURL)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, b)
		case "file":
			if tool {
				return nil, oiErr(pf+".type", "file parts are not supported in tool messages")
			}
			if p.File == nil {
				return nil, oiErr(pf+".file", "field required")
			}
			if p.File.FileData == "" {
				return nil, oiErr(pf+".file", "only file_data is supported (file_id is not)")
			}
			mt, data, ok := oiDataURI(p.File.FileData)
			if !ok || mt != "application/pdf" {
				return nil, oiErr(pf+".file.file_data", "must be a base64 data URI of a PDF (data:application/pdf;base64,...)")
			}
			blocks = append(blocks, oiBlock{Type: "document", Title: p.File.Filename,
				Source: &oiSource{Type: "base64", MediaType: mt, Data: data}})
		case "":
			return nil, oiErr(pf+".type", "field required")
		default:
			return nil, oiErr(pf+".type", "unsupported content part type "+strconv.Quote(p.Type))
		}
	}
	return blocks, nil
}

// oiImage turns an image_url part ({url, detail} or, leniently, a bare URL
// string) into an image block.
func oiImage(field string, v json.RawMessage) (oiBlock, error) {
	if oiNull(v) {
		return oiBlock{}, oiErr(field, "field required")
	}
	var url string
	if v[0] == '"' {
		if err := oiDecode(field, v, &url); err != nil {
			return oiBlock{}, err
		}
	} else {
		var iu struct {
			URL string `json:"url"`
		}
		if err := oiDecode(field, v, &iu); err != nil {
			return oiBlock{}, err
		}
		url = iu.URL
		field += ".url"
	}
	if mt, data, ok := oiDataURI(url); ok {
		if mt == "image/jpg" {
			mt = "image/jpeg"
		}
		switch mt {
		case "image/jpeg", "image/png", "image/gif", "image/webp":
		default:
			return oiBlock{}, oiErr(field, "unsupported image type "+strconv.Quote(mt)+" (jpeg, png, gif and webp are supported)")
		}
		return oiBlock{Type: "image", Source: &oiSource{Type: "base64", MediaType: mt, Data: data}}, nil
	}
	if l := strings.ToLower(url); strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") {
		return oiBlock{Type: "image", Source: &oiSource{Type: "url", URL: url}}, nil
	}
	return oiBlock{}, oiErr(field, "must be an http(s) URL or a base64 data URI")
}

// oiDataURI splits "data:<media type>[;params];base64,<data>". The media
// type is lowercased; the data must be non-empty. Data URIs that are not
// base64 are not accepted.
func oiDataURI(s string) (mediaType, data string, ok bool) {
	if len(s) < 5 || !strings.EqualFold(s[:5], "data:") {
		return "", "", false
	}
	head, data, found := strings.Cut(s[5:], ",")
	if !found || data == "" {
		return "", "", false
	}
	params := strings.Split(head, ";")
	if len(params) < 2 || !strings.EqualFold(strings.TrimSpace(params[len(params)-1]), "base64") {
		return "", "", false
	}
	return strings.ToLower(strings.TrimSpace(params[0])), data, true
}

// oiAssistantContent reads an assistant message: its text, then its tool
// calls.
func oiAssistantContent(field string, m *oiInMessage) ([]oiBlock, error) {
	var blocks []oiBlock
	if !oiNull(m.Content) {
		if m.Content[0] == '"' {
			var s string
			if err := oiDecode(field+".content", m.Content, &s); err != nil {
				return nil, err
			}
			if !oiBlank(s) {
				blocks = append(blocks, oiBlock{Type: "text", Text: s})
			}
		} else {
			var parts []oiInPart
			if err := oiDecode(field+".content", m.Content, &parts); err != nil {
				return nil, err
			}
			for i, p := range parts {
				var s *string
				switch p.Type {
				case "text":
					s = p.Text
				case "refusal":
					s = p.Refusal
				default:
					return nil, oiErr(field+".content["+strconv.Itoa(i)+"].type", "only text and refusal parts are supported in assistant messages")
				}
				if s != nil && !oiBlank(*s) {
					blocks = append(blocks, oiBlock{Type: "text", Text: *s})
				}
			}
		}
	}
	if m.Refusal != nil && !oiBlank(*m.Refusal) {
		blocks = append(blocks, oiBlock{Type: "text", Text: *m.Refusal})
	}
	for i, tc := range m.ToolCalls {
		tf := field + ".tool_calls[" + strconv.Itoa(i) + "]"
		if tc.Type != "" && tc.Type != "function" {
			return nil, oiErr(tf+".type", "only function tool calls are supported")
		}
		if tc.ID == "" {
			return nil, oiErr(tf+".id", "field required")
		}
		if tc.Function.Name == "" {
			return nil, oiErr(tf+".function.name", "field required")
		}
		input, err := oiArguments(tf+".function.arguments", tc.Function.Arguments)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, oiBlock{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: input})
	}
	return blocks, nil
}

// oiArguments turns a tool call's arguments, a JSON string holding a JSON
// object, into the object. An empty (or blank) string is {}; an object
// given directly instead of a string is taken too.
func oiArguments(field string, v json.RawMessage) (json.RawMessage, error) {
	if oiNull(v) {
		return json.RawMessage("{}"), nil
	}
	var args []byte
	switch v[0] {
	case '"':
		var s string
		if err := oiDecode(field, v, &s); err != nil {
			return nil, err
		}
		args = []byte(s)
	case '{':
		args = v
	default:
		return nil, oiErr(field, "must be a string holding a JSON object")
	}
	args = bytes.TrimSpace(args)
	if len(args) == 0 {
		return json.RawMessage("{}"), nil
	}
	if !json.Valid(args) {
		return nil, oiErr(field, "is not valid JSON")
	}
	if args[0] != '{' {
		return nil, oiErr(field, "must be a JSON object")
	}
	return args, nil
}

// oiSchema returns a tool's input_schema: parameters, or {"type":"object"}
// when absent, with "type":"object" added when it has no type.
func oiSchema(field string, v json.RawMessage) (json.RawMessage, error) {
	if oiNull(v) {
		return json.RawMessage(`{"type":"object"}`), nil
	}
	hasType := false
	err := jsonpeek.Object(v, func(key []byte, _, _ int) bool {
		if string(key) == "type" {
			hasType = true
		}
		return true
	})
	if err != nil {
		return nil, oiErr(field, "must be a JSON schema object")
	}
	if hasType {
		return v, nil
	}
	i := bytes.IndexByte(v, '{')
	rest := bytes.TrimSpace(v[i+1:])
	out := []byte(`{"type":"object"`)
	if rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...), nil
}

// oiToolChoiceOf maps tool_choice.
func oiToolChoiceOf(v []byte) (*oiToolChoice, error) {
	if v[0] == '"' {
		var s string
		if err := oiDecode("tool_choice", v, &s); err != nil {
			return nil, err
		}
		switch s {
		case "none":
			return &oiToolChoice{Type: "none"}, nil
		case "auto":
			return &oiToolChoice{Type: "auto"}, nil
		case "required":
			return &oiToolChoice{Type: "any"}, nil
		}
		return nil, oiErr("tool_choice", "unknown value "+strconv.Quote(s))
	}
	var tc struct {
		Type     string `json:"type"`
		Function *struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := oiDecode("tool_choice", v, &tc); err != nil {
		return nil, err
	}
	if tc.Type != "" && tc.Type != "function" {
		return nil, oiErr("tool_choice.type", "only function tool choices are supported")
	}
	if tc.Function == nil || tc.Function.Name == "" {
		return nil, oiErr("tool_choice.function.name", "field required")
	}
	return &oiToolChoice{Type: "tool", Name: tc.Function.Name}, nil
}
