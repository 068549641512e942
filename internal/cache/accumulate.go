package cache

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// Accumulator rebuilds the final message of an Anthropic event stream, the
// way the SDKs' accumulators do: message_start's message, each block from
// its content_block_start with its deltas applied, and message_delta's
// non-null members over the message and its usage. Message returns the
// result once message_stop has been seen.
//
// It gives up (and Message reports false) on anything it could not
// rebuild exactly: an error event, an unknown event or delta type, blocks
// out of order, or more than max bytes of event data. Feeding it after
// that costs nothing.
type Accumulator struct {
	max    int64
	size   int64
	failed bool
	done   bool
	msg    []byte
	blocks []*accBlock
	delta  []member // message_delta's delta, non-null members
	usage  []member // message_delta's usage, non-null members
}

// accBlock is one content block: what content_block_start gave, and the
// deltas applied to it. A nil field was not touched by a delta.
type accBlock struct {
	raw       []byte
	text      []byte // string insides, escapes kept
	thinking  []byte
	signature []byte
	input     []byte // raw JSON
	citations [][]byte
	touched   uint8 // bits: 1 text, 2 thinking, 4 signature, 8 input, 16 citations
}

// NewAccumulator returns an Accumulator that gives up past max bytes of
// event data.
func NewAccumulator(max int64) *Accumulator { return &Accumulator{max: max} }

// Failed reports whether the accumulator gave up.
func (a *Accumulator) Failed() bool { return a.failed }

// Add feeds one event (its name and data, as the SSE reader gives them;
// neither is kept).
func (a *Accumulator) Add(name, data []byte) {
	if a.failed || a.done {
		if a.done && string(name) != "ping" {
			a.failed = true // nothing may follow message_stop
		}
		return
	}
	a.size += int64(len(data))
	if a.size > a.max || !a.add(string(name), data) {
		a.fail()
	}
}

func (a *Accumulator) fail() {
	a.failed = true
	a.msg, a.blocks, a.delta, a.usage = nil, nil, nil, nil
}

func (a *Accumulator) add(name string, data []byte) bool {
	if name != "message_start" && name != "ping" && a.msg == nil {
		return false
	}
	switch name {
	case "ping":
		return true
	case "message_start":
		m := jsonpeek.Member(data, "message")
		if a.msg != nil || len(m) == 0 || m[0] != '{' {
			return false
		}
		a.msg = slices.Clone(m)
		return true
	case "content_block_start":
		cb := jsonpeek.Member(data, "content_block")
		if index(data) != len(a.blocks) || len(cb) == 0 || cb[0] != '{' {
			return false
		}
		b := &accBlock{raw: slices.Clone(cb)}
		// The starting values alias raw: clipped, so that appending
		// deltas copies them instead of writing over raw.
		b.text, _ = stringValue(jsonpeek.Member(b.raw, "text"))
		b.thinking, _ = stringValue(jsonpeek.Member(b.raw, "thinking"))
		b.signature, _ = stringValue(jsonpeek.Member(b.raw, "signature"))
		b.input = jsonpeek.Member(b.raw, "input")
		b.text, b.thinking = slices.Clip(b.text), slices.Clip(b.thinking)
		b.signature, b.input = slices.Clip(b.signature), slices.Clip(b.input)
		a.blocks = append(a.blocks, b)
		return true
	case "content_block_delta":
		i := index(data)
		if i < 0 || i >= len(a.blocks) {
			return false
		}
		return a.blocks[i].apply(jsonpeek.Member(data, "delta"))
	case "content_block_stop":
		i := index(data)
		return i >= 0 && i < len(a.blocks)
	case "message_delta":
		a.delta = appendNonNull(a.delta, jsonpeek.Member(data, "delta"))
		a.usage = appendNonNull(a.usage, jsonpeek.Member(data, "usage"))
		return true
	case "message_stop":
		a.done = true
		return true
	}
	return false // an error event, or one we do not know
}

// index reads an event's "index", or -1.
func index(data []byte) int {
	n, err := strconv.Atoi(string(jsonpeek.Member(data, "index")))
	if err != nil {
		return -1
	}
	return n
}

// apply applies one delta object to the block.
func (b *accBlock) apply(d []byte) bool {
	typ, err := jsonpeek.String(jsonpeek.Member(d, "type"))
	if err != nil {
		return false
	}
	appendString := func(dst *[]byte, field string, bit uint8) bool {
		in, ok := stringValue(jsonpeek.Member(d, field))
		if !ok {
			return false
		}
		*dst = append(*dst, in...)
		b.touched |= bit
		return true
	}
	switch typ {
	case "text_delta":
		return appendString(&b.text, "text", 1)
	case "thinking_delta":
		return appendString(&b.thinking, "thinking", 2)
	case "signature_delta":
		return appendString(&b.signature, "signature", 4)
	case "input_json_delta":
		p, err := jsonpeek.String(jsonpeek.Member(d, "partial_json"))
		if err != nil {
			return false
		}
		if p != "" {
			// As the SDKs do: the start's empty {} is replaced, not
			// appended to.
			if string(b.input) == "{}" {
				b.input = nil
			}
			b.input = append(b.input, p...)
			b.touched |= 8
		}
		return true
	case "citations_delta":
		c := jsonpeek.Member(d, "citation")
		if len(c) == 0 {
			return false
		}
		b.citations = append(b.citations, slices.Clone(c))
		b.touched |= 16
		return true
	}
	return false
}

// appendNonNull appends obj's members that are not null.
func appendNonNull(dst []member, obj []byte) []member {
	jsonpeek.Object(obj, func(key []byte, start, end int) bool {
		if v := obj[start:end]; string(v) != "null" {
			dst = append(dst, member{name: string(key), val: slices.Clone(v)})
		}
		return true
	})
	return dst
}

// Message returns the rebuilt message JSON, or false if the stream did
// not end with message_stop or the accumulator gave up.
func (a *Accumulator) Message() ([]byte, bool) {
	if a.failed || !a.done {
		return nil, false
	}
	content := []byte{'['}
	for i, b := range a.blocks {
		if i > 0 {
			content = append(content, ',')
		}
		var set []member
		if b.touched&1 != 0 {
			set = append(set, member{"text", quoted(nil, b.text)})
		}
		if b.touched&2 != 0 {
			set = append(set, member{"thinking", quoted(nil, b.thinking)})
		}
		if b.touched&4 != 0 {
			set = append(set, member{"signature", quoted(nil, b.signature)})
		}
		// Input that is not JSON (a tool call cut off by max_tokens) is
		// left as the start gave it, as the SDKs leave it.
		if b.touched&8 != 0 && json.Valid(b.input) {
			set = append(set, member{"input", b.input})
		}
		if b.touched&16 != 0 {
			cs := []byte{'['}
			for j, c := range b.citations {
				if j > 0 {
					cs = append(cs, ',')
				}
				cs = append(cs, c...)
			}
			set = append(set, member{"citations", append(cs, ']')})
		}
		var err error
		if content, err = overlay(content, b.raw, set); err != nil {
			return nil, false
		}
	}
	content = append(content, ']')
	set := append([]member{{"content", content}}, a.delta...)
	if len(a.usage) > 0 {
		u := jsonpeek.Member(a.msg, "usage")
		if len(u) == 0 || u[0] != '{' {
			u = []byte("{}")
		}
		merged, err := overlay(nil, u, a.usage)
		if err != nil {
			return nil, false
		}
		set = append(set, member{"usage", merged})
	}
	msg, err := overlay(nil, a.msg, set)
	if err != nil {
		return nil, false
	}
	return msg, true
}
