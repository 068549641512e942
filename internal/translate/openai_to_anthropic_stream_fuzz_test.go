package translate

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// FuzzStream feeds arbitrary bytes, read in arbitrary pieces through
// sse.Reader, to a Stream: it must not panic, its output must keep the
// event-stream rules (stCheck) and be valid UTF-8, and it must not depend on
// how the bytes were split into reads or on when the caller drains.
func FuzzStream(f *testing.F) {
	for _, c := range stLoadCases(f) {
		f.Add(c.upstream, []byte{1})
		f.Add(c.upstream, []byte{3, 0, 200, 17})
	}
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"\xe4\xb8\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"\xad\"}}]}\n\ndata: [DONE]\n\n"), []byte{})
	f.Fuzz(func(t *testing.T, upstream, sizes []byte) {
		info := &RequestInfo{Model: "m", StopSequences: []string{"END"}, InputEstimate: 7}
		out, s := stRun(t, info, nil, "msg_fuzz", upstream, stRunOpts{sizes: sizes, noDrain: len(sizes)%2 == 1})
		if err := stCheck(out, true); err != nil {
			t.Fatalf("%v\ninput %q\noutput:\n%s", err, upstream, out)
		}
		if s.StopReason() != "" && !strings.Contains(string(out), `"stop_reason":"`+s.StopReason()+`"`) {
			t.Fatalf("StopReason() %q is not the one sent", s.StopReason())
		}
		whole, _ := stRun(t, info, nil, "msg_fuzz", upstream, stRunOpts{})
		if string(whole) != string(out) {
			t.Fatalf("output depends on reads %v:\none read:\n%s\nsplit:\n%s", sizes, whole, out)
		}
	})
}

// FuzzStreamChunks builds a realistic upstream stream from the fuzzer's
// bytes (stGen): text and reasoning fragments with multi-byte characters
// split anywhere, up to three tool calls whose argument fragments
// interleave, with and without index, with the id on the first, every or no
// delta, arguments before the name, keep-alives, empty choices, a second
// choice, and the different ways streams end. Besides stCheck, when the
// stream is well formed it checks that the client gets exactly what the
// upstream sent: the text, the reasoning, each call's name and arguments
// (nothing lost, nothing mixed between calls), the stop reason and usage.
func FuzzStreamChunks(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte{2, 0, 0, 5, 1, 3, 3, 0, 9, 4, 1, 7, 5, 0, 3, 3, 1, 2, 0, 1, 1})
	f.Add([]byte{3, 0x17, 3, 0, 4, 3, 1, 4, 3, 0, 6, 3, 2, 8, 0, 5, 3, 1, 9, 3, 0, 30, 2, 6, 1, 1})
	f.Add([]byte{1, 0x2b, 2, 11, 0, 13, 6, 3, 4, 0, 7, 3, 0, 9, 0, 4, 3, 0, 40, 1, 0, 2})
	f.Add([]byte{2, 0x3a, 3, 1, 2, 3, 0, 2, 3, 1, 2, 0, 3, 3, 0, 5, 3, 1, 5, 9, 1, 6, 2, 3, 0, 50, 3, 1, 50, 1, 1, 0})
	f.Add([]byte{1, 0, 8, 1, 0, 3})
	f.Add([]byte{2, 0x11, 7, 3, 0, 2, 3, 1, 2, 3, 0, 100, 3, 1, 100, 0, 2, 1})
	f.Fuzz(func(t *testing.T, prog []byte) {
		g := &stGen{p: prog}
		upstream, want := g.build()
		info := &RequestInfo{Model: "m", InputEstimate: 5}
		sizes := []byte{byte(len(prog) % 7), 31, 2}
		out, s := stRun(t, info, nil, "msg_fuzz", upstream, stRunOpts{sizes: sizes, noDrain: len(prog)%3 == 0})
		if err := stCheck(out, true); err != nil {
			t.Fatalf("%v\nupstream:\n%s\noutput:\n%s", err, upstream, out)
		}
		msg := stAccumulate(t, out)
		if want.err != "" {
			if msg.Error != want.err {
				t.Fatalf("error %q, want %q\nupstream:\n%s\noutput:\n%s", msg.Error, want.err, upstream, out)
			}
			return
		}
		if !want.checkContent {
			return
		}
		got := stGenWant{stop: msg.StopReason, usage: msg.Usage, calls: map[string]string{}}
		for _, b := range msg.Blocks {
			switch b.Type {
			case "text":
				got.text += b.Text
			case "thinking":
				got.thinking += b.Thinking
			case "tool_use":
				if _, dup := got.calls[b.Name]; dup {
					t.Fatalf("call %q in two blocks\nupstream:\n%s\noutput:\n%s", b.Name, upstream, out)
				}
				got.calls[b.Name] = b.JSON
			}
		}
		if got.stop != s.StopReason() {
			t.Fatalf("StopReason() %q, message_delta %q", s.StopReason(), got.stop)
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(stGenWant{}), cmp.FilterPath(func(p cmp.Path) bool {
			return p.Last().String() == ".checkContent" || p.Last().String() == ".err"
		}, cmp.Ignore())); diff != "" {
			t.Fatalf("the client gets something else than the upstream sent (-upstream +client):\n%s\nupstream:\n%s\noutput:\n%s", diff, upstream, out)
		}
	})
}

