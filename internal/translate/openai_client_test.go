package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/sse"
)

// The -update flag rewrites the want sections of the golden files. Other
// test files of the package may define it too; package-level variables are
// initialized before init functions run, so whichever defines it first
// wins and the golden tests read it by name.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the want sections of golden files")
	}
}

func oiUpdating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// oiGolden runs one golden test per txtar file in dir. run gets the
// archive's files by name and returns the want sections it produced, by
// name; they are compared with the archive's (or written with -update).
func oiGolden(t *testing.T, dir string, run func(t *testing.T, files map[string][]byte) map[string][]byte) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no golden files in testdata/%s", dir)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			a, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			files := map[string][]byte{}
			for _, f := range a.Files {
				files[f.Name] = f.Data
			}
			got := run(t, files)
			if oiUpdating() {
				for name, data := range got {
					if len(data) == 0 || data[len(data)-1] != '\n' {
						data = append(data, '\n')
					}
					i := slices.IndexFunc(a.Files, func(f txtar.File) bool { return f.Name == name })
					if i < 0 {
						a.Files = append(a.Files, txtar.File{Name: name, Data: data})
					} else {
						a.Files[i].Data = data
					}
				}
				if err := os.WriteFile(path, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			names := make([]string, 0, len(got))
			for name := range got {
				names = append(names, name)
			}
			slices.Sort(names)
			for _, name := range names {
				want, ok := files[name]
				if !ok {
					t.Errorf("section %s missing (run with -update to write it)", name)
					continue
				}
				g := got[name]
				if len(g) == 0 || g[len(g)-1] != '\n' {
					g = append(g, '\n')
				}
				if diff := cmp.Diff(string(want), string(g)); diff != "" {
					t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}

// oiIndent pretty-prints JSON for a golden file (keeping member order), or
// returns b as is when it is not JSON.
func oiIndent(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return b
	}
	return buf.Bytes()
}

// oiReadInfo decodes an info section (Go field names) into dst.
func oiReadInfo(t *testing.T, files map[string][]byte, dst any) {
	t.Helper()
	if b, ok := files["info.json"]; ok {
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("info.json: %v", err)
		}
	}
}

// oiFuzzing reports whether t runs a fuzz target (its name starts with
// "Fuzz").
func oiFuzzing(t testing.TB) bool { return strings.HasPrefix(t.Name(), "Fuzz") }

// oiFeedAll parses an SSE input and feeds it, draining after each event;
// end says how the upstream ends: "eof" (default), "error", or "none".
func oiFeedAll(t testing.TB, in []byte, end string, feed func(sse.Event), finish func(error), next func() ([]byte, bool)) []byte {
	var out []byte
	drain := func() {
		for {
			f, ok := next()
			if !ok {
				return
			}
			out = append(out, f...)
		}
	}
	rd := sse.NewReader(bytes.NewReader(in), 0)
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			// A stream that breaks off mid-frame (fuzz inputs): the
			// upstream failed.
			if _, golden := t.(*testing.T); golden && !oiFuzzing(t) {
				t.Fatalf("reading the input stream: %v", err)
			}
			finish(err)
			drain()
			return out
		}
		feed(ev)
		drain()
	}
	switch strings.TrimSpace(end) {
	case "", "eof":
		finish(nil)
	case "error":
		finish(errors.New("read tcp 10.0.0.1:443: connection reset by peer"))
	case "none":
	default:
		t.Fatalf("unknown end %q", end)
	}
	drain()
	return out
}

