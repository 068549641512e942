package translate

// Anthropic Messages request → OpenAI Chat Completions request.
//
// What has no OpenAI form is handled by one policy:
//
//   - Fields the upstream cannot use are dropped, never an error: unknown
//     top-level fields and cache_control, context_management,
//     service_tier, container, speed, mcp_servers, inference_geo,
//     diagnostics; unknown block types; server tools (web_search_*,
//     bash_*, code_execution_*, ...) and their history blocks;
//     redacted_thinking (encrypted, nothing to replay); sampling
//     parameters the Profile says the upstream rejects.
//   - Content the upstream cannot take, where dropping it would change
//     what the model sees, is a 400 (*Error) naming the block: an image or
//     document by file_id, an image URL for an upstream that only takes
//     base64, any image for a text-only upstream, a PDF for an upstream
//     without file parts, a tool_choice that forces a dropped server tool.
//   - Nothing panics: every input is decoded into typed values first, and
//     an undecodable body is an *Error too.
//
// OpenAI is stricter than Anthropic about the shape of a conversation, so
// the translation repairs it rather than forward a request the upstream
// would refuse: every tool call is answered by a tool message before
// anything else (a call the client sent no result for gets an "Error:"
// reply; a result that answers no pending call becomes user text), a
// system message kept in place that falls between a call and its result
// moves after the result, and a thinking-only assistant turn, which has no
// OpenAI form, disappears (its neighbouring user turns merge).
//
// PROTOCOL.md §11 is the mapping table; VENDORS.md section C lists the
// mistakes other gateways make, each of which has a golden test in
// testdata/request.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/openai"
)

const (
	// rqBillingHeader starts the first system block of Claude Code, whose
	// per-request "cch=" value would defeat the upstream's prefix cache
	// (VENDORS.md C18). It means nothing to another vendor's model.
	rqBillingHeader = "x-anthropic-billing-header:"

	// rqMediaTokens is what InputEstimate counts per image or document:
	// Anthropic's vision docs put a 1092×1092 image at about 1600 tokens.
	rqMediaTokens = 1600

	// rqMaxSchemaDepth bounds the recursion of schema stripping; deeper
	// subschemas are copied as they are.
	rqMaxSchemaDepth = 64

	// Tool-message texts for what a tool message cannot carry.
	rqNoOutput     = "(no output)"
	rqNoResult     = "Error: the client sent no result for this tool call."
	rqErrorPrefix  = "Error: "
	rqSeeUserImage = "[image: attached to the user message that follows]"
	rqSeeUserFile  = "[document: attached to the user message that follows]"
)

// Request decodes an Anthropic Messages request body and returns the
// OpenAI Chat Completions request body for the upstream model model, as p
// describes the upstream, with what answering it will need to know. An
// error is always an *Error: the client's request is malformed, or asks
// for something this upstream cannot take.
func AnthropicToOpenAIRequest(body []byte, model string, p *Profile) ([]byte, *RequestInfo, error) {
	if p == nil {
		p = &Profile{}
	}
	var in anthropic.MessageRequest
	if !rqBody(body, &in) {
		// Invalid, or a shape rqBody leaves to encoding/json, which
		// decides and words the error.
		in = anthropic.MessageRequest{}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, nil, rqDecodeError(err)
		}
	}
	info := &RequestInfo{
		Model:         in.Model,
		Stream:        in.Stream,
		StopSequences: in.StopSequences,
		Thinking:      rqThinkingOn(in.Thinking),
	}
	out := openai.ChatRequest{Model: model}
	b := rqBuilder{p: p}
	if err := b.conversation(&in); err != nil {
		return nil, nil, err
	}
	out.Messages = b.out
	if err := b.tools(&in, &out, info); err != nil {
		return nil, nil, err
	}
	if err := rqLimits(&in, p, &out); err != nil {
		return nil, nil, err
	}
	rqThinking(&in, p, &out)
	if f := in.OutputConfig; f != nil && f.Format != nil && f.Format.Type == "json_schema" && len(f.Format.Schema) > 0 {
		out.ResponseFormat = &openai.ResponseFormat{Type: "json_schema", JSONSchema: &openai.JSONSchema{Name: "output", Schema: f.Format.Schema}}
	}
	if in.Stream {
		out.Stream = true
		if p.StreamUsage {
			out.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
		}
	}
	if p.User && in.Metadata != nil && in.Metadata.UserID != nil {
		out.User = *in.Metadata.UserID
	}
	enc, err := openai.Marshal(out)
	if err != nil { // cannot happen: every raw value was decoded or built here
		return nil, nil, &Error{Msg: "cannot encode the upstream request: " + err.Error()}
	}
	info.InputEstimate = (b.chars+3)/4 + b.media*rqMediaTokens
	return enc, info, nil
}