// stGenText is what text, reasoning and argument strings are cut from: the
// cuts fall anywhere, so inside multi-byte characters too.
const stGenText = "Hello, 世界! Emoji 😀🎉 \"quoted\" back\\slash\nnew line\ttab é ü ß 한국어 "

// stGen turns fuzz bytes into an upstream stream. Every byte read past the
// end is 0, so every input makes a stream.
type stGen struct {
	p []byte
	i int

	out          []byte
	escape       bool // write non-ASCII characters as \u escapes
	textPos      int
	thinkPos     int
	calls        []stGenCall
	textSent     []byte
	thinkingSent []byte
}

type stGenCall struct {
	name, id  string
	args      string // the whole arguments
	sent      int    // bytes of args sent
	started   bool
	named     bool
	idMode    byte // 0: id on the first delta, 1: on every delta, 2: never, 3: "" on later deltas
	noIndex   bool // no index: idMode is 1
	argsFirst bool // arguments before the name
}

// stGenWant is what the client must get.
type stGenWant struct {
	text, thinking string
	calls          map[string]string
	stop           string
	usage          map[string]int64
	err            string // the error event expected instead
	checkContent   bool   // the stream is well formed, so content is checked
}

func (g *stGen) next() byte {
	if g.i >= len(g.p) {
		g.i++
		return 0
	}
	b := g.p[g.i]
	g.i++
	return b
}

