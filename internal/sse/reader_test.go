package sse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// event is a comparable copy of an Event; nil Name or Data (no such field
// in the frame) is told apart from an empty one.
type event struct {
	Name, Data *string
	Raw        string
}

func str(s string) *string { return &s }

func copyEvent(ev Event) event {
	e := event{Raw: string(ev.Raw)}
	if ev.Name != nil {
		e.Name = str(string(ev.Name))
	}
	if ev.Data != nil {
		e.Data = str(string(ev.Data))
	}
	return e
}

// readAll reads src to its first error.
func readAll(src Source) ([]event, error) {
	var evs []event
	for {
		ev, err := src.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, copyEvent(ev))
	}
}

// readers returns the ways the tests feed input to a Reader: in one read,
// one byte per read, with the last read returning the data together with
// io.EOF, and in small odd-sized chunks.
func readers(in []byte) map[string]func() io.Reader {
	return map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(in) },
		"onebyte":  func() io.Reader { return iotest.OneByteReader(bytes.NewReader(in)) },
		"dataerr":  func() io.Reader { return iotest.DataErrReader(bytes.NewReader(in)) },
		"halfread": func() io.Reader { return iotest.HalfReader(bytes.NewReader(in)) },
	}
}

// splitReader returns in[:i] in one read and in[i:] in the next.
func splitReader(in []byte, i int) io.Reader {
	return io.MultiReader(bytes.NewReader(in[:i]), bytes.NewReader(in[i:]))
}

// joinRaw concatenates the Raw of evs.
func joinRaw(evs []event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Raw)
	}
	return b.String()
}

// checkRaw checks that the Raw of evs reproduces the input: all of it when
// the stream ended at a frame boundary, up to blank lines (and a BOM) that
// follow the last frame and carry nothing.
func checkRaw(t *testing.T, in []byte, evs []event, err error) {
	t.Helper()
	raw := joinRaw(evs)
	if !strings.HasPrefix(string(in), raw) {
		t.Fatalf("concatenated Raw is not a prefix of the input:\nraw %q\nin  %q", raw, in)
	}
	if err == io.EOF {
		rest := string(in[len(raw):])
		if len(evs) == 0 {
			rest = strings.TrimPrefix(rest, bom)
		}
		if strings.Trim(rest, "\r\n") != "" {
			t.Fatalf("clean EOF but the input has more than blank lines after the last frame: %q", rest)
		}
	}
}

func sameErr(got, want error) bool {
	if want == nil || got == want {
		return got == want
	}
	return errors.Is(got, want)
}

