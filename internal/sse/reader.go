package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrEventTooLarge is wrapped by the error Next returns when a frame does
// not fit in the reader's limit. Without a limit a misbehaving upstream
// could make the gateway buffer an endless line.
var ErrEventTooLarge = errors.New("sse: event too large")

const (
	// DefaultMaxEvent is the frame size limit used when NewReader is given
	// none. Anthropic's largest frames (a message_start echoing a long
	// prompt's metadata, a big input_json_delta) are far smaller.
	DefaultMaxEvent = 8 << 20

	// initialBufSize is where the buffer starts: a typical text_delta frame
	// is 150-300 bytes, so 4 KiB holds a dozen or more per read, and
	// thousands of idle streams cost little memory.
	initialBufSize = 4 << 10

	// maxEmptyReads bounds how often an io.Reader may return 0, nil in a row
	// before Next gives up with io.ErrNoProgress, as bufio does.
	maxEmptyReads = 100

	bom = "\xef\xbb\xbf" // U+FEFF BYTE ORDER MARK in UTF-8
)

// Reader frames an event stream into events. It implements Source.
//
// Framing follows the WHATWG HTML Living Standard, §9.2.5 "Parsing an event
// stream" and §9.2.6 "Interpreting an event stream":
//
//   - Lines end in "\r\n", "\n" or "\r"; a blank line ends a frame.
//   - A line starting with ':' is a comment.
//   - Otherwise the field name runs up to the first ':' and the value
//     follows it, minus one leading space; a line without ':' is a field
//     name with an empty value.
//   - "event" sets Name, "data" lines are joined with "\n" into Data, and
//     other fields ("id", "retry", unknown ones) are left in Raw only.
//   - One UTF-8 byte order mark at the very start of the stream is ignored.
//
// Unlike a browser, which only dispatches frames that carry data, Reader
// returns every frame that has at least one non-blank line, including a
// comment-only keep-alive such as ": ping", because the gateway relays
// frames verbatim: writing the Raw of every event in order reproduces the
// stream byte for byte. Blank lines before a frame belong to that frame's
// Raw; blank lines (and a BOM) after the last frame of a cleanly ended
// stream carry nothing and are dropped with io.EOF. Bytes are not checked
// to be UTF-8; the spec's decoding step is left to whoever parses Data.
//
// The buffer starts at 4 KiB and grows, up to the frame limit, only when a
// single frame needs it. Event slices alias it, which is what makes a
// pass-through copy free of allocations.
//
// A Reader is not safe for concurrent use, except that Close may be called
// while Next is blocked, to unblock it.
type Reader struct {
	rd       io.Reader
	max      int    // frame size limit in bytes
	initSize int    // initial buffer size
	buf      []byte // buf[r:w] holds bytes read but not yet returned
	r, w     int
	err      error // from rd; reported once buf[r:w] holds no complete frame
	done     error // the error Next returned, returned again by later calls
	bom      bool  // the first bytes of the stream are still to be checked for a BOM

	// Scan state of the frame starting at r. Offsets index buf and are
	// shifted when the buffer is compacted, so a frame arriving in many
	// reads is scanned once, not once per read.
	pos       int      // start of the first line not yet interpreted
	lf        byteMark // the next '\n'
	cr        byteMark // the next '\r'
	content   bool     // the frame has a non-blank line
	complete  bool     // scan saw the frame's blank line: Next dispatches it without scanning
	hasName   bool
	nameStart int
	nameEnd   int
	ndata     int // data lines seen
	dataStart int // the first data value, used as is when it is the only one
	dataEnd   int
	scratch   []byte // data values joined, when there are several
}

// NewReader returns a Reader that frames the event stream read from r,
// failing any frame larger than maxEvent bytes (including its line
// terminators and any blank lines before it) with ErrEventTooLarge.
// maxEvent <= 0 means DefaultMaxEvent.
func NewReader(r io.Reader, maxEvent int) *Reader {
	return newReader(r, maxEvent, initialBufSize)
}

// newReader is NewReader with a given initial buffer size, which lets tests
// exercise buffer growth with small inputs.
func newReader(r io.Reader, maxEvent, bufSize int) *Reader {
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEvent
	}
	rd := &Reader{max: maxEvent, initSize: bufSize}
	rd.Reset(r)
	return rd
}