func (g *stGen) build() ([]byte, stGenWant) {
	head := g.next()
	ncalls := int(head % 4)
	g.escape = head&0x10 != 0
	// Without index, calls are told apart by their ids, on every delta;
	// a stream either has indexes or not (mixing both is ambiguous).
	noIndex := head&0x20 != 0
	for k := range ncalls {
		m := g.next()
		c := stGenCall{
			name:      "tool" + strconv.Itoa(k),
			id:        "call_" + strconv.Itoa(k),
			idMode:    m % 4,
			argsFirst: m&0x10 != 0,
		}
		if noIndex {
			c.idMode, c.noIndex = 1, true
		}
		start := int(g.next()) % len(stGenText)
		n := int(g.next()) % 24
		inner, _ := json.Marshal(strings.ToValidUTF8(stGenCut(stGenText, start, n), "?"))
		c.args = `{"k":` + string(inner) + `,"n":[1,{"x":null}],"s":"{[\"]}"}`
		g.calls = append(g.calls, c)
	}
	want := stGenWant{calls: map[string]string{}, checkContent: true}
	for steps := 0; g.i < len(g.p) && steps < 300; steps++ {
		switch op := g.next() % 10; op {
		case 0, 1:
			g.textFragment(false)
		case 2:
			g.textFragment(true)
		case 3, 4, 5:
			if len(g.calls) == 0 {
				g.textFragment(false)
				continue
			}
			g.toolDelta(int(g.next())%len(g.calls), int(g.next())%40)
		case 6:
			g.noise(g.next())
		case 7:
			// Two calls' deltas in one chunk.
			if len(g.calls) < 2 {
				continue
			}
			a, b := int(g.next())%len(g.calls), int(g.next())%len(g.calls)
			if a == b {
				continue
			}
			ea := g.toolEntry(a, int(g.next())%20)
			eb := g.toolEntry(b, int(g.next())%20)
			g.chunk(`{"choices":[{"index":0,"delta":{"tool_calls":[` + ea + `,` + eb + `]}}]}`)
		case 8:
			// A broken stream, now and then.
			switch g.next() % 8 {
			case 0:
				g.chunk(`{"choices":[{"index":0,"delta":{"content":"x"}}`)
				want.err = "api_error: upstream sent a malformed stream chunk"
				return g.out, want
			case 1:
				g.chunk(`{"error":{"message":"boom","type":"server_error"}}`)
				want.err = "api_error: boom"
				return g.out, want
			case 2:
				g.out = append(g.out, "data: {\"choices\":[{\"ind"...)
				want.err = "api_error: upstream stream ended before it finished"
				return g.out, want
			}
		case 9:
			// A second choice, which is not read.
			g.chunk(`{"choices":[{"index":1,"delta":{"content":"IGNORED","tool_calls":[{"index":0,"id":"x","function":{"name":"IGNORED","arguments":"{}"}}]}}]}`)
		}
	}
	// Every call that started is completed before the finish.
	anyCall := false
	for k := range g.calls {
		c := &g.calls[k]
		if !c.started {
			continue
		}
		anyCall = true
		for c.sent < len(c.args) || !c.named {
			g.toolDelta(k, len(c.args))
		}
		want.calls[c.name] = c.args
	}
	finish := []string{"stop", "tool_calls", "length", "content_filter", "insufficient_system_resource", ""}[g.next()%6]
	usageMode := g.next() % 3 // 0: in the finish chunk, 1: a separate chunk, 2: none
	end := g.next() % 3       // 0: [DONE], 1: EOF, 2: [DONE] and more
	usage := `{"prompt_tokens":100,"completion_tokens":7,"total_tokens":107,"prompt_tokens_details":{"cached_tokens":30}}`
	if finish != "" {
		u := ""
		if usageMode == 0 {
			u = `,"usage":` + usage
		}
		g.chunk(`{"choices":[{"index":0,"delta":{"content":""},"finish_reason":"` + finish + `"}]` + u + `}`)
	}
	if usageMode == 1 || usageMode == 0 && finish == "" {
		g.chunk(`{"choices":[],"usage":` + usage + `}`)
		usageMode = 1
	}
	if end != 1 {
		g.chunk("[DONE]")
	}
	if end == 2 {
		g.chunk(`{"choices":[{"index":0,"delta":{"content":"after done"}}]}`)
	}
	if finish == "" && end == 1 {
		want.err = "api_error: upstream stream ended before it finished"
		return g.out, want
	}
	switch finish {
	case "length":
		want.stop = "max_tokens"
	case "tool_calls":
		want.stop = "tool_use"
	case "content_filter":
		want.stop = "refusal"
	default:
		want.stop = "end_turn"
	}
	if anyCall && want.stop != "max_tokens" {
		want.stop = "tool_use"
	}
	if usageMode == 2 {
		want.usage = map[string]int64{"input_tokens": 5, "cache_read_input_tokens": 0, "output_tokens": 0}
	} else {
		want.usage = map[string]int64{"input_tokens": 70, "cache_read_input_tokens": 30, "output_tokens": 7}
	}
	want.text = stGenSanitize(g.textSent)
	want.thinking = stGenSanitize(g.thinkingSent)
	for name, args := range want.calls {
		want.calls[name] = stGenSanitize([]byte(args))
	}
	return g.out, want
}

