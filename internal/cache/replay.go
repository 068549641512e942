package cache

import (
	"errors"
	"strconv"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

var errNotMessage = errors.New("cache: stored answer is not a message")

// The members a replay reads: of the message, and of each content block.
var (
	messageNames = []string{"content", "stop_reason", "stop_sequence", "stop_details", "usage"}
	blockNames   = []string{"type", "text", "citations", "thinking", "signature", "input"}
)

var (
	jsonNull        = []byte("null")
	jsonEmptyString = []byte(`""`)
	jsonEmptyArray  = []byte("[]")
	jsonEmptyObject = []byte("{}")
)

// AppendStream appends to dst the event stream that delivers msg, a
// Message JSON, to a client that asked for a stream: the sequence the API
// itself sends, which the SDKs' accumulators (and Accumulator) turn back
// into msg.
//
//	message_start   msg with empty content and null stop_reason, stop_sequence (and stop_details)
//	per block:      content_block_start with the block emptied (text "", thinking "", signature "",
//	                tool input {}, citations []), then its deltas (citations_delta per citation,
//	                text_delta, thinking_delta, signature_delta, input_json_delta with the whole
//	                input), then content_block_stop; other block types start whole
//	message_delta   stop_reason, stop_sequence (and stop_details), and the usage
//	message_stop
func AppendStream(dst, msg []byte) ([]byte, error) {
	var v [5][]byte
	ok := jsonpeek.Members(msg, messageNames, v[:]) == nil
	content, stopReason, stopSequence, stopDetails, usage := v[0], v[1], v[2], v[3], v[4]
	if !ok || len(content) == 0 || content[0] != '[' {
		return dst, errNotMessage
	}
	// The stop members are null until message_delta (those the message
	// has: a stored answer always has stop_reason and stop_sequence).
	set := []member{{"content", jsonEmptyArray}}
	stops := [...]struct {
		name string
		val  []byte
	}{{"stop_reason", stopReason}, {"stop_sequence", stopSequence}, {"stop_details", stopDetails}}
	for _, st := range stops {
		if st.val != nil {
			set = append(set, member{st.name, jsonNull})
		}
	}
	scratch := make([]byte, 0, 256+len(msg)/4)
	scratch = append(scratch, `{"type":"message_start","message":`...)
	scratch, err := overlay(scratch, msg, set)
	if err != nil {
		return dst, err
	}
	scratch = append(scratch, '}')
	dst = sse.AppendEvent(dst, "message_start", scratch)

	i := 0
	err = elements(content, func(block []byte) error {
		var err error
		dst, scratch, err = appendBlock(dst, scratch, i, block)
		i++
		return err
	})
	if err != nil {
		return dst, err
	}

	scratch = append(scratch[:0], `{"type":"message_delta","delta":{`...)
	first := true
	for _, st := range stops {
		if st.val == nil {
			continue
		}
		if !first {
			scratch = append(scratch, ',')
		}
		first = false
		scratch = jsonpeek.AppendString(scratch, st.name)
		scratch = append(scratch, ':')
		scratch = append(scratch, st.val...)
	}
	scratch = append(scratch, '}')
	if usage != nil {
		scratch = append(scratch, `,"usage":`...)
		scratch = append(scratch, usage...)
	}
	scratch = append(scratch, '}')
	dst = sse.AppendEvent(dst, "message_delta", scratch)
	dst = sse.AppendEvent(dst, "message_stop", []byte(`{"type":"message_stop"}`))
	return dst, nil
}

// appendBlock appends block i's events.
func appendBlock(dst, scratch []byte, i int, block []byte) ([]byte, []byte, error) {
	var v [6][]byte
	ok := jsonpeek.Members(block, blockNames, v[:]) == nil
	typ, text, citations, thinking, signature, input := v[0], v[1], v[2], v[3], v[4], v[5]
	if !ok || len(typ) == 0 || typ[0] != '"' {
		return dst, scratch, errNotMessage
	}
	var set []member
	type delta struct {
		typ, field string
		val        []byte // raw JSON
	}
	var deltas []delta
	switch string(typ) {
	case `"text"`:
		if len(citations) > 0 && citations[0] == '[' {
			set = append(set, member{"citations", jsonEmptyArray})
			if err := elements(citations, func(c []byte) error {
				deltas = append(deltas, delta{"citations_delta", "citation", c})
				return nil
			}); err != nil {
				return dst, scratch, err
			}
		}
		if isString(text) {
			set = append(set, member{"text", jsonEmptyString})
			if string(text) != `""` {
				deltas = append(deltas, delta{"text_delta", "text", text})
			}
		}
	case `"thinking"`:
		if isString(thinking) {
			set = append(set, member{"thinking", jsonEmptyString})
			if string(thinking) != `""` {
				deltas = append(deltas, delta{"thinking_delta", "thinking", thinking})
			}
		}
		if isString(signature) {
			set = append(set, member{"signature", jsonEmptyString})
			if string(signature) != `""` {
				deltas = append(deltas, delta{"signature_delta", "signature", signature})
			}
		}
	case `"tool_use"`, `"server_tool_use"`, `"mcp_tool_use"`:
		if len(input) > 0 && input[0] == '{' {
			set = append(set, member{"input", jsonEmptyObject})
			if string(input) != "{}" {
				deltas = append(deltas, delta{"input_json_delta", "partial_json", jsonpeek.AppendStringBytes(nil, input)})
			}
		}
	}
	idx := strconv.AppendInt(nil, int64(i), 10)

	scratch = append(scratch[:0], `{"type":"content_block_start","index":`...)
	scratch = append(scratch, idx...)
	scratch = append(scratch, `,"content_block":`...)
	scratch, err := overlay(scratch, block, set)
	if err != nil {
		return dst, scratch, err
	}
	scratch = append(scratch, '}')
	dst = sse.AppendEvent(dst, "content_block_start", scratch)
	for _, d := range deltas {
		scratch = append(scratch[:0], `{"type":"content_block_delta","index":`...)
		scratch = append(scratch, idx...)
		scratch = append(scratch, `,"delta":{"type":"`...)
		scratch = append(scratch, d.typ...)
		scratch = append(scratch, `","`...)
		scratch = append(scratch, d.field...)
		scratch = append(scratch, `":`...)
		scratch = append(scratch, d.val...)
		scratch = append(scratch, "}}"...)
		dst = sse.AppendEvent(dst, "content_block_delta", scratch)
	}
	scratch = append(scratch[:0], `{"type":"content_block_stop","index":`...)
	scratch = append(scratch, idx...)
	scratch = append(scratch, '}')
	dst = sse.AppendEvent(dst, "content_block_stop", scratch)
	return dst, scratch, nil
}

// isString reports whether v, a valid JSON value, is a string. Anything
// else where the API sends a string stays in the block's start whole.
func isString(v []byte) bool { return len(v) > 0 && v[0] == '"' }

// elements calls fn with each element of the JSON array arr (raw bytes),
// which the cache stored (so it is valid JSON).
func elements(arr []byte, fn func(v []byte) error) error {
	var ferr error
	err := jsonpeek.SkimArray(arr, func(start, end int) bool {
		ferr = fn(arr[start:end])
		return ferr == nil
	})
	switch {
	case ferr != nil:
		return ferr
	case err != nil:
		return errNotMessage
	}
	return nil
}