// rqDecodeError turns a decoding error into a message for the client,
// without Go type names.
func rqDecodeError(err error) *Error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &Error{Msg: fmt.Sprintf("request body is not valid JSON (offset %d): %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))}
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "request body"
		}
		return &Error{Msg: fmt.Sprintf("%s: expected %s, got %s", field, jsonKind(te.Type), te.Value)}
	}
	return &Error{Msg: "invalid request body: " + strings.TrimPrefix(err.Error(), "json: ")}
}

// rqBuilder builds the OpenAI messages.
type rqBuilder struct {
	p      *Profile
	out    []openai.Message
	system []string // the texts of the leading system message

	// pending are the ids of the last assistant message's tool calls that
	// have no tool message yet. OpenAI rejects a conversation in which a
	// tool call is not answered before the next non-tool message.
	pending []string
	// held are mid-conversation system messages that arrived while tool
	// calls were pending: they follow the tool messages.
	held []openai.Message

	chars int // text bytes seen, for InputEstimate
	media int // images and documents seen
}

// rqTurn is a run of messages of one role (the API merges consecutive
// same-role turns), or one mid-conversation system message kept in place.
type rqTurn struct {
	role   string
	blocks []rqBlock
	text   string // system turns
}

// rqBlock is a block and where it was, for error messages.
type rqBlock struct {
	*anthropic.ContentBlock
	msg, idx int
}

func (b rqBlock) where() string { return fmt.Sprintf("messages.%d.content.%d", b.msg, b.idx) }

func (b *rqBuilder) conversation(in *anthropic.MessageRequest) error {
	if in.System != nil {
		if s := b.systemText(*in.System, true); s != "" {
			b.system = append(b.system, s)
		}
	}
	var turns []rqTurn
	started := false // a user or assistant message came
	for i := range in.Messages {
		m := &in.Messages[i]
		switch m.Role {
		case anthropic.RoleUser, anthropic.RoleAssistant:
			started = true
			blocks := m.Content.AsBlocks()
			if n := len(turns); n == 0 || turns[n-1].role != m.Role {
				turns = append(turns, rqTurn{role: m.Role})
			}
			t := &turns[len(turns)-1]
			for j := range blocks {
				t.blocks = append(t.blocks, rqBlock{&blocks[j], i, j})
			}
		case anthropic.RoleSystem:
			s := b.systemText(m.Content, false)
			switch {
			case s == "":
			case !b.p.SystemMidConversation || !started:
				// Most chat templates reject a system message that is not
				// first (VENDORS.md C1).
				b.system = append(b.system, s)
			case len(turns) > 0 && turns[len(turns)-1].role == anthropic.RoleSystem:
				turns[len(turns)-1].text += "\n\n" + s
			default:
				turns = append(turns, rqTurn{role: anthropic.RoleSystem, text: s})
			}
		default:
			return &Error{Msg: fmt.Sprintf("messages.%d.role: must be \"user\", \"assistant\" or \"system\", not %q", i, m.Role)}
		}
	}
	// Room for a message per turn and the system message, whose slot is
	// kept first and filled once the system text is joined.
	hasSystem := len(b.system) > 0
	b.out = make([]openai.Message, 0, len(in.Messages)+1)
	if hasSystem {
		b.out = append(b.out, openai.Message{})
	}
	for i := range turns {
		t := &turns[i]
		var err error
		switch t.role {
		case anthropic.RoleUser:
			err = b.user(t)
		case anthropic.RoleAssistant:
			b.assistant(t)
		default:
			m := openai.Message{Role: openai.RoleSystem, Content: openai.TextContent(t.text)}
			if len(b.pending) > 0 {
				b.held = append(b.held, m)
			} else {
				b.out = append(b.out, m)
			}
		}
		if err != nil {
			return err
		}
	}
	b.flush()
	if hasSystem {
		b.out[0] = openai.Message{Role: openai.RoleSystem, Content: openai.TextContent(strings.Join(b.system, "\n\n"))}
	}
	// User messages were built as parts so that they could be merged; a
	// lone text part is sent as a plain string, which every vendor takes.
	for i := range b.out {
		c := b.out[i].Content
		if b.out[i].Role == openai.RoleUser && len(c.Parts) == 1 && c.Parts[0].Type == openai.PartText {
			b.out[i].Content = openai.TextContent(c.Parts[0].Text)
		}
	}
	if b.out == nil {
		b.out = []openai.Message{}
	}
	return nil
}