// stGenCut returns n bytes of s from start on, wrapping around.
func stGenCut(s string, start, n int) string {
	var b []byte
	for i := range n {
		b = append(b, s[(start+i)%len(s)])
	}
	return string(b)
}

// stGenSanitize is what a JSON writer makes of b: each invalid byte U+FFFD.
func stGenSanitize(b []byte) string { return string([]rune(string(b))) }

func (g *stGen) chunk(data string) {
	g.out = append(g.out, "data: "...)
	g.out = append(g.out, data...)
	g.out = append(g.out, "\n\n"...)
}

func (g *stGen) textFragment(thinking bool) {
	n := 1 + int(g.next())%12
	pos := &g.textPos
	if thinking {
		pos = &g.thinkPos
	}
	frag := stGenCut(stGenText, *pos, n)
	*pos = (*pos + n) % len(stGenText)
	field := "content"
	if thinking {
		field = "reasoning_content"
		g.thinkingSent = append(g.thinkingSent, frag...)
	} else {
		g.textSent = append(g.textSent, frag...)
	}
	g.chunk(`{"id":"c","choices":[{"index":0,"delta":{"` + field + `":` + g.str(frag) + `},"finish_reason":null}]}`)
}

func (g *stGen) toolDelta(k, n int) {
	g.chunk(`{"choices":[{"index":0,"delta":{"tool_calls":[` + g.toolEntry(k, n) + `]}}]}`)
}

// toolEntry writes call k's next delta, with up to n more argument bytes.
func (g *stGen) toolEntry(k, n int) string {
	c := &g.calls[k]
	var b strings.Builder
	b.WriteString("{")
	if !c.noIndex {
		b.WriteString(`"index":` + strconv.Itoa(k) + `,`)
	}
	switch {
	case c.idMode == 1, c.idMode != 2 && !c.started:
		b.WriteString(`"id":"` + c.id + `",`)
	case c.idMode == 3:
		b.WriteString(`"id":"",`)
	}
	b.WriteString(`"type":"function","function":{`)
	nameNow := !c.named && (!c.argsFirst || c.started)
	if nameNow {
		b.WriteString(`"name":"` + c.name + `",`)
		c.named = true
	}
	end := min(c.sent+n, len(c.args))
	b.WriteString(`"arguments":` + g.str(c.args[c.sent:end]) + `}}`)
	c.sent = end
	c.started = true
	return b.String()
}

// noise writes a chunk or frame that changes nothing.
func (g *stGen) noise(b byte) {
	switch b % 6 {
	case 0:
		g.chunk(`{"choices":[]}`)
	case 1:
		g.chunk(`{}`)
	case 2:
		g.out = append(g.out, ": keep-alive\n\n"...)
	case 3:
		g.chunk(`{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}],"usage":null}`)
	case 4:
		g.out = append(g.out, "data:\n\n"...)
	case 5:
		g.chunk(`{"choices":[{"index":0,"delta":{"content":null,"reasoning_content":null,"tool_calls":null}}]}`)
	}
}

// str writes s as a JSON string literal whose bytes pass through as they
// are, even a character cut in two (which encoding/json would replace);
// with g.escape, whole non-ASCII characters are written as \u escapes.
func (g *stGen) str(s string) string {
	b := []byte{'"'}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xF])
			i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if g.escape && r != utf8.RuneError {
				if r >= 0x10000 {
					r1, r2 := 0xD800+(r-0x10000)>>10, 0xDC00+(r-0x10000)&0x3FF
					b = append(b, `\u`+strconv.FormatInt(int64(r1), 16)+`\u`+strconv.FormatInt(int64(r2), 16)...)
				} else {
					b = append(b, `\u`+stPad4(strconv.FormatInt(int64(r), 16))...)
				}
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
	return string(append(b, '"'))
}

func stPad4(h string) string { return strings.Repeat("0", 4-len(h)) + h }