// Reset makes the Reader read a new stream from r, keeping its buffers and
// limit, so one Reader can serve many streams without allocating.
func (r *Reader) Reset(rd io.Reader) {
	r.rd = rd
	r.r, r.w = 0, 0
	r.err, r.done = nil, nil
	r.bom = true
	r.pos, r.lf, r.cr = 0, byteMark{at: -1}, byteMark{at: -1}
	r.resetFrame()
}

func (r *Reader) resetFrame() {
	r.content, r.complete, r.hasName, r.ndata = false, false, false, 0
}

// Buffered returns the number of bytes read from the underlying reader
// that belong to frames not yet returned.
func (r *Reader) Buffered() int { return r.w - r.r }

// Ready reports whether Next would return without reading the underlying
// reader: a whole frame is buffered, or the stream's end or error is
// known. A writer relaying events can leave its output unflushed while
// Ready, and flush when it is not, without holding any event back.
func (r *Reader) Ready() bool {
	if r.done != nil || r.err != nil {
		return true
	}
	if r.bom && !r.skipBOM() {
		return false
	}
	if !r.complete {
		r.complete = r.scan()
	}
	return r.complete
}

// Close closes the underlying reader if it is an io.Closer. It does not
// touch the Reader's state, so it may be called while Next is blocked.
func (r *Reader) Close() error {
	if c, ok := r.rd.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Next returns the next frame. The Event's slices are valid until the next
// call to Next or Reset.
//
// At the end of the stream Next returns io.EOF if the stream ended at a
// frame boundary and io.ErrUnexpectedEOF if it ended inside a frame,
// including one whose closing blank line is missing: such a frame may be
// incomplete, and relaying it could hand the client a truncated event. An
// error from the underlying reader is returned as is, after the frames
// completed before it. Once Next returns an error it keeps returning it.
func (r *Reader) Next() (ev Event, err error) {
	if r.done != nil {
		return Event{}, r.done
	}
	for {
		if !r.bom || r.skipBOM() {
			if r.complete || r.scan() {
				if r.pos-r.r > r.max {
					return Event{}, r.fail(r.tooLarge())
				}
				r.dispatch(&ev)
				return ev, nil
			}
			// No complete frame is buffered.
			if r.w-r.r > r.max {
				return Event{}, r.fail(r.tooLarge())
			}
		}
		if r.err != nil {
			if r.err == io.EOF && (r.content || r.pos < r.w) {
				return Event{}, r.fail(io.ErrUnexpectedEOF)
			}
			return Event{}, r.fail(r.err)
		}
		r.fill()
	}
}

func (r *Reader) fail(err error) error {
	r.done = err
	return err
}

func (r *Reader) tooLarge() error {
	return fmt.Errorf("%w (limit %d bytes)", ErrEventTooLarge, r.max)
}

// skipBOM moves pos past a byte order mark at the start of the stream and
// reports whether the check is done; it needs up to three bytes to decide.
func (r *Reader) skipBOM() bool {
	n := r.w - r.r
	if n < len(bom) && r.err == nil && string(r.buf[r.r:r.w]) == bom[:n] {
		return false // could still be a BOM
	}
	if n >= len(bom) && string(r.buf[r.r:r.r+len(bom)]) == bom {
		r.pos = r.r + len(bom)
	}
	r.bom = false
	return true
}

// scan interprets the buffered lines of the current frame and reports
// whether its blank line has been seen; the frame then ends at pos.
func (r *Reader) scan() bool {
	for {
		end, next, ok := r.line()
		if !ok {
			return false
		}
		if end == r.pos { // blank line
			r.pos = next
			if r.content {
				return true
			}
			continue // a blank line before a frame joins its Raw
		}
		r.field(r.pos, end)
		r.content = true
		r.pos = next
	}
}

// line finds the line starting at pos and returns where its text ends and
// where the next line starts.
//
// The next '\n' and the next '\r' are each found once and remembered until
// pos passes them, and a search that fails remembers how far it got, so
// every byte is searched for each of them at most once, even when a long
// line arrives a few bytes per read. In a "\n"-only stream the '\r' search
// covers the whole buffered data in one pass, leaving one search per line.
//
// A '\r' that is the last buffered byte ends a line only at the end of the
// stream; otherwise the next byte decides whether it is half of a "\r\n",
// which keeps framing (and Raw) independent of how the stream was split
// into reads.
func (r *Reader) line() (end, next int, ok bool) {
	buf := r.buf[:r.w]
	lf := r.lf.find(buf, r.pos, '\n')
	cr := r.cr.find(buf, r.pos, '\r')
	if cr >= 0 && (lf < 0 || cr < lf) {
		switch {
		case cr+1 < r.w && buf[cr+1] == '\n':
			return cr, cr + 2, true
		case cr+1 < r.w || r.err != nil:
			return cr, cr + 1, true
		}
		return 0, 0, false
	}
	if lf >= 0 {
		return lf, lf + 1, true
	}
	return 0, 0, false
}

// byteMark remembers where a byte was found in the buffer, or how far it
// is known to be absent, across calls of Reader.line.
type byteMark struct {
	at   int // if at >= pos, buf[at] is the first such byte at or after pos
	from int // if at < pos, buf[pos:from] is known to hold none
}

// find returns the index of the first c in buf at or after pos, or -1,
// searching only the bytes not searched before.
func (m *byteMark) find(buf []byte, pos int, c byte) int {
	if m.at >= pos {
		return m.at
	}
	return m.search(buf, pos, c)
}

// search is find's search, out of line so that find inlines.
func (m *byteMark) search(buf []byte, pos int, c byte) int {
	if from := max(pos, m.from); from < len(buf) {
		if i := bytes.IndexByte(buf[from:], c); i >= 0 {
			m.at = from + i
			return m.at
		}
		m.from = len(buf)
	}
	return -1
}

// shift moves m back by n bytes, as the buffer was compacted.
func (m *byteMark) shift(n int) { m.at, m.from = m.at-n, m.from-n }

// field interprets the non-blank line buf[start:end] (§9.2.6).
func (r *Reader) field(start, end int) {
	line := r.buf[start:end]
	if line[0] == ':' {
		return // a comment
	}
	name, v := line, end
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, v = line[:i], start+i+1
		if v < end && r.buf[v] == ' ' {
			v++
		}
	}
	switch string(name) {
	case "event":
		r.hasName, r.nameStart, r.nameEnd = true, v, end
	case "data":
		r.ndata++
		switch r.ndata {
		case 1:
			r.dataStart, r.dataEnd = v, end
			return
		case 2:
			r.scratch = append(r.scratch[:0], r.buf[r.dataStart:r.dataEnd]...)
		}
		r.scratch = append(r.scratch, '\n')
		r.scratch = append(r.scratch, r.buf[v:end]...)
	}
}