func TestReaderFraming(t *testing.T) {
	type E = event
	tests := []struct {
		name string
		in   string
		want []event
		err  error // after the events; io.EOF if nil
	}{
		{"empty", "", nil, nil},
		{"LF", "event: a\ndata: b\n\n", []E{{str("a"), str("b"), "event: a\ndata: b\n\n"}}, nil},
		{"CRLF", "event: a\r\ndata: b\r\n\r\n", []E{{str("a"), str("b"), "event: a\r\ndata: b\r\n\r\n"}}, nil},
		{"CR", "event: a\rdata: b\r\r", []E{{str("a"), str("b"), "event: a\rdata: b\r\r"}}, nil},
		{"mixed endings", "data: a\r\ndata: b\rdata: c\n\r\nevent: x\r\r\n",
			[]E{{nil, str("a\nb\nc"), "data: a\r\ndata: b\rdata: c\n\r\n"}, {str("x"), nil, "event: x\r\r\n"}}, nil},
		{"CR then LF is one terminator", "data: a\r\n\r\ndata: b\n\n",
			[]E{{nil, str("a"), "data: a\r\n\r\n"}, {nil, str("b"), "data: b\n\n"}}, nil},
		{"LF then CR is two", "data: a\n\rdata: b\n\n",
			[]E{{nil, str("a"), "data: a\n\r"}, {nil, str("b"), "data: b\n\n"}}, nil},
		{"keep-alive comment", ": ping\n\n", []E{{nil, nil, ": ping\n\n"}}, nil},
		{"bare colon comment", ":\n\n", []E{{nil, nil, ":\n\n"}}, nil},
		{"comment inside frame", ": hi\nevent: x\n:data: no\ndata: y\n\n", []E{{str("x"), str("y"), ": hi\nevent: x\n:data: no\ndata: y\n\n"}}, nil},
		{"multi-line data", "data: a\ndata: b\ndata:\ndata: c\n\n", []E{{nil, str("a\nb\n\nc"), "data: a\ndata: b\ndata:\ndata: c\n\n"}}, nil},
		{"no space after colon", "event:x\ndata:y\n\n", []E{{str("x"), str("y"), "event:x\ndata:y\n\n"}}, nil},
		{"only one space removed", "event:  x\ndata:  y \n\n", []E{{str(" x"), str(" y "), "event:  x\ndata:  y \n\n"}}, nil},
		{"tab is not removed", "data:\ty\n\n", []E{{nil, str("\ty"), "data:\ty\n\n"}}, nil},
		{"colon in value", "data: a:b: c\n\n", []E{{nil, str("a:b: c"), "data: a:b: c\n\n"}}, nil},
		{"field without colon", "event\ndata\n\n", []E{{str(""), str(""), "event\ndata\n\n"}}, nil},
		{"empty data value", "data:\n\n", []E{{nil, str(""), "data:\n\n"}}, nil},
		{"field names are case sensitive", "Data: x\nEVENT: y\n\n", []E{{nil, nil, "Data: x\nEVENT: y\n\n"}}, nil},
		{"unknown fields ignored", "id: 1\nretry: 100\nfoo: bar\ndata: x\n\n", []E{{nil, str("x"), "id: 1\nretry: 100\nfoo: bar\ndata: x\n\n"}}, nil},
		{"id-only frame", "id: 5\n\n", []E{{nil, nil, "id: 5\n\n"}}, nil},
		{"last event line wins", "event: a\nevent: b\ndata: x\n\n", []E{{str("b"), str("x"), "event: a\nevent: b\ndata: x\n\n"}}, nil},
		{"BOM stripped, kept in Raw", "\xef\xbb\xbfdata: x\n\n", []E{{nil, str("x"), "\xef\xbb\xbfdata: x\n\n"}}, nil},
		{"BOM only at stream start", "data: x\n\n\xef\xbb\xbfdata: y\n\n",
			[]E{{nil, str("x"), "data: x\n\n"}, {nil, nil, "\xef\xbb\xbfdata: y\n\n"}}, nil},
		{"only one BOM stripped", "\xef\xbb\xbf\xef\xbb\xbfdata: y\n\n", []E{{nil, nil, "\xef\xbb\xbf\xef\xbb\xbfdata: y\n\n"}}, nil},
		{"BOM only", "\xef\xbb\xbf", nil, nil},
		{"partial BOM", "\xef\xbb", nil, io.ErrUnexpectedEOF},
		{"leading blank lines join the first frame", "\n\r\n\rdata: x\n\n", []E{{nil, str("x"), "\n\r\n\rdata: x\n\n"}}, nil},
		{"blank lines between frames", "data: a\n\n\n\ndata: b\n\n",
			[]E{{nil, str("a"), "data: a\n\n"}, {nil, str("b"), "\n\ndata: b\n\n"}}, nil},
		{"blank lines after the last frame", "data: a\n\n\n\r\n\r", []E{{nil, str("a"), "data: a\n\n"}}, nil},
		{"only blank lines", "\n\n\r\n", nil, nil},
		{"padded JSON", "event: message_stop\ndata: {\"type\":\"message_stop\"            }\n\n",
			[]E{{str("message_stop"), str(`{"type":"message_stop"            }`), "event: message_stop\ndata: {\"type\":\"message_stop\"            }\n\n"}}, nil},
		{"NUL and invalid UTF-8 pass through", "data: \x00\xff\n\n", []E{{nil, str("\x00\xff"), "data: \x00\xff\n\n"}}, nil},

		{"truncated line", "data: x", nil, io.ErrUnexpectedEOF},
		{"missing blank line", "data: x\n", nil, io.ErrUnexpectedEOF},
		{"missing blank line after CR", "data: x\r", nil, io.ErrUnexpectedEOF},
		{"truncated comment", ": ping\n", nil, io.ErrUnexpectedEOF},
		{"truncated second frame", "data: a\n\ndata: b\n", []E{{nil, str("a"), "data: a\n\n"}}, io.ErrUnexpectedEOF},
		{"truncated after blank lines", "data: a\n\n\nd", []E{{nil, str("a"), "data: a\n\n"}}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			wantErr := tt.err
			if wantErr == nil {
				wantErr = io.EOF
			}
			check := func(how string, rd io.Reader) {
				t.Helper()
				got, err := readAll(NewReader(rd, 0))
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("%s: events (-want +got):\n%s", how, diff)
				}
				if !sameErr(err, wantErr) {
					t.Fatalf("%s: error %v, want %v", how, err, wantErr)
				}
				checkRaw(t, in, got, err)
			}
			for how, rd := range readers(in) {
				check(how, rd())
			}
			got, err := readAll(newReader(iotest.HalfReader(bytes.NewReader(in)), 0, 1))
			if diff := cmp.Diff(tt.want, got); diff != "" || !sameErr(err, wantErr) {
				t.Fatalf("growing from a 1-byte buffer (-want +got):\n%s\nerror %v", diff, err)
			}
			for i := range len(in) + 1 {
				check(fmt.Sprintf("split at %d", i), splitReader(in, i))
			}
			// The reference parser agrees.
			got, err = oracle(in, DefaultMaxEvent)
			if diff := cmp.Diff(tt.want, got); diff != "" || !sameErr(err, wantErr) {
				t.Fatalf("oracle disagrees with the table (-want +got):\n%s\nerror %v", diff, err)
			}
		})
	}
}