// systemText joins the text blocks of a system prompt or message.
func (b *rqBuilder) systemText(c anthropic.Content, top bool) string {
	if c.Blocks == nil {
		b.chars += len(c.Text)
		return c.Text
	}
	var texts []string
	for _, bl := range c.Blocks {
		if bl.Type != anthropic.BlockText || bl.Text == "" || top && strings.HasPrefix(bl.Text, rqBillingHeader) {
			continue
		}
		texts = append(texts, bl.Text)
		b.chars += len(bl.Text)
	}
	return strings.Join(texts, "\n\n")
}

// flush answers the pending tool calls that got no result, then sends the
// held system messages.
func (b *rqBuilder) flush() {
	for _, id := range b.pending {
		b.out = append(b.out, openai.Message{Role: openai.RoleTool, ToolCallID: id, Content: openai.TextContent(rqNoResult)})
	}
	b.pending = b.pending[:0]
	b.out = append(b.out, b.held...)
	b.held = b.held[:0]
}

// answer reports whether id is a pending tool call, and marks it answered.
func (b *rqBuilder) answer(id string) bool {
	for i, p := range b.pending {
		if p == id {
			b.pending = append(b.pending[:i], b.pending[i+1:]...)
			return true
		}
	}
	return false
}

func (b *rqBuilder) assistant(t *rqTurn) {
	b.flush()
	var text, reasoning strings.Builder
	var calls []openai.ToolCall
	apart := false // another block came since the last text
	for _, bl := range t.blocks {
		if bl.Type != anthropic.BlockText {
			apart = true
		}
		switch bl.Type {
		case anthropic.BlockText:
			if bl.Text == "" {
				continue
			}
			// Adjacent text blocks (split by citations) are one text;
			// texts on either side of a tool call are paragraphs.
			if apart && text.Len() > 0 {
				text.WriteString("\n\n")
			}
			apart = false
			text.WriteString(bl.Text)
		case anthropic.BlockToolUse:
			args := rqArguments(bl.Input)
			b.chars += len(bl.Name) + len(args)
			calls = append(calls, openai.ToolCall{ID: bl.ID, Type: "function", Function: openai.FunctionCall{Name: bl.Name, Arguments: args}})
		case anthropic.BlockThinking:
			reasoning.WriteString(bl.Thinking)
		}
		// redacted_thinking is encrypted for Anthropic alone; server tool
		// blocks record tools Anthropic ran; nothing else belongs in an
		// assistant turn.
	}
	b.chars += text.Len()
	if text.Len() == 0 && len(calls) == 0 {
		return // a thinking-only turn: nothing an OpenAI message can hold
	}
	m := openai.Message{Role: openai.RoleAssistant, ToolCalls: calls}
	if text.Len() > 0 {
		m.Content = openai.TextContent(text.String())
	}
	if b.p.ReasoningReplay {
		// DeepSeek needs the field on tool turns in thinking mode, even
		// empty (VENDORS.md C3).
		r := reasoning.String()
		m.ReasoningContent = &r
	}
	b.out = append(b.out, m)
	for _, c := range calls {
		b.pending = append(b.pending, c.ID)
	}
}

// rqArguments is a tool_use input as compact JSON text.
func rqArguments(input json.RawMessage) string {
	if len(input) == 0 || string(input) == "null" {
		return "{}"
	}
	var buf bytes.Buffer
	if json.Compact(&buf, input) != nil { // cannot happen: input was decoded
		return "{}"
	}
	return buf.String()
}

