package sse

import (
	"bytes"
	"strings"
)

// AppendEvent appends one frame to dst and returns the extended slice:
//
//	event: NAME
//	data: DATA
//	<blank line>
//
// The event line is omitted if name is empty. A line break in data ("\n",
// "\r\n" or a bare "\r") starts a new data: line, so Reader returns data
// with every line break turned into "\n"; SSE cannot carry a '\r' inside
// data (§9.2.5). An empty data yields one empty data line, so the frame is
// still dispatched by browsers. name is a field value on a single line: if
// it contains a line break, only the part before it is written, which
// keeps the frame boundaries intact.
func AppendEvent(dst []byte, name string, data []byte) []byte {
	if name != "" {
		if i := strings.IndexAny(name, "\r\n"); i >= 0 {
			name = name[:i]
		}
		dst = append(dst, "event: "...)
		dst = append(dst, name...)
		dst = append(dst, '\n')
	}
	dst = appendLines(dst, "data: ", data)
	return append(dst, '\n')
}

// AppendComment appends a comment frame (": text" and a blank line), as
// used for keep-alives, and returns the extended slice. Each line of a
// multi-line text becomes its own comment line.
func AppendComment(dst []byte, text string) []byte {
	// A comment is rare (keep-alives) and short: the conversion costs
	// less than a second copy of appendLines for strings.
	dst = appendLines(dst, ": ", []byte(text))
	return append(dst, '\n')
}

// appendLines appends prefix+line+"\n" for each line of s.
func appendLines(dst []byte, prefix string, s []byte) []byte {
	for {
		dst = append(dst, prefix...)
		i := bytes.IndexByte(s, '\n')
		if i < 0 {
			i = len(s)
		}
		if j := bytes.IndexByte(s[:i], '\r'); j >= 0 {
			i = j
		}
		dst = append(dst, s[:i]...)
		dst = append(dst, '\n')
		if i == len(s) {
			return dst
		}
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
}
