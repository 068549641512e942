package anthropic

import "github.com/ferrygw/ferry/internal/jsonpeek"

// The blocks of an answer, appended by hand: the byte layout
// ContentBlock.MarshalJSON gives them (no cache_control on an answer), with
// no reflection and no allocation. The translator's response writer and
// the simulator both write answers with these, so the layout lives here,
// beside the type.

// AppendTextBlock appends {"type":"text","text":text}.
func AppendTextBlock(dst []byte, text string) []byte {
	dst = appendMember(dst, `{"type":"text","text":`, text)
	return append(dst, '}')
}

// AppendThinkingBlock appends
// {"type":"thinking","thinking":thinking,"signature":signature}.
func AppendThinkingBlock(dst []byte, thinking, signature string) []byte {
	dst = appendMember(dst, `{"type":"thinking","thinking":`, thinking)
	dst = appendMember(dst, `,"signature":`, signature)
	return append(dst, '}')
}

// AppendToolUseBlock appends {"type":"tool_use","id":id,"name":name,"input":input}.
// input must be a compact JSON object; it is copied as it is.
func AppendToolUseBlock[T ~string | ~[]byte](dst []byte, id, name string, input T) []byte {
	dst = appendMember(dst, `{"type":"tool_use","id":`, id)
	dst = appendMember(dst, `,"name":`, name)
	dst = append(dst, `,"input":`...)
	dst = append(dst, input...)
	return append(dst, '}')
}

// appendMember appends head (the JSON up to a member's value) and the
// member's string value.
func appendMember(dst []byte, head, s string) []byte {
	return jsonpeek.AppendString(append(dst, head...), s)
}
