package translate

// OpenAI chat.completion → Anthropic Message (non-streaming).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/openai"
)

// SignaturePrefix starts the signature of every thinking block the gateway
// makes from an upstream's reasoning text. The SDKs and Claude Code need a
// signature string on a thinking block, and Claude Code sends the block
// back in later turns; the prefix lets the gateway recognise such a block
// as its own, never Anthropic's: it must not be forwarded to Anthropic,
// which would reject it ("Invalid `signature` in `thinking` block",
// VENDORS.md C2). Anthropic's signatures are base64, which has no ':'.
const SignaturePrefix = "ferry:"

// Signature returns the signature the gateway puts on a thinking block
// with text thinking: SignaturePrefix and the first 16 hex digits of the
// text's SHA-256. It is deterministic, so that the same answer translates
// the same way; it authenticates nothing.
func Signature(thinking string) string {
	h := sha256.Sum256([]byte(thinking))
	var sig [len(SignaturePrefix) + 16]byte
	copy(sig[:], SignaturePrefix)
	hex.Encode(sig[len(SignaturePrefix):], h[:8])
	return string(sig[:])
}

// IsGatewaySignature reports whether a thinking block's signature is one
// Signature made.
func IsGatewaySignature(sig string) bool { return strings.HasPrefix(sig, SignaturePrefix) }

// ErrNotChatCompletion is wrapped by the error Response returns for an
// upstream body that is not a chat.completion: an error object sent with
// status 200, a stream chunk, no choices, or not JSON at all. The answer
// is unusable: the caller reports a bad gateway.
var ErrNotChatCompletion = errors.New("upstream answer is not a chat completion")

// ToolArgumentsError lists the tool calls of an answer whose arguments
// were not a JSON object (a truncated or malformed answer). Response
// returns it together with a complete body, in which each such call has
// input {}: Anthropic's tool_use input must be an object, and the client's
// tool validation then tells the model what is missing. It is not a
// failure: send the body, and log the error.
type ToolArgumentsError struct {
	Calls []BadToolCall
}

// BadToolCall is a tool call whose arguments were replaced by {}.
type BadToolCall struct {
	ID, Name  string
	Arguments string // as the upstream sent them
}

func (e *ToolArgumentsError) Error() string {
	var sb strings.Builder
	sb.WriteString("upstream sent tool arguments that are not a JSON object, replaced by {}:")
	for _, c := range e.Calls {
		a := c.Arguments
		if len(a) > 200 {
			a = a[:200] + "..."
		}
		fmt.Fprintf(&sb, " %s (%s) %q;", c.Name, c.ID, a)
	}
	return strings.TrimSuffix(sb.String(), ";")
}