// user translates a user turn: a tool message per tool result, right
// after the assistant message and before anything else (VENDORS.md C5),
// then one user message with the turn's other content and the media the
// tool messages could not carry.
func (b *rqBuilder) user(t *rqTurn) error {
	var parts, media []openai.Part
	for _, bl := range t.blocks {
		if bl.Type != anthropic.BlockToolResult {
			ps, err := b.userBlock(bl)
			if err != nil {
				return err
			}
			parts = append(parts, ps...)
			continue
		}
		if b.answer(bl.ToolUseID) {
			text, m, err := b.toolResult(bl, true)
			if err != nil {
				return err
			}
			b.out = append(b.out, openai.Message{Role: openai.RoleTool, ToolCallID: bl.ToolUseID, Content: openai.TextContent(text)})
			if len(m) > 0 {
				media = append(media, openai.TextPart("[attachments of the result of tool call "+bl.ToolUseID+"]"))
				media = append(media, m...)
			}
			continue
		}
		// No tool call waits for this result (it answers nothing, or a
		// call already answered): a tool message would be refused, so it
		// goes to the model as text.
		text, m, err := b.toolResult(bl, false)
		if err != nil {
			return err
		}
		parts = append(parts, openai.TextPart("[result of tool call "+bl.ToolUseID+"]\n"+text))
		parts = append(parts, m...)
	}
	b.flush()
	if len(media) > 0 {
		parts = append(media, parts...)
	}
	if len(parts) == 0 {
		return nil
	}
	if n := len(b.out); n > 0 && b.out[n-1].Role == openai.RoleUser {
		// The previous user message is adjacent (an assistant turn in
		// between had nothing to send): one message, as the API would
		// merge them.
		c := b.out[n-1].Content
		c.Parts = append(c.Parts, parts...)
		return nil
	}
	b.out = append(b.out, openai.Message{Role: openai.RoleUser, Content: openai.PartsContent(parts...)})
	return nil
}

// userBlock translates one block of a user turn (tool results aside).
func (b *rqBuilder) userBlock(bl rqBlock) ([]openai.Part, error) {
	switch bl.Type {
	case anthropic.BlockText:
		if bl.Text == "" {
			return nil, nil
		}
		b.chars += len(bl.Text)
		return []openai.Part{openai.TextPart(bl.Text)}, nil
	case anthropic.BlockImage:
		p, err := b.image(bl.Source, bl.where())
		if err != nil {
			return nil, err
		}
		return []openai.Part{p}, nil
	case anthropic.BlockDocument:
		return b.document(bl.ContentBlock, bl.where())
	case "search_result":
		if s := b.searchResult(bl.Raw); s != "" {
			return []openai.Part{openai.TextPart(s)}, nil
		}
	}
	return nil, nil
}

// toolResult returns the text of a tool_result block for a tool message
// (inTool) or a user message, and the media parts that a tool message
// cannot hold: in the text, a placeholder marks where each one was.
func (b *rqBuilder) toolResult(bl rqBlock, inTool bool) (string, []openai.Part, error) {
	var texts []string
	var media []openai.Part
	if c := bl.Content; c != nil {
		if c.Blocks == nil && c.Text != "" {
			texts = append(texts, c.Text)
			b.chars += len(c.Text)
		}
		for j := range c.Blocks {
			ib := rqBlock{&c.Blocks[j], bl.msg, bl.idx}
			where := fmt.Sprintf("%s.content.%d", bl.where(), j)
			var ps []openai.Part
			var err error
			switch ib.Type {
			case anthropic.BlockImage:
				var p openai.Part
				p, err = b.image(ib.Source, where)
				ps = []openai.Part{p}
			case anthropic.BlockDocument:
				ps, err = b.document(ib.ContentBlock, where)
			default:
				ps, err = b.userBlock(ib)
			}
			if err != nil {
				return "", nil, err
			}
			for _, p := range ps {
				switch {
				case p.Type == openai.PartText:
					texts = append(texts, p.Text)
				case !inTool:
					media = append(media, p)
				case p.Type == openai.PartImageURL:
					texts = append(texts, rqSeeUserImage)
					media = append(media, p)
				default:
					texts = append(texts, rqSeeUserFile)
					media = append(media, p)
				}
			}
		}
	}
	text := strings.Join(texts, "\n")
	if text == "" {
		text = rqNoOutput
	}
	if bl.IsError {
		// OpenAI has no error flag on tool messages (VENDORS.md C6).
		text = rqErrorPrefix + text
	}
	return text, media, nil
}

