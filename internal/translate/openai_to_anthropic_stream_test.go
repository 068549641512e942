package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/ferrygw/ferry/internal/sse"
	"github.com/ferrygw/ferry/internal/testkit"
)

// stCase is a golden case: testdata/stream/NAME.txtar holds upstream.sse
// (the upstream's raw bytes), want.sse (Ferry's exact output) and an
// optional profile file of key=value lines:
//
//	model=…        the model the client asked for (default claude-sonnet-4-5)
//	id=…           the message id (default msg_01FerryGolden)
//	input=N        RequestInfo.InputEstimate
//	reasoning=a,b  Profile.ReasoningFields ("reasoning=" for none)
//	stop=["…"]     RequestInfo.StopSequences, as JSON
//	accumulate=skip  (with a reason) leaves the case out of TestStreamAccumulate
//	one_tool=true  RequestInfo.OneToolCall (disable_parallel_tool_use)
type stCase struct {
	name       string
	info       RequestInfo
	profile    *Profile
	id         string
	upstream   []byte
	want       []byte
	accumulate bool
	ar         *txtar.Archive
	file       string
}

func stLoadCases(t testing.TB) []*stCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "stream", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	var cases []*stCase
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		c := &stCase{
			name:       strings.TrimSuffix(filepath.Base(file), ".txtar"),
			info:       RequestInfo{Model: "claude-sonnet-4-5", Stream: true},
			id:         "msg_01FerryGolden",
			accumulate: true,
			ar:         ar,
			file:       file,
		}
		for _, f := range ar.Files {
			switch f.Name {
			case "upstream.sse":
				c.upstream = f.Data
			case "want.sse":
				c.want = f.Data
			case "profile":
				stParseProfile(t, c, f.Data)
			}
		}
		if c.upstream == nil {
			t.Fatalf("%s: no upstream.sse", file)
		}
		cases = append(cases, c)
	}
	return cases
}

func stParseProfile(t testing.TB, c *stCase, data []byte) {
	for line := range strings.Lines(string(data)) {
		line = strings.TrimRight(line, "\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: profile line %q is not key=value", c.name, line)
		}
		switch k {
		case "model":
			c.info.Model = v
		case "id":
			c.id = v
		case "input":
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("%s: input: %v", c.name, err)
			}
			c.info.InputEstimate = n
		case "reasoning":
			c.profile = &Profile{Name: "golden", ReasoningFields: []string{}}
			if v != "" {
				c.profile.ReasoningFields = strings.Split(v, ",")
			}
		case "stop":
			if err := json.Unmarshal([]byte(v), &c.info.StopSequences); err != nil {
				t.Fatalf("%s: stop: %v", c.name, err)
			}
		case "accumulate":
			c.accumulate = !strings.HasPrefix(v, "skip")
		case "one_tool":
			c.info.OneToolCall = v == "true"
		default:
			t.Fatalf("%s: unknown profile key %q", c.name, k)
		}
	}
}

// stRunOpts varies how a stream is driven, which must not change the
// output.
type stRunOpts struct {
	sizes   []byte // read sizes for the splitting reader (nil: one read)
	noDrain bool   // drain Next only at the end, not after every call
}

