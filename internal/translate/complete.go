package translate

// Anthropic's legacy Text Completions API (POST /v1/complete), served
// through the Messages API so that it works on any upstream.

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

// CompleteInfo is what translating a Text Completions request learned that
// translating its answer needs.
type CompleteInfo struct {
	Model  string // the model the client asked for; answers echo it
	Stream bool   // the client asked for a stream
	// Prefill: the prompt ends with assistant text after the last
	// "\n\nAssistant:", which the completion continues. Without one the
	// completion gets the leading space the legacy API's completions had
	// (" Hello", the text that follows "Assistant:").
	Prefill bool
}

// The turn markers of a legacy prompt (the SDKs' HUMAN_PROMPT and
// AI_PROMPT).
const (
	cpHuman     = "\n\nHuman:"
	cpAssistant = "\n\nAssistant:"
	// cpStop is the stop sequence the legacy API reported for a natural end
	// of turn.
	cpStop = "\n\nHuman:"
)

// The legacy API's own error messages.
const (
	cpErrStart = `prompt must start with "` + cpHuman + `" turn after an optional system prompt`
	cpErrEnd   = `prompt must end with "` + cpAssistant + `" turn`
)

type cpRequest struct {
	Model         string      `json:"model"`
	MaxTokens     int64       `json:"max_tokens"`
	System        string      `json:"system,omitempty"`
	Messages      []cpMessage `json:"messages"`
	StopSequences []string    `json:"stop_sequences,omitempty"`
	Temperature   *float64    `json:"temperature,omitempty"`
	TopP          *float64    `json:"top_p,omitempty"`
	TopK          *int64      `json:"top_k,omitempty"`
	Metadata      *oiMetadata `json:"metadata,omitempty"`
	Stream        bool        `json:"stream,omitempty"`
}

type cpMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// cpFields are the top-level request members FromCompleteRequest reads.
type cpFields struct {
	model, prompt, maxTokens, stop, temperature, topP, topK, metadata, stream []byte
}

func (f *cpFields) slot(key string) *[]byte {
	switch key {
	case "model":
		return &f.model
	case "prompt":
		return &f.prompt
	case "max_tokens_to_sample":
		return &f.maxTokens
	case "stop_sequences":
		return &f.stop
	case "temperature":
		return &f.temperature
	case "top_p":
		return &f.topP
	case "top_k":
		return &f.topK
	case "metadata":
		return &f.metadata
	case "stream":
		return &f.stream
	}
	return nil
}

// FromCompleteRequest turns a legacy Text Completions request body into an
// Anthropic Messages request body. Errors the client must fix are *Error.
//
// The prompt is split at "\n\nHuman:" and "\n\nAssistant:": text before the
// first marker is the system prompt, each marker starts a user or assistant
// turn (consecutive turns of one role are joined with "\n\n"), and turn
// texts are trimmed of surrounding whitespace (Anthropic refuses a final
// assistant turn that ends in whitespace). The first turn must be Human and
// the last Assistant, as the legacy API required, with its messages;
// text after the last "\n\nAssistant:" is a prefill (an assistant message the
// answer continues). max_tokens_to_sample (required) becomes max_tokens;
// stop_sequences (without all-whitespace ones, which Anthropic refuses), temperature, top_p, top_k, metadata.user_id and stream
// are kept; other fields are dropped.
func FromCompleteRequest(body []byte) ([]byte, *CompleteInfo, error) {
	var f cpFields
	var dup string
	err := jsonpeek.Object(body, func(key []byte, start, end int) bool {
		p := f.slot(string(key))
		if p == nil {
			return true
		}
		if *p != nil && dup == "" {
			dup = string(key)
		}
		*p = body[start:end]
		return true
	})
	if err != nil {
		msg := err.Error()
		var se *jsonpeek.SyntaxError
		if errors.As(err, &se) {
			msg = se.Msg + " at offset " + strconv.Itoa(se.Offset)
		}
		return nil, nil, oiErr("", "request body is not a JSON object: "+msg)
	}
	if dup != "" {
		return nil, nil, oiErr(dup, "duplicate key")
	}

	var req cpRequest
	info := &CompleteInfo{}
	if oiNull(f.model) {
		return nil, nil, oiErr("model", "field required")
	}
	if err := oiDecode("model", f.model, &req.Model); err != nil {
		return nil, nil, err
	}
	if req.Model == "" {
		return nil, nil, oiErr("model", "must not be empty")
	}
	info.Model = req.Model
	if oiNull(f.maxTokens) {
		return nil, nil, oiErr("max_tokens_to_sample", "field required")
	}
	if req.MaxTokens, err = oiInt("max_tokens_to_sample", f.maxTokens); err != nil {
		return nil, nil, err
	}
	if oiNull(f.prompt) {
		return nil, nil, oiErr("prompt", "field required")
	}
	var prompt string
	if err := oiDecode("prompt", f.prompt, &prompt); err != nil {
		return nil, nil, err
	}
	if req.System, req.Messages, err = cpParsePrompt(prompt); err != nil {
		return nil, nil, err
	}
	if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == "assistant" {
		info.Prefill = true
	}

	if !oiNull(f.stop) {
		var stops []string
		if err := oiDecode("stop_sequences", f.stop, &stops); err != nil {
			return nil, nil, err
		}
		req.StopSequences = oiStops(stops)
	}
	if !oiNull(f.temperature) {
		t, err := oiNumber("temperature", f.temperature)
		if err != nil {
			return nil, nil, err
		}
		req.Temperature = &t
	}
	if !oiNull(f.topP) {
		p, err := oiNumber("top_p", f.topP)
		if err != nil {
			return nil, nil, err
		}
		req.TopP = &p
	}
	if !oiNull(f.topK) {
		k, err := oiInt("top_k", f.topK)
		if err != nil {
			return nil, nil, err
		}
		req.TopK = &k
	}
	if !oiNull(f.metadata) {
		var md struct {
			UserID *string `json:"user_id"`
		}
		if err := oiDecode("metadata", f.metadata, &md); err != nil {
			return nil, nil, err
		}
		if md.UserID != nil && *md.UserID != "" {
			req.Metadata = &oiMetadata{UserID: *md.UserID}
		}
	}
	if !oiNull(f.stream) {
		if err := oiDecode("stream", f.stream, &req.Stream); err != nil {
			return nil, nil, err
		}
		info.Stream = req.Stream
	}
	out, err := oiMarshal(&req)
	if err != nil {
		return nil, nil, err
	}
	return out, info, nil
}

