package simulator

import (
	"strconv"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// JSON is written by hand with append, so that a stream costs no allocation
// per event (encoding/json would allocate for every event, and
// strconv.AppendQuote writes Go escapes such as \x00 and \a that JSON does not
// know). Strings are written by jsonpeek.AppendString, content blocks by
// package anthropic's writers, which the translator's responses share.

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
	b = jsonpeek.AppendString(b, a.id)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = jsonpeek.AppendString(b, a.model)
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
			b = anthropic.AppendTextBlock(b, blk.text)
		case kindThinking:
			b = anthropic.AppendThinkingBlock(b, blk.text, blk.signature)
		case kindToolUse:
			b = anthropic.AppendToolUseBlock(b, blk.id, blk.name, blk.text)
		}
	}
	b = append(b, `],"stop_reason":`...)
	b = jsonpeek.AppendString(b, a.stopReason)
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
	return jsonpeek.AppendString(b, a.stopSeq)
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