// dispatch sets ev to the frame that ends at pos and starts the next one.
// The slices are capped so that a caller appending to them cannot
// overwrite the buffer.
func (r *Reader) dispatch(ev *Event) {
	ev.Raw = r.buf[r.r:r.pos:r.pos]
	if r.hasName {
		ev.Name = r.buf[r.nameStart:r.nameEnd:r.nameEnd]
	}
	switch {
	case r.ndata == 1:
		ev.Data = r.buf[r.dataStart:r.dataEnd:r.dataEnd]
	case r.ndata > 1:
		ev.Data = r.scratch[:len(r.scratch):len(r.scratch)]
	}
	r.r = r.pos
	r.resetFrame()
}

// fill reads more of the stream, first moving the pending frame to the
// start of the buffer and growing the buffer if the frame fills it. Next
// has already checked that the pending frame is within the limit.
func (r *Reader) fill() {
	if r.r > 0 {
		n := r.r
		copy(r.buf, r.buf[n:r.w])
		r.r, r.w = 0, r.w-n
		r.pos -= n
		r.lf.shift(n)
		r.cr.shift(n)
		r.nameStart -= n
		r.nameEnd -= n
		r.dataStart -= n
		r.dataEnd -= n
	}
	if r.w == len(r.buf) {
		// The frame may need one byte beyond the limit: the byte after a
		// final '\r' decides whether it ends the frame.
		size := min(max(2*len(r.buf), r.initSize), r.max+1)
		buf := make([]byte, size)
		copy(buf, r.buf[:r.w])
		r.buf = buf
	}
	for range maxEmptyReads {
		n, err := r.rd.Read(r.buf[r.w:])
		if n < 0 || n > len(r.buf)-r.w {
			r.err = fmt.Errorf("sse: invalid Read count %d", n)
			return
		}
		r.w += n
		if err != nil {
			r.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.err = io.ErrNoProgress
}