// cpParsePrompt splits a legacy prompt into a system prompt and turns.
func cpParsePrompt(p string) (system string, turns []cpMessage, err error) {
	// Next positions of each marker at or after pos, or -1; each is searched
	// again only once passed, so the scan is linear.
	pos := 0
	nh, na := strings.Index(p, cpHuman), strings.Index(p, cpAssistant)
	var (
		role     string // the turn being read; "" before the first marker
		segStart int
		last     string // the role of the last marker
		parts    [][]string
	)
	flush := func(end int) {
		text := strings.TrimSpace(p[segStart:end])
		switch {
		case role == "":
			system = text
		case text == "":
		case len(turns) > 0 && turns[len(turns)-1].Role == role:
			parts[len(parts)-1] = append(parts[len(parts)-1], text)
		default:
			turns = append(turns, cpMessage{Role: role})
			parts = append(parts, []string{text})
		}
	}
	for {
		if nh >= 0 && nh < pos {
			nh = cpIndexFrom(p, cpHuman, pos)
		}
		if na >= 0 && na < pos {
			na = cpIndexFrom(p, cpAssistant, pos)
		}
		var at int
		var next, marker string
		switch {
		case nh >= 0 && (na < 0 || nh < na):
			at, next, marker = nh, "user", cpHuman
		case na >= 0:
			at, next, marker = na, "assistant", cpAssistant
		default:
			flush(len(p))
			if last == "" {
				return "", nil, oiErr("", cpErrStart)
			}
			if last != "assistant" {
				return "", nil, oiErr("", cpErrEnd)
			}
			if len(turns) == 0 || turns[0].Role != "user" {
				return "", nil, oiErr("prompt", "the Human turns are empty")
			}
			for i := range turns {
				turns[i].Content = strings.Join(parts[i], "\n\n")
			}
			return system, turns, nil
		}
		if last == "" && next != "user" {
			return "", nil, oiErr("", cpErrStart)
		}
		flush(at)
		role, last = next, next
		pos = at + len(marker)
		segStart = pos
	}
}

// cpIndexFrom is strings.Index(s[from:], sub) as an index into s, or -1.
func cpIndexFrom(s, sub string, from int) int {
	i := strings.Index(s[from:], sub)
	if i < 0 {
		return -1
	}
	return from + i
}

// cpCompletion is the legacy answer.
type cpCompletion struct {
	Type       string  `json:"type"`
	ID         string  `json:"id"`
	Completion string  `json:"completion"`
	StopReason string  `json:"stop_reason"`
	Stop       *string `json:"stop"`
	Model      string  `json:"model"`
}

