package simulator

import (
	"strconv"
	"unicode/utf8"
)

// JSON is written by hand with append, so that a stream costs no allocation
// per event (encoding/json would allocate for every event, and
// strconv.AppendQuote writes Go escapes such as \x00 and \a that JSON does not
// know).

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// with encoding/json; U+2028 and U+2029 are escaped so the output is also
// valid JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b': // as encoding/json since Go 1.22
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }

// appendUsage appends a message's usage object.
func appendUsage(b []byte, input, output int) []byte {
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, input)
	b = append(b, `,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":`...)
	b = appendInt(b, output)
	return append(b, `,"service_tier":"standard"}`...)
}

// appendMessageHead appends a message object up to its content array.
func appendMessageHead(b []byte, a *answer) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, a.id)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendString(b, a.model)
	return append(b, `,"content":`...)
}

// appendMessage appends the whole message (PROTOCOL.md §3).
func appendMessage(b []byte, a *answer) []byte {
	b = appendMessageHead(b, a)
	b = append(b, '[')
	for i := range a.nblocks {
		if i > 0 {
			b = append(b, ',')
		}
		blk := &a.blocks[i]
		switch blk.kind {
		case kindText:
			b = append(b, `{"type":"text","text":`...)
			b = appendString(b, blk.text)
			b = append(b, '}')
		case kindThinking:
			b = append(b, `{"type":"thinking","thinking":`...)
			b = appendString(b, blk.text)
			b = append(b, `,"signature":`...)
			b = appendString(b, blk.signature)
			b = append(b, '}')
		case kindToolUse:
			b = append(b, `{"type":"tool_use","id":`...)
			b = appendString(b, blk.id)
			b = append(b, `,"name":`...)
			b = appendString(b, blk.name)
			b = append(b, `,"input":`...)
			b = append(b, blk.text...)
			b = append(b, '}')
		}
	}
	b = append(b, `],"stop_reason":`...)
	b = appendString(b, a.stopReason)
	b = append(b, `,"stop_sequence":`...)
	b = appendStopSequence(b, a)
	b = append(b, `,"usage":`...)
	b = appendUsage(b, a.input, a.output)
	return append(b, '}')
}

func appendStopSequence(b []byte, a *answer) []byte {
	if !a.hasStopSeq {
		return append(b, "null"...)
	}
	return appendString(b, a.stopSeq)
}

// jsonSize is a capacity guess for the JSON body: enough unless the text
// needs many escapes.
func (a *answer) jsonSize() int {
	n := 320 + len(a.id) + len(a.model) + len(a.stopSeq)
	for i := range a.nblocks {
		blk := &a.blocks[i]
		n += 80 + len(blk.text) + len(blk.text)/8 + len(blk.signature) + len(blk.id) + len(blk.name)
	}
	return n
}