// oracle is a deliberately simple reference framer: it sees the whole
// input at once and follows §9.2.5/§9.2.6 line by line.
func oracle(in []byte, maxEvent int) ([]event, error) {
	var evs []event
	pos, start := 0, 0
	if bytes.HasPrefix(in, []byte(bom)) {
		pos = len(bom)
	}
	var name, data *string
	content := false
	var datas []string
	for {
		i := bytes.IndexAny(in[pos:], "\r\n")
		if i < 0 {
			switch {
			case len(in)-start > maxEvent:
				return evs, ErrEventTooLarge
			case content || pos < len(in):
				return evs, io.ErrUnexpectedEOF
			}
			return evs, io.EOF
		}
		line := string(in[pos : pos+i])
		next := pos + i + 1
		if in[pos+i] == '\r' && next < len(in) && in[next] == '\n' {
			next++
		}
		pos = next
		if line == "" {
			if !content {
				continue
			}
			if pos-start > maxEvent {
				return evs, ErrEventTooLarge
			}
			if datas != nil {
				data = str(strings.Join(datas, "\n"))
			}
			evs = append(evs, event{Name: name, Data: data, Raw: string(in[start:pos])})
			start, name, data, datas, content = pos, nil, nil, nil, false
			continue
		}
		content = true
		if line[0] == ':' {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			name = str(value)
		case "data":
			datas = append(datas, value)
		}
	}
}

