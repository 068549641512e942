package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/sse"
	"github.com/ferrygw/ferry/internal/testkit"
)

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
			if testkit.Updating() {
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