// TestOpenAIInGolden runs the golden files in testdata/openai_in. The kind
// of case follows from its input section:
//
//	request.json          → OpenAIToAnthropicRequest; want anthropic.json + info.json, or error
//	message.json          → AnthropicToOpenAIResponse (info.json: the OpenAIRequestInfo); want openai.json
//	status + error.json   → AnthropicToOpenAIError; want openai.json
//	anthropic.sse         → AnthropicToOpenAIStream (info.json; end: eof|error|none); want openai.sse
func TestOpenAIInGolden(t *testing.T) {
	oiGolden(t, "openai_in", func(t *testing.T, files map[string][]byte) map[string][]byte {
		switch {
		case files["request.json"] != nil:
			body, info, err := OpenAIToAnthropicRequest(files["request.json"], Env{}) // Created 0, as info.json shows
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v is not a *Error", err)
				}
				if body != nil || info != nil {
					t.Errorf("error with a body or info")
				}
				return map[string][]byte{"error": []byte(err.Error())}
			}
			oiCheckAnthropicBody(t, body)
			ib, _ := json.MarshalIndent(info, "", "  ")
			return map[string][]byte{"anthropic.json": oiIndent(body), "info.json": ib}
		case files["message.json"] != nil:
			var info OpenAIRequestInfo
			oiReadInfo(t, files, &info)
			out, err := AnthropicToOpenAIResponse(files["message.json"], &info)
			if err != nil {
				return map[string][]byte{"error": []byte(err.Error())}
			}
			if !json.Valid(out) {
				t.Fatalf("invalid JSON: %s", out)
			}
			return map[string][]byte{"openai.json": oiIndent(out)}
		case files["error.json"] != nil:
			status, err := strconv.Atoi(strings.TrimSpace(string(files["status"])))
			if err != nil {
				t.Fatal(err)
			}
			out := AnthropicToOpenAIError(status, bytes.TrimSpace(files["error.json"]))
			if !json.Valid(out) {
				t.Fatalf("invalid JSON: %s", out)
			}
			return map[string][]byte{"openai.json": oiIndent(out)}
		case files["anthropic.sse"] != nil:
			var info OpenAIRequestInfo
			oiReadInfo(t, files, &info)
			s := NewAnthropicToOpenAIStream(&info)
			end := string(files["end"])
			out := oiFeedAll(t, files["anthropic.sse"], end, s.Feed, s.Finish, s.Next)
			if err := oiCheckOpenAIFrames(out, strings.TrimSpace(end) != "none"); err != nil {
				t.Errorf("malformed output: %v\n%s", err, out)
			}
			return map[string][]byte{"openai.sse": out}
		}
		t.Fatal("no input section")
		return nil
	})
}

// oiCheckAnthropicBody checks a translated request the way the gateway
// routes it.
func oiCheckAnthropicBody(t testing.TB, body []byte) {
	t.Helper()
	if !json.Valid(body) || !utf8.Valid(body) {
		t.Fatalf("translated body is not valid JSON/UTF-8: %q", body)
	}
	if _, err := anthropic.Inspect(body); err != nil {
		t.Fatalf("translated body fails Inspect: %v\n%s", err, body)
	}
}