// stRun feeds upstream, framed by sse.Reader, to a new OpenAIToAnthropicStream and returns
// every event it emitted, concatenated.
func stRun(tb testing.TB, info *RequestInfo, p *Profile, id string, upstream []byte, o stRunOpts) ([]byte, *OpenAIToAnthropicStream) {
	tb.Helper()
	s := NewOpenAIToAnthropicStream(info, p, id)
	var out []byte
	drain := func() {
		for {
			ev, ok := s.Next()
			if !ok {
				return
			}
			want := "event: " + string(ev.Name) + "\ndata: " + string(ev.Data) + "\n\n"
			if string(ev.Raw) != want {
				tb.Fatalf("event parts disagree: Raw %q, Name %q, Data %q", ev.Raw, ev.Name, ev.Data)
			}
			out = append(out, ev.Raw...)
		}
	}
	var r io.Reader = bytes.NewReader(upstream)
	if o.sizes != nil {
		r = &stSplitReader{data: upstream, sizes: o.sizes}
	}
	rd := sse.NewReader(r, 0)
	for {
		ev, err := rd.Next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			s.Finish(err)
			break
		}
		if ev.Data == nil {
			continue // a comment-only keep-alive
		}
		s.Feed(ev.Data)
		if !o.noDrain {
			drain()
		}
	}
	drain()
	if !s.Finished() {
		tb.Fatalf("not finished after Finish")
	}
	// Nothing may come after the end.
	s.Feed([]byte(`{"choices":[{"index":0,"delta":{"content":"late"}}]}`))
	s.Feed([]byte(`[DONE]`))
	s.Finish(errors.New("late"))
	if ev, ok := s.Next(); ok {
		tb.Fatalf("event after the end: %q", ev.Raw)
	}
	return out, s
}

// stSplitReader returns data in reads of the given sizes, in turn (a size
// of 0 makes a read that returns nothing, which sse.Reader tolerates).
type stSplitReader struct {
	data  []byte
	sizes []byte
	i     int
	zeros int
}