// cpStopReason maps an Anthropic stop_reason (and stop_sequence) to the
// legacy stop_reason and stop: a natural end is reported as the legacy API
// did, as the stop sequence "\n\nHuman:".
func cpStopReason(reason, seq string) (string, *string) {
	switch reason {
	case "max_tokens", "model_context_window_exceeded":
		return "max_tokens", nil
	case "stop_sequence":
		if seq != "" {
			return "stop_sequence", &seq
		}
	case "end_turn", "":
		s := cpStop
		return "stop_sequence", &s
	}
	// refusal, tool_use, pause_turn: the turn ended, on no sequence.
	return "stop_sequence", nil
}

// cpID makes a completion id from an Anthropic message id: "msg_01X…"
// becomes "compl_01X…".
func cpID(msgID string) string {
	return "compl_" + strings.TrimPrefix(oiCompletionID(msgID), "chatcmpl-")
}

// cpLeadingSpace reports whether a completion starting with text needs the
// legacy leading space: no prefill and text does not start with whitespace.
func cpLeadingSpace(text string) bool {
	return text != "" && text[0] != ' ' && text[0] != '\n' && text[0] != '\t' && text[0] != '\r'
}

// ToCompleteResponse turns an Anthropic Message JSON into a legacy
// completion: {"type":"completion","id","completion","stop_reason","stop",
// "model"}. completion is the text blocks' text (other blocks are dropped),
// with a leading space unless the prompt had a prefill; stop_reason is
// "max_tokens" for max_tokens, else "stop_sequence", with stop the matched
// sequence, "\n\nHuman:" for a natural end (as the legacy API reported it),
// or null. info may be nil.
func ToCompleteResponse(msg []byte, info *CompleteInfo) ([]byte, error) {
	var m struct {
		ID           string `json:"id"`
		Type         string `json:"type"`
		Model        string `json:"model"`
		StopReason   string `json:"stop_reason"`
		StopSequence string `json:"stop_sequence"`
		Content      []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(msg, &m); err != nil {
		return nil, errors.New("translate: Anthropic message: " + err.Error())
	}
	if m.Type != "" && m.Type != "message" {
		return nil, errors.New("translate: Anthropic message has type " + strconv.Quote(m.Type))
	}
	var text strings.Builder
	for _, b := range m.Content {
		if b.Type == "text" {
			text.WriteString(b.Text)
		}
	}
	out := cpCompletion{Type: "completion", ID: cpID(m.ID), Completion: text.String(), Model: m.Model}
	if info != nil && info.Model != "" {
		out.Model = info.Model
	}
	if (info == nil || !info.Prefill) && cpLeadingSpace(out.Completion) {
		out.Completion = " " + out.Completion
	}
	out.StopReason, out.Stop = cpStopReason(m.StopReason, m.StopSequence)
	return oiMarshal(&out)
}

var cpNamesDelta = []string{"delta"}

// CompleteStream turns Anthropic stream events into legacy Text Completions
// events:
//
//	event: completion
//	data: {"type":"completion","id":"compl_…","completion":" Hello","stop_reason":null,"model":"…"}
//
// one per text delta (thinking, tool and other blocks are dropped), and at
// message_delta a final completion event with "completion":"", the
// stop_reason and stop (as ToCompleteResponse maps them). ping events are
// passed on as event: ping once a completion event is out: the legacy
// stream began with a completion event (DOC-LEG), and the Messages API's
// ping right after the first content_block_start would otherwise come
// first. An Anthropic error event, End before the final
// event, and a known event whose data is not JSON, end the stream with
// event: error {"type":"error","error":{"type","message"}}.
//
// Call Feed for each event, End once at the end, and drain Next after each.
// A frame from Next is valid until the next call of Feed or End.
type CompleteStream struct {
	info   CompleteInfo
	prefix []byte // `{"type":"completion","id":…,"completion":`
	suffix []byte // `,"model":…}`
	q      oiFrames

	started  bool
	text     bool // a text block is open
	block    int
	space    bool // the next text still needs the leading space
	sent     bool // a completion event is out
	finished bool // the final completion event is out
	done     bool

	vals [6][]byte
	sub  [6][]byte
}

// NewCompleteStream starts the translation of one stream. info may be nil.
func NewCompleteStream(info *CompleteInfo) *CompleteStream {
	s := &CompleteStream{block: -1}
	if info != nil {
		s.info = *info
	}
	s.space = !s.info.Prefill
	return s
}

// Next returns the next frame to write, if any.
func (s *CompleteStream) Next() ([]byte, bool) { return s.q.next() }

func (s *CompleteStream) start(id, model string) {
	if s.started {
		return
	}
	s.started = true
	if s.info.Model != "" {
		model = s.info.Model
	}
	p := append(s.prefix[:0], `{"type":"completion","id":`...)
	p = jsonpeek.AppendString(p, cpID(id))
	s.prefix = append(p, `,"completion":`...)
	m := append(s.suffix[:0], `,"model":`...)
	m = jsonpeek.AppendString(m, model)
	s.suffix = append(m, '}')
}

// completion writes one completion event with the text literal lit.
func (s *CompleteStream) completion(lit []byte) {
	b := append(s.q.buf, "event: completion\ndata: "...)
	b = append(b, s.prefix...)
	if s.space {
		s.space = false
		if d := oiStringOf(lit); cpLeadingSpace(d) {
			b = jsonpeek.AppendString(b, " "+d)
			lit = nil
		}
	}
	if lit != nil {
		b = oiAppendLiteral(b, lit)
	}
	b = append(b, `,"stop_reason":null`...)
	b = append(b, s.suffix...)
	s.q.buf = append(b, "\n\n"...)
	s.q.mark()
	s.sent = true
}

// finish writes the final completion event, once.
func (s *CompleteStream) finish(reason, seq string) {
	if s.finished {
		return
	}
	s.start("", "")
	s.finished = true
	r, stop := cpStopReason(reason, seq)
	b := append(s.q.buf, "event: completion\ndata: "...)
	b = append(b, s.prefix...)
	b = append(b, `"","stop_reason":`...)
	b = jsonpeek.AppendString(b, r)
	b = append(b, `,"stop":`...)
	if stop != nil {
		b = jsonpeek.AppendString(b, *stop)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, s.suffix...)
	s.q.buf = append(b, "\n\n"...)
	s.q.mark()
	s.sent = true
}

// fail writes an error event and ends the stream.
func (s *CompleteStream) fail(typ, msg string) {
	b := append(s.q.buf, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"...)
	b = jsonpeek.AppendString(b, typ)
	b = append(b, `,"message":`...)
	b = jsonpeek.AppendString(b, msg)
	s.q.buf = append(b, "}}\n\n"...)
	s.q.mark()
	s.done = true
}

// Feed takes one Anthropic event.
func (s *CompleteStream) Feed(ev sse.Event) {
	if s.done {
		return
	}
	s.q.reset()
	v := s.vals[:]
	switch string(oiEventType(ev)) {
	case "ping":
		if !s.sent {
			return // before the first completion event: see the type doc
		}
		s.q.buf = append(s.q.buf, "event: ping\ndata: {\"type\":\"ping\"}\n\n"...)
		s.q.mark()
	case "message_start":
		if !oiMembers(ev.Data, oiNamesStart, v[:1]) {
			s.fail("api_error", "upstream sent a malformed message_start event")
			return
		}
		m := s.sub[:3]
		oiMembers(v[0], oiNamesMessage, m)
		s.start(oiStringOf(m[0]), oiStringOf(m[1]))
	case "content_block_start":
		if !oiMembers(ev.Data, oiNamesBlock, v[:3]) {
			s.fail("api_error", "upstream sent a malformed content_block_start event")
			return
		}
		s.start("", "")
		b := s.sub[:6]
		oiMembers(v[1], oiNamesStartBlk, b)
		s.block, s.text = oiIndex(v[0]), oiStringIs(b[0], "text")
		if s.text && !s.finished && oiIsString(b[1]) && len(b[1]) > 2 {
			s.completion(b[1])
		}
	case "content_block_delta":
		if !oiMembers(ev.Data, oiNamesBlock, v[:3]) {
			s.fail("api_error", "upstream sent a malformed content_block_delta event")
			return
		}
		if !s.text || s.finished || oiIndex(v[0]) != s.block {
			return
		}
		d := s.sub[:6]
		oiMembers(v[2], oiNamesDelta, d)
		if oiStringIs(d[0], "text_delta") && oiIsString(d[1]) && len(d[1]) > 2 {
			s.completion(d[1])
		}
	case "content_block_stop":
		if !oiMembers(ev.Data, oiNamesBlock, v[:3]) {
			s.fail("api_error", "upstream sent a malformed content_block_stop event")
			return
		}
		if oiIndex(v[0]) == s.block {
			s.text, s.block = false, -1
		}
	case "message_delta":
		if !oiMembers(ev.Data, cpNamesDelta, v[:1]) {
			s.fail("api_error", "upstream sent a malformed message_delta event")
			return
		}
		d := s.sub[:6]
		oiMembers(v[0], oiNamesDelta, d)
		s.finish(oiStringOf(d[4]), oiStringOf(d[5]))
	case "message_stop":
		s.finish("", "")
		s.done = true
	case "error":
		s.fail(oiUpstreamError(ev.Data, v[:1], s.sub[:2]))
	}
}

// End tells the stream that the upstream ended (err nil: cleanly) or
// failed. A stream that has not seen message_stop ends with an error event.
func (s *CompleteStream) End(err error) {
	if s.done {
		return
	}
	s.q.reset()
	s.fail("api_error", oiEndMessage(err))
}