// Response translates an OpenAI chat.completion body into an Anthropic
// Message body for the request that info describes, and returns the
// answer's usage. The message echoes the model the client asked for.
//
// The error wraps ErrNotChatCompletion when body is not a chat.completion:
// there is no answer. It is a *ToolArgumentsError when some tool call had
// unusable arguments: the body is complete and should be sent.
func OpenAIToAnthropicResponse(body []byte, info *RequestInfo, p *Profile, env Env) ([]byte, anthropic.Totals, error) {
	if info == nil {
		info = &RequestInfo{}
	}
	if p == nil {
		p = &Profile{}
	}
	var cc openai.ChatCompletion
	if !rdBody(body, &cc) {
		// An error object, invalid JSON, or a shape rdBody leaves to
		// encoding/json, which decides and words the error.
		cc = openai.ChatCompletion{}
		if err := rsDecodeSlow(body, &cc); err != nil {
			return nil, anthropic.Totals{}, err
		}
	}
	switch {
	case cc.Object != "" && cc.Object != "chat.completion":
		return nil, anthropic.Totals{}, fmt.Errorf("%w: object is %q", ErrNotChatCompletion, cc.Object)
	case len(cc.Choices) == 0:
		return nil, anthropic.Totals{}, fmt.Errorf("%w: no choices", ErrNotChatCompletion)
	}
	choice := &cc.Choices[0]
	msg := &choice.Message
	totals := cc.Usage.Totals()

	// Room for thinking, text and the tool calls: one allocation.
	content := make([]anthropic.ContentBlock, 0, 2+len(msg.ToolCalls))
	if r := msg.ReasoningText(p.ReasoningFields); r != "" {
		// Shown whether or not the client asked for thinking: some
		// upstreams think by default (Zhipu), and the text is part of
		// the answer the client pays for.
		content = append(content, anthropic.ContentBlock{Type: anthropic.BlockThinking, Thinking: r, Signature: Signature(r)})
	}

	var uses []anthropic.ContentBlock
	var bad *ToolArgumentsError
	var extra *ExtraToolCallsError
	for _, tc := range msg.ToolCalls {
		if tc.Function.Name == "" {
			continue // nothing the client could call
		}
		if info.OneToolCall && len(uses) > 0 {
			if extra == nil {
				extra = &ExtraToolCallsError{}
			}
			extra.Names = append(extra.Names, tc.Function.Name)
			continue
		}
		id := tc.ID
		if id == "" {
			id = env.id("toolu_")
		}
		input, ok := rsInput(tc.Function.Arguments)
		if !ok {
			if bad == nil {
				bad = &ToolArgumentsError{}
			}
			bad.Calls = append(bad.Calls, BadToolCall{ID: id, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		uses = append(uses, anthropic.ContentBlock{Type: anthropic.BlockToolUse, ID: id, Name: tc.Function.Name, Input: input})
	}

	text := msg.Content.JoinedText()
	stop := rsStopReason(choice.FinishReason)
	var stopSeq *string
	if len(uses) == 0 {
		if t, seq, ok := rsStopSequence(text, choice.StopReason, info.StopSequences); ok {
			text, stop, stopSeq = t, anthropic.StopStopSequence, &seq
		}
	}
	if text == "" && msg.Refusal != nil && *msg.Refusal != "" {
		// OpenAI's refusal (structured outputs) comes with
		// finish_reason "stop".
		text, stop = *msg.Refusal, anthropic.StopRefusal
	}
	if strings.TrimSpace(text) != "" {
		// Never an empty or blank text block: the API refuses them when
		// the client sends the message back (VENDORS.md C14), and models
		// often put "\n\n" before their tool calls.
		content = append(content, anthropic.ContentBlock{Type: anthropic.BlockText, Text: text})
	}
	content = append(content, uses...)
	switch {
	case len(uses) > 0:
		// Whatever finish_reason says: vendors send "stop" with tool calls
		// (VENDORS.md C8).
		stop = anthropic.StopToolUse
	case stop == anthropic.StopToolUse:
		// "tool_calls" without a call: a tool_use stop with no tool_use
		// block would leave the client waiting for one.
		stop = anthropic.StopEndTurn
	}

	enc := rsAppendMessage(nil, env.id("msg_"), info.Model, content, stop, stopSeq, totals)
	switch {
	case bad != nil && extra != nil:
		return enc, totals, errors.Join(bad, extra)
	case bad != nil:
		return enc, totals, bad
	case extra != nil:
		return enc, totals, extra
	}
	return enc, totals, nil
}

// rsDecodeSlow decodes body with encoding/json, the way Response did
// before rdBody: an error object first, then any decoding error.
func rsDecodeSlow(body []byte, cc *openai.ChatCompletion) error {
	if openai.IsErrorChunk(body) {
		var eb openai.ErrorBody
		msg := "an error object"
		if json.Unmarshal(body, &eb) == nil && eb.Error.Message != "" {
			msg = fmt.Sprintf("an error: %q", eb.Error.Message)
		}
		return fmt.Errorf("%w: status 200 with %s", ErrNotChatCompletion, msg)
	}
	if err := json.Unmarshal(body, cc); err != nil {
		return fmt.Errorf("%w: %v", ErrNotChatCompletion, err)
	}
	return nil
}

// rsAppendMessage appends the Anthropic message, byte for byte as
// anthropic.Marshal writes an anthropic.Message with these fields, without
// its reflection and the re-compaction of every nested MarshalJSON
// result (half of Response's time). content holds only the block types
// Response makes: thinking, text and tool_use with a compact input.
func rsAppendMessage(dst []byte, id, model string, content []anthropic.ContentBlock, stop string, stopSeq *string, t anthropic.Totals) []byte {
	if dst == nil {
		n := 256 + len(id) + len(model)
		for i := range content {
			c := &content[i]
			n += 64 + len(c.Text) + len(c.Thinking) + len(c.Signature) + len(c.ID) + len(c.Name) + len(c.Input)
		}
		dst = make([]byte, 0, n)
	}
	dst = append(dst, `{"id":`...)
	dst = jsonpeek.AppendString(dst, id)
	dst = append(dst, `,"type":"message","role":"assistant","model":`...)
	dst = jsonpeek.AppendString(dst, model)
	dst = append(dst, `,"content":[`...)
	for i := range content {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = rsAppendBlock(dst, &content[i])
	}
	dst = append(dst, `],"stop_reason":`...)
	dst = jsonpeek.AppendString(dst, stop)
	dst = append(dst, `,"stop_sequence":`...)
	dst = appendStringOrNull(dst, stopSeq)
	dst = append(dst, `,"usage":{"input_tokens":`...)
	dst = strconv.AppendInt(dst, t.Input, 10)
	dst = append(dst, `,"cache_creation_input_tokens":`...)
	dst = strconv.AppendInt(dst, t.CacheCreation, 10)
	dst = append(dst, `,"cache_read_input_tokens":`...)
	dst = strconv.AppendInt(dst, t.CacheRead, 10)
	dst = append(dst, `,"output_tokens":`...)
	dst = strconv.AppendInt(dst, t.Output, 10)
	return append(dst, "}}"...)
}

// appendStringOrNull appends the JSON string *s, or null for nil.
func appendStringOrNull(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return jsonpeek.AppendString(dst, *s)
}

// rsAppendBlock appends a thinking, text or tool_use block as
// anthropic.ContentBlock.MarshalJSON writes it. A tool_use input is
// rsInput's compact object, copied as it is.
func rsAppendBlock(dst []byte, b *anthropic.ContentBlock) []byte {
	switch b.Type {
	case anthropic.BlockThinking:
		return anthropic.AppendThinkingBlock(dst, b.Thinking, b.Signature)
	case anthropic.BlockText:
		return anthropic.AppendTextBlock(dst, b.Text)
	}
	return anthropic.AppendToolUseBlock(dst, b.ID, b.Name, b.Input)
}

// rsStopReason maps a finish_reason (PROTOCOL.md §11). Unknown reasons
// (DeepSeek's insufficient_system_resource, vendor ones, none) are
// end_turn: the client must get a valid stop_reason (VENDORS.md C9).
func rsStopReason(finish string) string {
	switch finish {
	case openai.FinishLength:
		return anthropic.StopMaxTokens
	case openai.FinishToolCalls, openai.FinishFunctionCall:
		return anthropic.StopToolUse
	case openai.FinishContentFilter:
		return anthropic.StopRefusal
	}
	return anthropic.StopEndTurn
}

// rsStopSequence tells whether text stopped at one of the client's stop
// sequences, and returns the text without it. OpenAI does not say which
// sequence matched, nor strip it everywhere, so:
//   - vLLM's choice.stop_reason names the matched string;
//   - otherwise the earliest-ending occurrence of a sequence in the text
//     counts: a sequence the upstream was sent shows only at the very end
//     (vendors that keep it), one it was not sent (over Profile.MaxStop)
//     anywhere, and generation is cut there as Anthropic would have cut it.
//
// A plain "stop" with no match stays end_turn: the gateway cannot know.
func rsStopSequence(text string, vendor json.RawMessage, stops []string) (string, string, bool) {
	if len(stops) == 0 {
		return text, "", false
	}
	if len(vendor) > 0 && vendor[0] == '"' {
		var s string
		if json.Unmarshal(vendor, &s) == nil && s != "" {
			for _, st := range stops {
				if st == s {
					return strings.TrimSuffix(text, s), s, true
				}
			}
		}
	}
	best, bestEnd := -1, len(text)+1
	for i, st := range stops {
		if st == "" {
			continue
		}
		if j := strings.Index(text, st); j >= 0 && j+len(st) < bestEnd {
			best, bestEnd = i, j+len(st)
		}
	}
	if best < 0 {
		return text, "", false
	}
	return text[:bestEnd-len(stops[best])], stops[best], true
}

// rsInputMaxDepth is the deepest tool_use input the message holds: it
// sits three levels down (message, content, block), and the message stays
// within jsonpeek.MaxDepth, so that it is valid JSON to the relay's and
// the server's scans too (the relay does not check a translation again).
const rsInputMaxDepth = jsonpeek.MaxDepth - 3

// rsInput parses tool-call arguments into a tool_use input. "" (a call
// without arguments) is {}. A JSON string holding an object is unwrapped
// (double-encoded arguments). Anything else that is not an object, or an
// object nested deeper than rsInputMaxDepth, gives {} and false.
func rsInput(args string) (json.RawMessage, bool) {
	a := bytes.TrimSpace([]byte(args))
	if len(a) == 0 {
		return json.RawMessage("{}"), true
	}
	if a[0] == '"' {
		var inner string
		if json.Unmarshal(a, &inner) == nil {
			a = bytes.TrimSpace([]byte(inner))
		}
	}
	if len(a) == 0 || a[0] != '{' {
		return json.RawMessage("{}"), false
	}
	// Compact validates as it goes: no json.Valid pass first.
	var buf bytes.Buffer
	buf.Grow(len(a))
	if json.Compact(&buf, a) != nil {
		return json.RawMessage("{}"), false
	}
	// Each level takes two bytes: a shorter input cannot be too deep.
	if buf.Len() > 2*rsInputMaxDepth && rsDepth(buf.Bytes()) > rsInputMaxDepth {
		return json.RawMessage("{}"), false
	}
	return buf.Bytes(), true
}

// rsDepth is the deepest nesting of objects and arrays in b, valid JSON.
func rsDepth(b []byte) int {
	depth, deepest := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
			deepest = max(deepest, depth)
		case '}', ']':
			depth--
		}
	}
	return deepest
}