func loadStream(t testing.TB) []byte {
	t.Helper()
	in, err := os.ReadFile("testdata/anthropic_stream.sse")
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestReaderAnthropicStream(t *testing.T) {
	in := loadStream(t)
	want, err := readAll(NewReader(bytes.NewReader(in), 0))
	if err != io.EOF {
		t.Fatalf("error %v, want io.EOF", err)
	}
	checkRaw(t, in, want, err)
	if joinRaw(want) != string(in) {
		t.Fatal("concatenated Raw differs from the input")
	}

	// The events are what an Anthropic client expects.
	var names []string
	for _, e := range want {
		if e.Name == nil || e.Data == nil {
			t.Fatalf("event without name or data: %q", e.Raw)
		}
		var typ struct{ Type string }
		if err := json.Unmarshal([]byte(*e.Data), &typ); err != nil {
			t.Fatalf("data of %q is not JSON: %v", e.Raw, err)
		}
		if typ.Type != *e.Name {
			t.Errorf("event %q carries data of type %q", *e.Name, typ.Type)
		}
		names = append(names, *e.Name)
	}
	wantNames := []string{"message_start", "content_block_start", "ping",
		"content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta",
		"content_block_stop", "content_block_start",
		"content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop"}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("event names (-want +got):\n%s", diff)
	}

	check := func(t *testing.T, how string, in []byte, rd io.Reader, want []event) {
		t.Helper()
		got, err := readAll(NewReader(rd, 0))
		if err != io.EOF {
			t.Fatalf("%s: error %v, want io.EOF", how, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%s: events (-want +got):\n%s", how, diff)
		}
		if joinRaw(got) != string(in) {
			t.Fatalf("%s: concatenated Raw differs from the input", how)
		}
	}
	for i := range len(in) + 1 {
		check(t, fmt.Sprintf("split at %d", i), in, splitReader(in, i), want)
	}
	for how, rd := range readers(in) {
		check(t, how, in, rd(), want)
	}

	// The same stream with CRLF and bare CR line endings, and with a small
	// limit that still fits every frame, frames identically.
	for _, eol := range []string{"\r\n", "\r"} {
		conv := []byte(strings.ReplaceAll(string(in), "\n", eol))
		raw := bytes.SplitAfter(conv, []byte(eol+eol))
		w := make([]event, len(want))
		for k := range want {
			w[k] = want[k]
			w[k].Raw = string(raw[k])
		}
		for i := range len(conv) + 1 {
			check(t, fmt.Sprintf("%q split at %d", eol, i), conv, splitReader(conv, i), w)
		}
		check(t, fmt.Sprintf("%q one byte per read", eol), conv, iotest.OneByteReader(bytes.NewReader(conv)), w)
	}
}

func TestReaderTooLarge(t *testing.T) {
	const limit = 64
	for _, eol := range []string{"\n", "\r\n", "\r"} {
		for size := limit - 3; size <= limit+3; size++ {
			// A frame of exactly size bytes, then a small one.
			frame := "data: " + strings.Repeat("x", size-len("data: ")-2*len(eol)) + eol + eol
			if len(frame) != size {
				continue // not representable with this line ending
			}
			in := []byte(frame + "data: y" + eol + eol)
			for how, rd := range readers(in) {
				evs, err := readAll(NewReader(rd(), limit))
				if size <= limit {
					if err != io.EOF || len(evs) != 2 || evs[0].Raw != frame {
						t.Errorf("%q size %d %s: got %d events, %v; want 2, io.EOF", eol, size, how, len(evs), err)
					}
					continue
				}
				if !errors.Is(err, ErrEventTooLarge) || len(evs) != 0 {
					t.Errorf("%q size %d %s: got %d events, %v; want ErrEventTooLarge", eol, size, how, len(evs), err)
				}
			}
		}
	}

	// A huge line is refused once the limit is passed, without reading on.
	r := NewReader(io.MultiReader(strings.NewReader("data: a\n\n"), strings.NewReader("data: "+strings.Repeat("x", 1<<20))), 1000)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err := r.Next()
	if !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("got %v, want ErrEventTooLarge", err)
	}
	if want := "sse: event too large (limit 1000 bytes)"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if _, err2 := r.Next(); err2 != err {
		t.Errorf("error not sticky: %v", err2)
	}
	if len(r.buf) > 1001 {
		t.Errorf("buffer grew to %d bytes for a limit of 1000", len(r.buf))
	}
}

