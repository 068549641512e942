package translate

// OpenAI clients: property tests over generated requests, the fuzz target
// and the nil-info and Env cases.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/ferrygw/ferry/internal/sse"
)

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