// image translates an image source to an image_url part.
func (b *rqBuilder) image(src *anthropic.Source, where string) (openai.Part, error) {
	if src == nil {
		return openai.Part{}, &Error{Msg: where + ".source: field required"}
	}
	if b.p.NoImages {
		return openai.Part{}, &Error{Msg: where + ": " + rqUpstream(b.p) + " does not accept images"}
	}
	var url string
	switch src.Type {
	case "base64":
		url = "data:" + src.MediaType + ";base64," + src.Data
	case "url":
		if !b.p.ImageURLs {
			return openai.Part{}, &Error{Msg: where + ": this model's upstream does not accept image URLs; send the image as base64 data (source.type \"base64\")"}
		}
		url = src.URL
	case "file":
		return openai.Part{}, &Error{Msg: where + ": images referenced by file_id (source.type \"file\") cannot be sent to this model's upstream; send the image as base64 data"}
	default:
		return openai.Part{}, &Error{Msg: fmt.Sprintf("%s.source.type: unsupported image source type %q", where, src.Type)}
	}
	b.media++
	return openai.Part{Type: openai.PartImageURL, ImageURL: &openai.ImageURL{URL: url}}, nil
}

// rqUpstream names the upstream in an error message: "this upstream
// (deepseek)", so that the client knows which route refused it.
func rqUpstream(p *Profile) string {
	if p.Name == "" {
		return "this model's upstream"
	}
	return "this upstream (" + p.Name + ")"
}

// document translates a document block: a PDF becomes a file part, text
// becomes text parts.
func (b *rqBuilder) document(bl *anthropic.ContentBlock, where string) ([]openai.Part, error) {
	src := bl.Source
	if src == nil {
		return nil, &Error{Msg: where + ".source: field required"}
	}
	titled := func(s string) string {
		if bl.Title != "" {
			s = bl.Title + "\n\n" + s
		}
		b.chars += len(s)
		return s
	}
	switch src.Type {
	case "base64":
		if src.MediaType != "application/pdf" {
			return nil, &Error{Msg: fmt.Sprintf("%s.source.media_type: unsupported document type %q", where, src.MediaType)}
		}
		if !b.p.Documents {
			return nil, &Error{Msg: where + ": this model's upstream does not accept PDF documents"}
		}
		name := bl.Title
		if name == "" {
			name = "document.pdf"
		}
		b.media++
		return []openai.Part{{Type: openai.PartFile, File: &openai.File{FileData: "data:application/pdf;base64," + src.Data, Filename: name}}}, nil
	case "text":
		return []openai.Part{openai.TextPart(titled(src.Data))}, nil
	case "content":
		if src.Content == nil {
			return nil, nil
		}
		if src.Content.Blocks == nil {
			if src.Content.Text == "" {
				return nil, nil
			}
			return []openai.Part{openai.TextPart(titled(src.Content.Text))}, nil
		}
		var parts []openai.Part
		for j := range src.Content.Blocks {
			cb := &src.Content.Blocks[j]
			switch cb.Type {
			case anthropic.BlockText:
				if cb.Text != "" {
					b.chars += len(cb.Text)
					parts = append(parts, openai.TextPart(cb.Text))
				}
			case anthropic.BlockImage:
				p, err := b.image(cb.Source, fmt.Sprintf("%s.source.content.%d", where, j))
				if err != nil {
					return nil, err
				}
				parts = append(parts, p)
			}
		}
		return parts, nil
	case "url", "file":
		return nil, &Error{Msg: fmt.Sprintf("%s: documents referenced by %s (source.type %q) cannot be sent to this model's upstream; send them as base64 data", where, map[string]string{"url": "URL", "file": "file_id"}[src.Type], src.Type)}
	}
	return nil, &Error{Msg: fmt.Sprintf("%s.source.type: unsupported document source type %q", where, src.Type)}
}

// searchResult renders a search_result block as text: its title, source
// and text content.
func (b *rqBuilder) searchResult(raw json.RawMessage) string {
	var r struct {
		Title   string `json:"title"`
		Source  string `json:"source"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return ""
	}
	var sb strings.Builder
	for _, s := range []string{r.Title, r.Source} {
		if s != "" {
			sb.WriteString(s)
			sb.WriteByte('\n')
		}
	}
	for _, c := range r.Content {
		sb.WriteString(c.Text)
		sb.WriteByte('\n')
	}
	s := strings.TrimSuffix(sb.String(), "\n")
	b.chars += len(s)
	return s
}