func TestReaderBufferGrowth(t *testing.T) {
	in := loadStream(t)
	r := NewReader(bytes.NewReader(in), 0)
	if _, err := readAll(r); err != io.EOF {
		t.Fatal(err)
	}
	if len(r.buf) != initialBufSize {
		t.Errorf("buffer is %d bytes after small events, want %d", len(r.buf), initialBufSize)
	}

	big := "event: content_block_delta\ndata: " + strings.Repeat("y", 100<<10) + "\n\n"
	r.Reset(iotest.HalfReader(strings.NewReader(big + big[:20] + big[20:])))
	evs, err := readAll(r)
	if err != io.EOF || len(evs) != 2 || len(*evs[1].Data) != 100<<10 {
		t.Fatalf("got %d events, %v", len(evs), err)
	}
	if len(r.buf) < 100<<10 || len(r.buf) > 256<<10 {
		t.Errorf("buffer is %d bytes for a 100 KiB event", len(r.buf))
	}
}

var errBoom = errors.New("boom")

func TestReaderUnderlyingError(t *testing.T) {
	// An error with no data.
	r := NewReader(iotest.ErrReader(errBoom), 0)
	if _, err := r.Next(); err != errBoom {
		t.Fatalf("got %v, want %v", err, errBoom)
	}
	if _, err := r.Next(); err != errBoom {
		t.Fatalf("second call: got %v, want %v", err, errBoom)
	}

	// Complete frames come first; a broken frame yields the reader's
	// error, not ErrUnexpectedEOF.
	r = NewReader(io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(errBoom)), 0)
	evs, err := readAll(r)
	if err != errBoom || len(evs) != 1 {
		t.Fatalf("got %d events, %v; want 1, %v", len(evs), err, errBoom)
	}

	// A timeout on the second read.
	r = NewReader(iotest.TimeoutReader(strings.NewReader("data: a\n")), 0)
	if _, err := r.Next(); err != iotest.ErrTimeout {
		t.Fatalf("got %v, want %v", err, iotest.ErrTimeout)
	}

	// A reader that never makes progress.
	r = NewReader(readerFunc(func([]byte) (int, error) { return 0, nil }), 0)
	if _, err := r.Next(); err != io.ErrNoProgress {
		t.Fatalf("got %v, want io.ErrNoProgress", err)
	}

	// A reader that claims more than it was given.
	r = NewReader(readerFunc(func(p []byte) (int, error) { return len(p) + 1, nil }), 0)
	if _, err := r.Next(); err == nil {
		t.Fatal("bad Read count accepted")
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

type closeRecorder struct {
	io.Reader
	closed int
}

func (c *closeRecorder) Close() error {
	c.closed++
	return errBoom
}

func TestReaderClose(t *testing.T) {
	c := &closeRecorder{Reader: strings.NewReader("")}
	if err := NewReader(c, 0).Close(); err != errBoom || c.closed != 1 {
		t.Errorf("Close = %v after %d closes, want %v after 1", err, c.closed, errBoom)
	}
	if err := NewReader(strings.NewReader(""), 0).Close(); err != nil {
		t.Errorf("Close of a non-Closer = %v", err)
	}
	var _ Source = (*Reader)(nil)
}

func TestReaderReset(t *testing.T) {
	r := NewReader(strings.NewReader("data: a\n"), 0)
	if _, err := readAll(r); err != io.ErrUnexpectedEOF {
		t.Fatal(err)
	}
	r.Reset(strings.NewReader("\xef\xbb\xbfdata: b\n\n"))
	evs, err := readAll(r)
	if err != io.EOF || len(evs) != 1 || *evs[0].Data != "b" {
		t.Fatalf("after Reset: %v, %v", evs, err)
	}
}

func TestReaderSlicesCapped(t *testing.T) {
	r := NewReader(strings.NewReader("event: a\ndata: b\n\ndata: c\n\n"), 0)
	ev, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	_ = append(ev.Name, "XXXXXXXX"...)
	_ = append(ev.Data, "XXXXXXXX"...)
	_ = append(ev.Raw, "XXXXXXXX"...)
	ev, err = r.Next()
	if err != nil || string(ev.Raw) != "data: c\n\n" {
		t.Fatalf("appending to an event clobbered the buffer: %q, %v", ev.Raw, err)
	}
}

func TestReaderNoAllocs(t *testing.T) {
	in := longStream(200)
	br := bytes.NewReader(in)
	r := NewReader(br, 0)
	run := func() {
		br.Reset(in)
		r.Reset(br)
		for {
			if _, err := r.Next(); err != nil {
				if err != io.EOF {
					t.Fatal(err)
				}
				return
			}
		}
	}
	run() // allocate the buffer
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Errorf("%v allocations per stream, want 0", n)
	}
	// Multi-line data reuses the scratch buffer.
	multi := []byte(strings.Repeat("data: a\ndata: b\n\n", 100))
	run2 := func() {
		br.Reset(multi)
		r.Reset(br)
		for {
			if _, err := r.Next(); err != nil {
				return
			}
		}
	}
	run2()
	if n := testing.AllocsPerRun(20, run2); n != 0 {
		t.Errorf("%v allocations per multi-line stream, want 0", n)
	}
}