func (r *stSplitReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(r.sizes) > 0 {
		n = int(r.sizes[r.i%len(r.sizes)])
		r.i++
	}
	if n == 0 {
		// sse.Reader gives up after 100 empty reads in a row.
		if r.zeros++; r.zeros < 50 {
			return 0, nil
		}
		n = 1
	}
	r.zeros = 0
	n = min(n, len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

func TestStreamGolden(t *testing.T) {
	for _, c := range stLoadCases(t) {
		t.Run(c.name, func(t *testing.T) {
			got, _ := stRun(t, &c.info, c.profile, c.id, c.upstream, stRunOpts{})
			if err := stCheck(got, true); err != nil {
				t.Errorf("output breaks the event-stream rules: %v\n%s", err, got)
			}
			if testkit.Updating() {
				stSetFile(c.ar, "want.sse", got)
				if err := os.WriteFile(c.file, txtar.Format(c.ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(string(c.want), string(got)); diff != "" {
				t.Errorf("output differs from want.sse (-want +got):\n%s", diff)
			}
			// How the bytes arrive and when the caller drains must not
			// matter.
			for _, o := range []stRunOpts{{sizes: []byte{1}}, {sizes: []byte{7, 0, 255, 2}, noDrain: true}} {
				again, _ := stRun(t, &c.info, c.profile, c.id, c.upstream, o)
				if diff := cmp.Diff(string(got), string(again)); diff != "" {
					t.Errorf("output depends on reads %v / noDrain %v (-one read +split):\n%s", o.sizes, o.noDrain, diff)
				}
			}
		})
	}
}

func stSetFile(ar *txtar.Archive, name string, data []byte) {
	for i := range ar.Files {
		if ar.Files[i].Name == name {
			ar.Files[i].Data = data
			return
		}
	}
	ar.Files = append(ar.Files, txtar.File{Name: name, Data: data})
}

// TestStreamProtocolExample holds Ferry's output for PROTOCOL §11a's worked
// example to the document's bytes. Two things Ferry sends that §11a leaves
// out are taken away first, and nothing else: the ping after the first
// content_block_start and the tool_use block's first input_json_delta
// with partial_json "", both of which the real API sends (PROTOCOL §4,
// vendor-samples §5) and the brief asks for.
func TestStreamProtocolExample(t *testing.T) {
	ar, err := txtar.ParseFile(filepath.Join("testdata", "stream", "protocol_11a.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	var want, got []byte
	for _, f := range ar.Files {
		switch f.Name {
		case "protocol.sse":
			want = f.Data
		case "want.sse":
			got = f.Data
		}
	}
	if want == nil || got == nil {
		t.Fatal("protocol_11a.txtar lacks protocol.sse or want.sse")
	}
	ping := "event: ping\ndata: {\"type\":\"ping\"}\n\n"
	empty := "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
	for _, extra := range []string{ping, empty} {
		if strings.Count(string(got), extra) != 1 {
			t.Fatalf("want.sse has %d of %q, want 1", strings.Count(string(got), extra), extra)
		}
		got = bytes.Replace(got, []byte(extra), nil, 1)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("§11a output differs (-PROTOCOL +Ferry):\n%s", diff)
	}
}

// stCheck holds an event stream to Anthropic's grammar (PROTOCOL §4 and
// §12.3, testkit.CheckStream) and to what the translator promises beyond it
// (testkit.StreamRules.Exact). complete: the stream was ended, so it must
// be whole.
func stCheck(out []byte, complete bool) error {
	_, err := testkit.CheckStreamRules(sse.NewReader(bytes.NewReader(out), 0), testkit.StreamRules{Partial: !complete, Exact: true, UpstreamTools: true})
	return err
}

// stMsg is a message as a client accumulates it from events.
type stMsg struct {
	Blocks       []stBlock
	StopReason   string
	StopSequence *string
	Usage        map[string]int64
	Error        string
}

type stBlock struct {
	Type, Text, Thinking, Signature, ID, Name, JSON string
}

func stAccumulate(tb testing.TB, out []byte) stMsg {
	tb.Helper()
	var msg stMsg
	rd := sse.NewReader(bytes.NewReader(out), 0)
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		var e struct {
			Index        int
			ContentBlock struct{ Type, ID, Name string } `json:"content_block"`
			Delta        struct {
				Type, Text, Thinking, Signature string
				PartialJSON                     string  `json:"partial_json"`
				StopReason                      string  `json:"stop_reason"`
				StopSequence                    *string `json:"stop_sequence"`
			}
			Usage map[string]int64
			Error struct{ Type, Message string }
		}
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			tb.Fatalf("%s: %v", ev.Data, err)
		}
		switch string(ev.Name) {
		case "content_block_start":
			msg.Blocks = append(msg.Blocks, stBlock{Type: e.ContentBlock.Type, ID: e.ContentBlock.ID, Name: e.ContentBlock.Name})
		case "content_block_delta":
			b := &msg.Blocks[e.Index]
			b.Text += e.Delta.Text
			b.Thinking += e.Delta.Thinking
			b.Signature += e.Delta.Signature
			b.JSON += e.Delta.PartialJSON
		case "message_delta":
			msg.StopReason, msg.StopSequence, msg.Usage = e.Delta.StopReason, e.Delta.StopSequence, e.Usage
		case "error":
			msg.Error = e.Error.Type + ": " + e.Error.Message
		}
	}
	return msg
}

// stRef is what an OpenAI client accumulates from the upstream chunks, the
// reference Ferry's output must agree with.
type stRef struct {
	Text, Thinking string
	Calls          []stRefCall
}

type stRefCall struct{ Name, Args string }

// stReference accumulates the upstream like the OpenAI SDK does, with
// encoding/json: tool calls by index, else by id, else the last call.
func stReference(tb testing.TB, upstream []byte, reasoning []string) stRef {
	tb.Helper()
	var ref stRef
	byKey := map[string]int{}
	rd := sse.NewReader(bytes.NewReader(upstream), 0)
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		// Lines of one event that are each a chunk (an upstream that left
		// out a blank line) count as chunks, as OpenAIToAnthropicStream reads them.
		for d := range bytes.Lines(ev.Data) {
			stReferenceChunk(tb, &ref, byKey, bytes.TrimSpace(d), reasoning)
		}
	}
	return ref
}

func stReferenceChunk(tb testing.TB, ref *stRef, byKey map[string]int, d []byte, reasoning []string) {
	tb.Helper()
	{
		if len(d) == 0 || string(d) == "[DONE]" {
			return
		}
		var ch struct {
			Choices []struct {
				Delta map[string]json.RawMessage
			}
		}
		if err := json.Unmarshal(d, &ch); err != nil {
			tb.Fatalf("reference: %v: %s", err, d)
		}
		for _, c := range ch.Choices {
			str := func(k string) string {
				var s string
				json.Unmarshal(c.Delta[k], &s)
				return s
			}
			for _, f := range reasoning {
				if s := str(f); s != "" {
					ref.Thinking += s
					break
				}
			}
			ref.Text += str("content")
			var calls []struct {
				Index    *int
				ID       string
				Function struct{ Name, Arguments string }
			}
			json.Unmarshal(c.Delta["tool_calls"], &calls)
			for _, tc := range calls {
				key := ""
				switch {
				case tc.Index != nil:
					key = "i" + strconv.Itoa(*tc.Index)
				case tc.ID != "":
					key = "id" + tc.ID
				}
				k, ok := byKey[key]
				if key == "" && len(ref.Calls) > 0 {
					k, ok = len(ref.Calls)-1, true
				}
				if !ok {
					ref.Calls = append(ref.Calls, stRefCall{})
					k = len(ref.Calls) - 1
					byKey[key] = k
				}
				if ref.Calls[k].Name == "" {
					ref.Calls[k].Name = tc.Function.Name
				}
				ref.Calls[k].Args += tc.Function.Arguments
			}
		}
	}
}

// TestStreamAccumulate checks that a client accumulating Ferry's events gets
// what an OpenAI client gets from the upstream: the same text, the same
// reasoning, the same tool calls with arguments that parse to the same
// JSON.
func TestStreamAccumulate(t *testing.T) {
	for _, c := range stLoadCases(t) {
		if !c.accumulate {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			out, _ := stRun(t, &c.info, c.profile, c.id, c.upstream, stRunOpts{})
			msg := stAccumulate(t, out)
			if msg.Error != "" {
				t.Skipf("ends in an error event (%s); checked by the golden file", msg.Error)
			}
			reasoning := stDefaultReasoning
			if c.profile != nil {
				reasoning = c.profile.ReasoningFields
			}
			ref := stReference(t, c.upstream, reasoning)
			var got stRef
			for _, b := range msg.Blocks {
				switch b.Type {
				case "text":
					got.Text += b.Text
				case "thinking":
					got.Thinking += b.Thinking
					if want := stWantSignature(b.Thinking); b.Signature != want {
						t.Errorf("thinking signature %q, want the marker %q", b.Signature, want)
					}
				case "tool_use":
					got.Calls = append(got.Calls, stRefCall{Name: b.Name, Args: b.JSON})
				}
			}
			if diff := cmp.Diff(ref, got, cmp.Comparer(stJSONEqual)); diff != "" {
				t.Errorf("accumulated message differs (-upstream +Ferry):\n%s", diff)
			}
			if len(got.Calls) > 0 && msg.StopReason != "tool_use" && msg.StopReason != "max_tokens" {
				t.Errorf("stop_reason %q with tool calls", msg.StopReason)
			}
		})
	}
}

// stJSONEqual compares tool arguments as JSON when both parse, else as
// text.
func stJSONEqual(a, b stRefCall) bool {
	if a.Name != b.Name {
		return false
	}
	var x, y any
	if json.Unmarshal([]byte(a.Args), &x) == nil && json.Unmarshal([]byte(b.Args), &y) == nil {
		return cmp.Equal(x, y)
	}
	return a.Args == b.Args
}

// stFeedAll drives a OpenAIToAnthropicStream with chunk data directly and returns the events.
func stFeedAll(t *testing.T, s *OpenAIToAnthropicStream, end error, chunks ...string) []byte {
	t.Helper()
	var out []byte
	for _, c := range chunks {
		s.Feed([]byte(c))
	}
	if end != io.EOF {
		s.Finish(end)
	}
	for {
		ev, ok := s.Next()
		if !ok {
			break
		}
		out = append(out, ev.Raw...)
	}
	if err := stCheck(out, s.Finished()); err != nil {
		t.Errorf("%v\n%s", err, out)
	}
	return out
}