// oiCheckOpenAIFrames checks an OpenAI stream: every frame is "data: X\n\n"
// with X "[DONE]" or a one-line JSON object; the role chunk comes first;
// chunks carry id, object, created and model; an error chunk or [DONE] is
// the last frame; and if ended, there is one.
func oiCheckOpenAIFrames(out []byte, ended bool) error {
	if !utf8.Valid(out) {
		return errors.New("output is not valid UTF-8")
	}
	if len(out) == 0 {
		if ended {
			return errors.New("ended stream has no frames")
		}
		return nil
	}
	if !bytes.HasSuffix(out, []byte("\n\n")) {
		return errors.New("output does not end with a frame boundary")
	}
	frames := strings.Split(string(out[:len(out)-2]), "\n\n")
	terminal := false
	chunks := 0
	for i, f := range frames {
		if terminal {
			return fmt.Errorf("frame %d after the terminal frame: %q", i, f)
		}
		data, ok := strings.CutPrefix(f, "data: ")
		if !ok || strings.ContainsAny(data, "\r\n") {
			return fmt.Errorf("frame %d is not one data line: %q", i, f)
		}
		if data == "[DONE]" {
			terminal = true
			continue
		}
		var c struct {
			ID      *string `json:"id"`
			Object  string  `json:"object"`
			Created *int64  `json:"created"`
			Model   *string `json:"model"`
			Choices []struct {
				Delta        map[string]json.RawMessage `json:"delta"`
				FinishReason *string                    `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				PromptTokens *int64 `json:"prompt_tokens"`
			} `json:"usage"`
			Error *struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			return fmt.Errorf("frame %d: %v: %q", i, err, data)
		}
		if c.Error != nil {
			if c.Error.Message == "" || c.Error.Type == "" {
				return fmt.Errorf("frame %d: error without message or type", i)
			}
			terminal = true
			continue
		}
		if c.ID == nil || c.Object != "chat.completion.chunk" || c.Created == nil || c.Model == nil {
			return fmt.Errorf("frame %d lacks id/object/created/model: %q", i, data)
		}
		if chunks == 0 && (len(c.Choices) != 1 || string(c.Choices[0].Delta["role"]) != `"assistant"`) {
			return fmt.Errorf("first chunk is not the role chunk: %q", data)
		}
		if len(c.Choices) == 0 && (c.Usage == nil || c.Usage.PromptTokens == nil) {
			return fmt.Errorf("frame %d has neither a choice nor usage", i)
		}
		chunks++
	}
	if ended && !terminal {
		return errors.New("ended stream has no terminal frame")
	}
	return nil
}

// A 2 KB request with tools, a tool call and its result, and an image.
const oiBenchRequest = `{"model":"gpt-4o","messages":[` +
	`{"role":"system","content":"You are a helpful assistant that answers questions about the weather. Be concise and use metric units unless asked otherwise."},` +
	`{"role":"user","content":[{"type":"text","text":"What is the weather like in Paris today? Also, here is a picture of the sky."},{"type":"image_url","image_url":{"url":"https://example.com/sky.png","detail":"low"}}]},` +
	`{"role":"assistant","content":"Let me check the current conditions for you.","tool_calls":[{"id":"call_abc123","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"units\":\"metric\"}"}},{"id":"call_def456","type":"function","function":{"name":"get_forecast","arguments":"{\"city\":\"Paris\",\"days\":3}"}}]},` +
	`{"role":"tool","tool_call_id":"call_abc123","content":"{\"temperature\":18,\"conditions\":\"partly cloudy\",\"humidity\":0.62,\"wind_kph\":14}"},` +
	`{"role":"tool","tool_call_id":"call_def456","content":"{\"days\":[{\"high\":19,\"low\":11},{\"high\":21,\"low\":12},{\"high\":17,\"low\":10}]}"},` +
	`{"role":"assistant","content":"It is 18°C and partly cloudy in Paris, with highs of 17-21°C over the next three days."},` +
	`{"role":"user","content":"Great, and what should I wear for a walk along the Seine this evening?"}],` +
	`"tools":[{"type":"function","function":{"name":"get_weather","description":"Get the current weather for a city.","parameters":{"type":"object","properties":{"city":{"type":"string","description":"The city name, e.g. Paris"},"units":{"type":"string","enum":["metric","imperial"]}},"required":["city"]}}},` +
	`{"type":"function","function":{"name":"get_forecast","description":"Get the forecast for the next days.","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1,"maximum":10}},"required":["city","days"]}}}],` +
	`"tool_choice":"auto","parallel_tool_calls":true,"max_completion_tokens":1024,"temperature":0.7,"top_p":0.9,"stop":["\n\nUser:"],"user":"user-1234","stream":true,"stream_options":{"include_usage":true},"seed":42,"presence_penalty":0.1}`

func BenchmarkOpenAIInRequest(b *testing.B) {
	body := []byte(oiBenchRequest)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := OpenAIToAnthropicRequest(body, goldenEnv()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenAIInStream measures one text_delta event in, one chunk out.
func BenchmarkOpenAIInStream(b *testing.B) {
	s := NewAnthropicToOpenAIStream(&OpenAIRequestInfo{Model: "gpt-4o", Created: 1700000000, IncludeUsage: true})
	s.Feed(sse.Event{Name: []byte("message_start"), Data: []byte(`{"type":"message_start","message":{"model":"claude-sonnet-4-20250514","id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`)})
	s.Feed(sse.Event{Name: []byte("content_block_start"), Data: []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)})
	for {
		if _, ok := s.Next(); !ok {
			break
		}
	}
	ev := sse.Event{Name: []byte("content_block_delta"), Data: []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello! How can I help you with the weather today? 你好 👋"}     }`)}
	b.SetBytes(int64(len(ev.Data)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		s.Feed(ev)
		for {
			f, ok := s.Next()
			if !ok {
				break
			}
			n += len(f)
		}
	}
	if n == 0 {
		b.Fatal("no output")
	}
}

func TestOpenAIInStreamAllocs(t *testing.T) {
	s := NewAnthropicToOpenAIStream(&OpenAIRequestInfo{Model: "gpt-4o", Created: 1700000000})
	s.Feed(sse.Event{Name: []byte("message_start"), Data: []byte(`{"type":"message_start","message":{"id":"msg_1","model":"m","usage":{"input_tokens":3}}}`)})
	s.Feed(sse.Event{Name: []byte("content_block_start"), Data: []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)})
	ev := sse.Event{Name: []byte("content_block_delta"), Data: []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`)}
	drain := func() {
		for {
			if _, ok := s.Next(); !ok {
				return
			}
		}
	}
	drain()
	if n := testing.AllocsPerRun(100, func() { s.Feed(ev); drain() }); n != 0 {
		t.Errorf("a text delta costs %v allocations, want 0", n)
	}
}

// Round trip: an Anthropic answer with tool calls goes to the OpenAI
// client, which sends the calls back with their results; the Anthropic
// request answers each tool_use id.
func TestOpenAIInToolRoundTrip(t *testing.T) {
	msg := `{"id":"msg_01","type":"message","role":"assistant","model":"claude","content":[` +
		`{"type":"text","text":"Checking both."},` +
		`{"type":"tool_use","id":"toolu_A","name":"get_weather","input":{"city":"Paris"}},` +
		`{"type":"tool_use","id":"toolu_B","name":"get_weather","input":{"city":"Rome","units":"c"}}],` +
		`"stop_reason":"tool_use","usage":{"input_tokens":10,"output_tokens":5}}`
	out, err := AnthropicToOpenAIResponse([]byte(msg), &OpenAIRequestInfo{Model: "gpt-4o", Created: 1})
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Choices []struct {
			Message      json.RawMessage `json:"message"`
			FinishReason string          `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("finish_reason %q", resp.Choices[0].FinishReason)
	}
	req := `{"model":"gpt-4o","messages":[{"role":"user","content":"Weather in Paris and Rome?"},` + string(resp.Choices[0].Message) +
		`,{"role":"tool","tool_call_id":"toolu_B","content":"21C"},{"role":"tool","tool_call_id":"toolu_A","content":"18C"}]}`
	body, _, err := OpenAIToAnthropicRequest([]byte(req), goldenEnv())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Messages []struct {
			Role    string `json:"role"`
			Content []struct {
				Type      string          `json:"type"`
				Text      string          `json:"text"`
				ID        string          `json:"id"`
				Input     json.RawMessage `json:"input"`
				ToolUseID string          `json:"tool_use_id"`
				Content   string          `json:"content"`
			} `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 3 {
		t.Fatalf("messages: %s", body)
	}
	a, u := got.Messages[1], got.Messages[2]
	if a.Role != "assistant" || len(a.Content) != 3 || a.Content[0].Text != "Checking both." ||
		a.Content[1].ID != "toolu_A" || string(a.Content[1].Input) != `{"city":"Paris"}` ||
		a.Content[2].ID != "toolu_B" || string(a.Content[2].Input) != `{"city":"Rome","units":"c"}` {
		t.Errorf("assistant turn: %s", body)
	}
	if u.Role != "user" || len(u.Content) != 2 || u.Content[0].ToolUseID != "toolu_B" || u.Content[0].Content != "21C" ||
		u.Content[1].ToolUseID != "toolu_A" || u.Content[1].Content != "18C" {
		t.Errorf("user turn: %s", body)
	}
}

// TestOpenAIInStreamMatchesResponse: a stream and the message it streams
// translate to the same content, reasoning and tool calls.
func TestOpenAIInStreamMatchesResponse(t *testing.T) {
	a, err := txtar.ParseFile("../../testdata/anthropic/stream_thinking_tool.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var in []byte
	for _, f := range a.Files {
		if f.Name == "body" {
			in = f.Data
		}
	}
	s := NewAnthropicToOpenAIStream(&OpenAIRequestInfo{Model: "m", Created: 1})
	out := oiFeedAll(t, in, "eof", s.Feed, s.Finish, s.Next)
	content, reasoning, calls := oiAccumulate(t, out)
	if reasoning != "The user is asking for the weather in Florence, Italy. I should call the weather tool." || content != "" {
		t.Errorf("content %q reasoning %q", content, reasoning)
	}
	want := []string{`toolu_01Js4AMfx5qpTLhwTusnvT68 weather {"location":"Florence, Italy"}`}
	if !cmp.Equal(calls, want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
}

// oiAccumulate rebuilds content, reasoning and tool calls ("id name args")
// from OpenAI chunks, as the OpenAI SDK's accumulator does.
func oiAccumulate(t *testing.T, out []byte) (content, reasoning string, calls []string) {
	t.Helper()
	type call struct{ id, name, args string }
	var cs []call
	for f := range strings.SplitSeq(strings.TrimSuffix(string(out), "\n\n"), "\n\n") {
		data := strings.TrimPrefix(f, "data: ")
		if data == "[DONE]" {
			break
		}
		var c struct {
			Choices []struct {
				Delta struct {
					Content   string `json:"content"`
					Reasoning string `json:"reasoning_content"`
					ToolCalls []struct {
						Index    int    `json:"index"`
						ID       string `json:"id"`
						Function struct {
							Name      string `json:"name"`
							Arguments string `json:"arguments"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatal(err)
		}
		for _, ch := range c.Choices {
			content += ch.Delta.Content
			reasoning += ch.Delta.Reasoning
			for _, tc := range ch.Delta.ToolCalls {
				for len(cs) <= tc.Index {
					cs = append(cs, call{})
				}
				if tc.ID != "" {
					cs[tc.Index].id = tc.ID
				}
				cs[tc.Index].name += tc.Function.Name
				cs[tc.Index].args += tc.Function.Arguments
			}
		}
	}
	for _, c := range cs {
		calls = append(calls, c.id+" "+c.name+" "+c.args)
	}
	return content, reasoning, calls
}

// oiItem is one piece of conversation content, for the property test.
type oiItem struct {
	Kind string // text, image, tool_use, tool_result
	Role string // user or assistant
	A, B string // text; url/data; id+name; id
	JSON string // tool_use input, normalized
}

// oiGen builds random OpenAI requests and what they must translate to.
type oiGen struct {
	r      *rand.Rand
	system []string
	items  []oiItem
	n      int
}

func (g *oiGen) text() string {
	pieces := []string{"", "hello", "Ünïcödé ✓", "line\nbreak", `"quoted" \ back`, "\n\nHuman: not a marker", "<b>&amp;</b>", "👋🏽", " padded ", "tab\there", " \n\t"}
	var sb strings.Builder
	for range g.r.IntN(3) {
		sb.WriteString(pieces[g.r.IntN(len(pieces))])
	}
	return sb.String()
}

func (g *oiGen) id() string {
	g.n++
	return "call_" + strconv.Itoa(g.n)
}

// content returns a content value (string or parts) and records its items.
func (g *oiGen) content(role string, images bool) any {
	if g.r.IntN(2) == 0 {
		s := g.text()
		if strings.TrimSpace(s) != "" {
			g.items = append(g.items, oiItem{Kind: "text", Role: role, A: s})
		}
		return s
	}
	var parts []map[string]any
	for range g.r.IntN(4) {
		if images && g.r.IntN(3) == 0 {
			url := "https://example.com/" + strconv.Itoa(g.r.IntN(100)) + ".png"
			item := oiItem{Kind: "image", Role: role, A: url}
			if g.r.IntN(2) == 0 {
				url = "data:image/png;base64,iVBORw0KGgo" + strconv.Itoa(g.r.IntN(100))
				item.A = "image/png;iVBORw0KGgo" + url[len("data:image/png;base64,iVBORw0KGgo"):]
			}
			g.items = append(g.items, item)
			parts = append(parts, map[string]any{"type": "image_url", "image_url": map[string]any{"url": url, "detail": "auto"}})
			continue
		}
		s := g.text()
		if strings.TrimSpace(s) != "" {
			g.items = append(g.items, oiItem{Kind: "text", Role: role, A: s})
		}
		parts = append(parts, map[string]any{"type": "text", "text": s})
	}
	return parts
}

// request returns a random request body.
func (g *oiGen) request() []byte {
	var msgs []map[string]any
	if g.r.IntN(2) == 0 {
		s := g.text()
		if strings.TrimSpace(s) != "" {
			g.system = append(g.system, s)
		}
		msgs = append(msgs, map[string]any{"role": "system", "content": s})
	}
	for range 1 + g.r.IntN(6) {
		switch g.r.IntN(5) {
		case 0, 1:
			msgs = append(msgs, map[string]any{"role": "user", "content": g.content("user", true)})
		case 2:
			s := g.text()
			if strings.TrimSpace(s) != "" {
				g.system = append(g.system, s)
			}
			msgs = append(msgs, map[string]any{"role": "developer", "content": []map[string]any{{"type": "text", "text": s}}})
		default:
			m := map[string]any{"role": "assistant"}
			if g.r.IntN(3) > 0 {
				m["content"] = g.content("assistant", false)
			} else {
				m["content"] = nil
			}
			n := g.r.IntN(4)
			if n == 0 {
				msgs = append(msgs, m)
				continue
			}
			var calls []map[string]any
			var ids []string
			for range n {
				id := g.id()
				ids = append(ids, id)
				args := map[string]any{"q": g.text(), "n": g.r.IntN(10)}
				aj, _ := json.Marshal(args)
				g.items = append(g.items, oiItem{Kind: "tool_use", Role: "assistant", A: id + " tool" + strconv.Itoa(n), JSON: string(aj)})
				calls = append(calls, map[string]any{"id": id, "type": "function", "function": map[string]any{"name": "tool" + strconv.Itoa(n), "arguments": string(aj)}})
			}
			m["tool_calls"] = calls
			msgs = append(msgs, m)
			if g.r.IntN(2) == 0 {
				g.r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			}
			for _, id := range ids {
				s := g.text()
				b := s
				if strings.TrimSpace(s) == "" {
					b = "" // a blank result carries no content
				}
				g.items = append(g.items, oiItem{Kind: "tool_result", Role: "user", A: id, B: b})
				msgs = append(msgs, map[string]any{"role": "tool", "tool_call_id": id, "content": s})
			}
		}
	}
	if len(g.items) == 0 {
		g.items = append(g.items, oiItem{Kind: "text", Role: "user", A: "fallback"})
		msgs = append(msgs, map[string]any{"role": "user", "content": "fallback"})
	}
	req := map[string]any{"model": "gpt-4o", "messages": msgs}
	if g.r.IntN(2) == 0 {
		req["tools"] = []map[string]any{{"type": "function", "function": map[string]any{"name": "tool1", "parameters": map[string]any{"type": "object"}}}}
	}
	b, err := json.Marshal(req)
	if err != nil {
		panic(err)
	}
	return b
}

// oiReadBack is the property test's own reading of an Anthropic request
// body: its system prompt and content items, checking the structure rules
// on the way.
func oiReadBack(body []byte) (system string, items []oiItem, err error) {
	var req struct {
		System   string `json:"system"`
		Messages []struct {
			Role    string `json:"role"`
			Content []struct {
				Type      string          `json:"type"`
				Text      string          `json:"text"`
				ID        string          `json:"id"`
				Name      string          `json:"name"`
				Input     json.RawMessage `json:"input"`
				ToolUseID string          `json:"tool_use_id"`
				Content   json.RawMessage `json:"content"`
			} `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return "", nil, err
	}
	// Source fields are snake_case in JSON.
	var raw struct {
		Messages []struct {
			Content []struct {
				Source map[string]string `json:"source"`
			} `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return "", nil, err
	}
	var pending []string // tool_use ids of the previous assistant turn
	for i, m := range req.Messages {
		if i > 0 && req.Messages[i-1].Role == m.Role {
			return "", nil, fmt.Errorf("turns %d and %d are both %s", i-1, i, m.Role)
		}
		if m.Role != "user" && m.Role != "assistant" {
			return "", nil, fmt.Errorf("turn %d has role %q", i, m.Role)
		}
		if len(m.Content) == 0 {
			return "", nil, fmt.Errorf("turn %d is empty", i)
		}
		var results []string
		seenOther := false
		for j, b := range m.Content {
			switch b.Type {
			case "text":
				if b.Text == "" {
					return "", nil, fmt.Errorf("turn %d block %d: empty text", i, j)
				}
				items = append(items, oiItem{Kind: "text", Role: m.Role, A: b.Text})
				seenOther = true
			case "image":
				src := raw.Messages[i].Content[j].Source
				item := oiItem{Kind: "image", Role: m.Role}
				if src["type"] == "url" {
					item.A = src["url"]
				} else {
					item.A = src["media_type"] + ";" + src["data"]
				}
				items = append(items, item)
				seenOther = true
			case "tool_use":
				if m.Role != "assistant" {
					return "", nil, fmt.Errorf("turn %d: tool_use in a %s turn", i, m.Role)
				}
				var v any
				if err := json.Unmarshal(b.Input, &v); err != nil {
					return "", nil, err
				}
				if _, ok := v.(map[string]any); !ok {
					return "", nil, fmt.Errorf("tool_use input %s is not an object", b.Input)
				}
				nj, _ := json.Marshal(v)
				items = append(items, oiItem{Kind: "tool_use", Role: m.Role, A: b.ID + " " + b.Name, JSON: string(nj)})
			case "tool_result":
				if m.Role != "user" || seenOther {
					return "", nil, fmt.Errorf("turn %d: tool_result after other blocks or in a %s turn", i, m.Role)
				}
				var s string
				if len(b.Content) > 0 {
					if err := json.Unmarshal(b.Content, &s); err != nil {
						return "", nil, fmt.Errorf("tool_result content %s: %v", b.Content, err)
					}
				}
				items = append(items, oiItem{Kind: "tool_result", Role: m.Role, A: b.ToolUseID, B: s})
				results = append(results, b.ToolUseID)
			default:
				return "", nil, fmt.Errorf("turn %d: block type %q", i, b.Type)
			}
		}
		if m.Role == "user" {
			// Every call of the previous assistant turn is answered here.
			a, r := slices.Clone(pending), slices.Clone(results)
			slices.Sort(a)
			slices.Sort(r)
			if !slices.Equal(a, r) {
				return "", nil, fmt.Errorf("turn %d answers %v, the calls were %v", i, results, pending)
			}
			pending = nil
		} else {
			pending = nil
			for _, b := range m.Content {
				if b.Type == "tool_use" {
					pending = append(pending, b.ID)
				}
			}
		}
	}
	return req.System, items, nil
}

// TestOpenAIInProperty: for random requests (text, images, tools, tool
// calls and results, system and developer messages), the Anthropic body
// keeps every text in order, answers every tool call in the next turn, and
// alternates roles.
func TestOpenAIInProperty(t *testing.T) {
	for seed := range 2000 {
		g := &oiGen{r: rand.New(rand.NewPCG(uint64(seed), 7))}
		body := g.request()
		out, _, err := OpenAIToAnthropicRequest(body, goldenEnv())
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, body)
		}
		oiCheckAnthropicBody(t, out)
		system, items, err := oiReadBack(out)
		if err != nil {
			t.Fatalf("seed %d: %v\nin:  %s\nout: %s", seed, err, body, out)
		}
		if want := strings.Join(g.system, "\n\n"); system != want {
			t.Fatalf("seed %d: system %q, want %q", seed, system, want)
		}
		// A final assistant text is a prefill, which loses its trailing
		// whitespace.
		if n := len(g.items); n > 0 && g.items[n-1].Kind == "text" && g.items[n-1].Role == "assistant" {
			g.items[n-1].A = strings.TrimRightFunc(g.items[n-1].A, unicode.IsSpace)
		}
		if diff := cmp.Diff(g.items, items); diff != "" {
			t.Fatalf("seed %d: items differ (-want +got):\n%s\nin:  %s\nout: %s", seed, diff, body, out)
		}
	}
}

func FuzzOpenAIIn(f *testing.F) {
	oiSeed(f, "openai_in")
	f.Fuzz(func(t *testing.T, body, stream []byte) {
		if out, info, err := OpenAIToAnthropicRequest(body, goldenEnv()); err == nil {
			oiCheckAnthropicBody(t, out)
			if info == nil || info.Model == "" {
				t.Fatalf("info %+v", info)
			}
		} else if _, ok := err.(*Error); !ok {
			t.Fatalf("error %T %v is not a *Error", err, err)
		}
		if out, err := AnthropicToOpenAIResponse(body, &OpenAIRequestInfo{Model: "m", Created: 1}); err == nil {
			if !json.Valid(out) || !utf8.Valid(out) {
				t.Fatalf("AnthropicToOpenAIResponse: invalid output %q", out)
			}
		}
		for _, status := range []int{400, 529} {
			out := AnthropicToOpenAIError(status, body)
			var e struct {
				Error struct{ Message, Type string }
			}
			if err := json.Unmarshal(out, &e); err != nil || e.Error.Message == "" || e.Error.Type == "" || !utf8.Valid(out) {
				t.Fatalf("AnthropicToOpenAIError(%d, %q) = %q", status, body, out)
			}
		}
		end := "eof"
		if len(stream)%3 == 1 {
			end = "error"
		}
		for _, usage := range []bool{false, true} {
			s := NewAnthropicToOpenAIStream(&OpenAIRequestInfo{Model: "m\xff", Created: 1, IncludeUsage: usage})
			out := oiFeedAll(t, stream, end, s.Feed, s.Finish, s.Next)
			if err := oiCheckOpenAIFrames(out, true); err != nil {
				t.Fatalf("%v\n%q", err, out)
			}
		}
	})
}

// oiSeed adds the golden inputs of testdata/dir to a fuzz corpus, as
// (request body, stream) pairs.
func oiSeed(f *testing.F, dir string) {
	paths, _ := filepath.Glob(filepath.Join("testdata", dir, "*.txtar"))
	for _, p := range paths {
		a, err := txtar.ParseFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range a.Files {
			switch file.Name {
			case "request.json", "message.json", "error.json":
				f.Add(file.Data, []byte(nil))
			case "anthropic.sse":
				f.Add([]byte(nil), file.Data)
			}
		}
	}
}

// TestOpenAIInNilInfo: a nil info is allowed: created is 0, the model is
// the upstream's; events without a name are read by their data's type.
func TestOpenAIInNilInfo(t *testing.T) {
	out, err := AnthropicToOpenAIResponse([]byte(`{"id":"msg_1","type":"message","model":"claude-x","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Created int64
		Model   string
	}
	if err := json.Unmarshal(out, &r); err != nil || r.Created != 0 || r.Model != "claude-x" {
		t.Errorf("%s: %+v %v", out, r, err)
	}

	s := NewAnthropicToOpenAIStream(nil)
	for _, d := range []string{
		`{"type":"message_start","message":{"id":"msg_2","model":"claude-y"}}`,
		`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Hel"}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}`,
		`{"type":"message_delta","delta":{"stop_reason":"end_turn"}}`,
		`{"type":"message_stop"}`,
	} {
		s.Feed(sse.Event{Data: []byte(d)})
	}
	s.Finish(nil)
	var all []byte
	for {
		f, ok := s.Next()
		if !ok {
			break
		}
		all = append(all, f...)
	}
	if err := oiCheckOpenAIFrames(all, true); err != nil {
		t.Fatal(err)
	}
	content, _, _ := oiAccumulate(t, all)
	if content != "Hello" || !bytes.Contains(all, []byte(`"model":"claude-y"`)) || !bytes.HasSuffix(all, []byte("data: [DONE]\n\n")) {
		t.Errorf("stream:\n%s", all)
	}
}

// TestOpenAIInEnv: created is the Env's time when the request was
// translated, and an answer without an id gets the Env's id.
func TestOpenAIInEnv(t *testing.T) {
	_, info, err := OpenAIToAnthropicRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`), goldenEnv())
	if err != nil {
		t.Fatal(err)
	}
	out, err := AnthropicToOpenAIResponse([]byte(`{"type":"message","model":"claude-x","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}`), info)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		ID      string
		Created int64
	}
	if err := json.Unmarshal(out, &r); err != nil || r.Created != 1700000000 || r.ID != "chatcmpl-RANDOM" {
		t.Errorf("%s: %+v %v", out, r, err)
	}
}