// longStream is a realistic response of n text_delta events, each about
// 150 bytes, between the usual start and stop events.
func longStream(n int) []byte {
	var b bytes.Buffer
	b.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-sonnet-4-5-20250929\",\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":2095,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":41227,\"output_tokens\":1,\"service_tier\":\"standard\"}}}\n\n")
	b.WriteString("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	b.WriteString("event: ping\ndata: {\"type\": \"ping\"}\n\n")
	words := []string{"I'll help you refactor", " the handler so that every", " error is wrapped with", " context.\\n\\nFirst, let's", " look at how `ServeHTTP` in", " server.go reports failures today:"}
	for i := range n {
		fmt.Fprintf(&b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":%q}}\n\n", words[i%len(words)])
	}
	b.WriteString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	b.WriteString("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":1024}}\n\n")
	b.WriteString("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	return b.Bytes()
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("event: a\r\ndata: b\r\rdata: c\n\n: ping\n\n"), 9)
	f.Add([]byte("\xef\xbb\xbf\r\n\rdata\nevent\n\n"), 2)
	f.Add(longStream(3), 100)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		if split < 0 {
			split = -split
		}
		if split < 0 {
			split = 0
		}
		split %= len(in) + 1
		// The default limit; a small one; and a small initial buffer that
		// must grow.
		for _, c := range []struct{ limit, bufSize int }{{DefaultMaxEvent, initialBufSize}, {16, initialBufSize}, {64, 5}} {
			limit := c.limit
			want, wantErr := oracle(in, limit)
			check := func(how string, rd io.Reader) {
				got, err := readAll(newReader(rd, limit, c.bufSize))
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("limit %d, %s: events differ from the oracle (-oracle +reader):\n%s", limit, how, diff)
				}
				if !sameErr(err, wantErr) {
					t.Fatalf("limit %d, %s: error %v, oracle %v", limit, how, err, wantErr)
				}
				checkRaw(t, in, got, err)
				for _, e := range got {
					if len(e.Raw) > limit {
						t.Fatalf("limit %d, %s: frame of %d bytes returned", limit, how, len(e.Raw))
					}
				}
			}
			check("whole", bytes.NewReader(in))
			check(fmt.Sprintf("split at %d", split), splitReader(in, split))
			check("onebyte", iotest.OneByteReader(bytes.NewReader(in)))
			check("dataerr", iotest.DataErrReader(bytes.NewReader(in)))
		}
	})
}

func BenchmarkReaderPassthrough(b *testing.B) {
	const events = 1000
	in := longStream(events)
	total := events + 6 // plus start, block start, ping, block stop, delta, stop
	br := bytes.NewReader(in)
	r := NewReader(br, 0)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		br.Reset(in)
		r.Reset(br)
		n := 0
		for {
			ev, err := r.Next()
			if err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			n += len(ev.Raw)
		}
		if n != len(in) {
			b.Fatalf("relayed %d of %d bytes", n, len(in))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*total), "ns/event")
	b.ReportMetric(float64(len(in))/float64(total), "bytes/event")
}

func BenchmarkAppendEvent(b *testing.B) {
	data := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I'll help you refactor the handler"}}`)
	dst := make([]byte, 0, 512)
	b.SetBytes(int64(len(AppendEvent(nil, "content_block_delta", data))))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendEvent(dst[:0], "content_block_delta", data)
	}
}
