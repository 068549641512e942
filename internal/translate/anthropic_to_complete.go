package translate

// Anthropic Message and events → legacy Text Completions answer and stream.

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

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
func cpID(msgID string, env Env) string { return answerID("compl_", msgID, env) }

func cpEnv(info *CompleteInfo) Env {
	if info == nil {
		return Env{}
	}
	return info.Env
}

// cpLeadingSpace reports whether a completion starting with text needs the
// legacy leading space: no prefill and text does not start with whitespace.
func cpLeadingSpace(text string) bool {
	return text != "" && text[0] != ' ' && text[0] != '\n' && text[0] != '\t' && text[0] != '\r'
}

// AnthropicToCompleteResponse turns an Anthropic Message JSON into a legacy
// completion: {"type":"completion","id","completion","stop_reason","stop",
// "model"}. completion is the text blocks' text (other blocks are dropped),
// with a leading space unless the prompt had a prefill; stop_reason is
// "max_tokens" for max_tokens, else "stop_sequence", with stop the matched
// sequence, "\n\nHuman:" for a natural end (as the legacy API reported it),
// or null. info may be nil.
func AnthropicToCompleteResponse(msg []byte, info *CompleteInfo) ([]byte, error) {
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
	out := cpCompletion{Type: "completion", ID: cpID(m.ID, cpEnv(info)), Completion: text.String(), Model: m.Model}
	if info != nil && info.Model != "" {
		out.Model = info.Model
	}
	if (info == nil || !info.Prefill) && cpLeadingSpace(out.Completion) {
		out.Completion = " " + out.Completion
	}
	out.StopReason, out.Stop = cpStopReason(m.StopReason, m.StopSequence)
	return oiMarshal(&out)
}

// AnthropicToCompleteStream turns Anthropic stream events into legacy Text Completions
// events:
//
//	event: completion
//	data: {"type":"completion","id":"compl_…","completion":" Hello","stop_reason":null,"model":"…"}
//
// one per text delta (thinking, tool and other blocks are dropped), and at
// message_delta a final completion event with "completion":"", the
// stop_reason and stop (as AnthropicToCompleteResponse maps them). ping events are
// passed on as event: ping once a completion event is out: the legacy
// stream began with a completion event (DOC-LEG), and the Messages API's
// ping right after the first content_block_start would otherwise come
// first. An Anthropic error event, Finish before the final
// event, and a known event whose data is not JSON, end the stream with
// event: error {"type":"error","error":{"type","message"}}.
//
// Call Feed for each event, Finish once at the end, and drain Next after each.
// A frame from Next is valid until the next call of Feed or Finish.
type AnthropicToCompleteStream struct {
	info     CompleteInfo
	aeReader        // the frames, Next, done
	prefix   []byte // `{"type":"completion","id":…,"completion":`
	suffix   []byte // `,"model":…}`

	started  bool
	text     bool // a text block is open
	block    int
	space    bool // the next text still needs the leading space
	sent     bool // a completion event is out
	finished bool // the final completion event is out
}

// NewAnthropicToCompleteStream starts the translation of one stream. info may be nil.
func NewAnthropicToCompleteStream(info *CompleteInfo) *AnthropicToCompleteStream {
	s := &AnthropicToCompleteStream{block: -1}
	if info != nil {
		s.info = *info
	}
	s.space = !s.info.Prefill
	return s
}

func (s *AnthropicToCompleteStream) start(id, model string) {
	model, ok := startOnce(&s.started, s.info.Model, model)
	if !ok {
		return
	}
	p := append(s.prefix[:0], `{"type":"completion","id":`...)
	p = jsonpeek.AppendString(p, cpID(id, s.info.Env))
	s.prefix = append(p, `,"completion":`...)
	m := append(s.suffix[:0], `,"model":`...)
	m = jsonpeek.AppendString(m, model)
	s.suffix = append(m, '}')
}

// completion writes one completion event with the text literal lit.
func (s *AnthropicToCompleteStream) completion(lit []byte) {
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
func (s *AnthropicToCompleteStream) finish(reason, seq string) {
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
	b = appendStringOrNull(b, stop)
	b = append(b, s.suffix...)
	s.q.buf = append(b, "\n\n"...)
	s.q.mark()
	s.sent = true
}

// fail writes an error event and ends the stream.
func (s *AnthropicToCompleteStream) fail(typ, msg string) {
	b := append(s.q.buf, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"...)
	b = jsonpeek.AppendString(b, typ)
	b = append(b, `,"message":`...)
	b = jsonpeek.AppendString(b, msg)
	s.q.buf = append(b, "}}\n\n"...)
	s.q.mark()
	s.done = true
}

// Feed takes one Anthropic event.
func (s *AnthropicToCompleteStream) Feed(ev sse.Event) {
	switch e := s.read(ev); e.kind {
	case aePing:
		if !s.sent {
			return // before the first completion event: see the type doc
		}
		s.q.buf = append(s.q.buf, "event: ping\ndata: {\"type\":\"ping\"}\n\n"...)
		s.q.mark()
	case aeMessageStart:
		s.start(oiStringOf(e.id), oiStringOf(e.model))
	case aeBlockStart:
		s.start("", "")
		s.block, s.text = e.index, jsonpeek.StringIs(e.block[0], "text")
		if s.text && !s.finished && oiIsString(e.block[1]) && len(e.block[1]) > 2 {
			s.completion(e.block[1])
		}
	case aeBlockDelta:
		if !s.text || s.finished || e.index != s.block {
			return
		}
		if jsonpeek.StringIs(e.delta[0], "text_delta") && oiIsString(e.delta[1]) && len(e.delta[1]) > 2 {
			s.completion(e.delta[1])
		}
	case aeBlockStop:
		if e.index == s.block {
			s.text, s.block = false, -1
		}
	case aeMessageDelta:
		s.finish(oiStringOf(e.delta[4]), oiStringOf(e.delta[5]))
	case aeMessageStop:
		s.finish("", "")
		s.done = true
	case aeError:
		s.fail(e.errType, e.errMsg)
	}
}

// Finish tells the stream that the upstream ended (err nil: cleanly) or
// failed. A stream that has not seen message_stop ends with an error event.
func (s *AnthropicToCompleteStream) Finish(err error) {
	if s.ready() {
		s.fail("api_error", oiEndMessage(err))
	}
}
