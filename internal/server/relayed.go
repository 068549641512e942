package server

import "github.com/ferrygw/ferry/internal/jsonpeek"

// relayedText counts the text a stream has relayed to the client, read from
// its deltas, so that a stream cut short (the client left, the upstream
// broke) is charged the output it delivered: its usage then is
// message_start's, with output near zero, and a client that hangs up must
// not dodge the token limit.
//
// The count is of decoded characters, not SSE bytes: the frames' JSON,
// event names and escapes are not output. Characters are split into narrow
// (ASCII, about four to a token in English, code and JSON) and wide (every
// other character; a CJK character is about a token).
type relayedText struct{ narrow, wide int64 }

// add counts the text of one event: an Anthropic content_block_delta's
// text, thinking or partial_json; an OpenAI chunk's choices[].delta
// content, reasoning_content and tool_calls[].function.arguments.
func (c *relayedText) add(name, data []byte, openaiFormat bool) {
	if openaiFormat {
		c.addChunk(data)
		return
	}
	if string(name) != "content_block_delta" {
		return
	}
	d := jsonpeek.Member(data, "delta")
	jsonpeek.Object(d, func(key []byte, start, end int) bool {
		switch string(key) {
		case "text", "thinking", "partial_json":
			c.addString(d[start:end])
		}
		return true
	})
}

func (c *relayedText) addChunk(data []byte) {
	choices := jsonpeek.Member(data, "choices")
	jsonpeek.Array(choices, func(start, end int) bool {
		d := jsonpeek.Member(choices[start:end], "delta")
		jsonpeek.Object(d, func(key []byte, start, end int) bool {
			switch string(key) {
			case "content", "reasoning_content":
				c.addString(d[start:end])
			case "tool_calls":
				calls := d[start:end]
				jsonpeek.Array(calls, func(start, end int) bool {
					fn := jsonpeek.Member(calls[start:end], "function")
					c.addString(jsonpeek.Member(fn, "arguments"))
					return true
				})
			}
			return true
		})
		return true
	})
}

// addString counts the characters of a JSON string literal as written (a
// span jsonpeek reported valid), escapes decoded, without allocating.
func (c *relayedText) addString(lit []byte) {
	if len(lit) < 2 || lit[0] != '"' {
		return
	}
	s := lit[1 : len(lit)-1]
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b == '\\':
			if i+1 < len(s) && s[i+1] == 'u' && i+5 < len(s) {
				// \u00XX with XX < 80 is ASCII; anything else is wide.
				if s[i+2] == '0' && s[i+3] == '0' && s[i+4] < '8' {
					c.narrow++
				} else {
					c.wide++
				}
				i += 5
				continue
			}
			c.narrow++
			i++
		case b < 0x80:
			c.narrow++
		case b&0xC0 != 0x80: // the first byte of a character
			c.wide++
		}
	}
}

// tokens is the output tokens the text relayed is estimated at.
func (c *relayedText) tokens() int64 {
	return (c.narrow+bytesPerToken-1)/bytesPerToken + c.wide
}
