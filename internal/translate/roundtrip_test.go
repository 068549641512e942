package translate

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// rtMeaning is what a request means, for the round-trip property: the
// texts in order, the tool calls (id, name, input) and the tool results
// (id, text).
type rtMeaning struct {
	texts   []string // user and assistant texts, in order
	system  []string // the system prompt and system messages
	all     string   // every text, joined
	calls   []string // id|name|compact input
	results []string // id|text
}

func rtRead(t *testing.T, body []byte) rtMeaning {
	t.Helper()
	var req struct {
		System   json.RawMessage `json:"system"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("not a request: %v\n%s", err, body)
	}
	var m rtMeaning
	sys, _ := rqInputTexts(req.System)
	for _, s := range sys {
		if !strings.HasPrefix(s, "x-anthropic-billing-header:") {
			m.system = append(m.system, s)
		}
	}
	for _, msg := range req.Messages {
		texts, _ := rqInputTexts(msg.Content)
		if msg.Role == "system" {
			m.system = append(m.system, texts...)
		} else {
			m.texts = append(m.texts, texts...)
		}
		var blocks []struct {
			Type      string          `json:"type"`
			ID        string          `json:"id"`
			Name      string          `json:"name"`
			Input     json.RawMessage `json:"input"`
			ToolUseID string          `json:"tool_use_id"`
			Content   json.RawMessage `json:"content"`
		}
		json.Unmarshal(msg.Content, &blocks)
		for _, b := range blocks {
			switch b.Type {
			case "tool_use":
				var v any
				json.Unmarshal(b.Input, &v)
				in, _ := json.Marshal(v)
				m.calls = append(m.calls, b.ID+"|"+b.Name+"|"+string(in))
			case "tool_result":
				rt, _ := rqInputTexts(b.Content)
				m.results = append(m.results, b.ToolUseID+"|"+strings.Join(rt, "\n"))
			}
		}
	}
	m.all = strings.Join(m.system, "\n") + "\n" + strings.Join(m.texts, "\n")
	return m
}

// inOrder reports whether every element of want appears in got, in order
// (turns of one role are merged, so texts may be joined).
func inOrder(want []string, got string) bool {
	for _, w := range want {
		// The API rejects a final assistant turn (a prefill) that ends in
		// whitespace, so the translator trims it.
		w = strings.TrimRightFunc(w, unicode.IsSpace)
		i := strings.Index(got, w)
		if i < 0 {
			return false
		}
		got = got[i+len(w):]
	}
	return true
}

// rtValid reports whether the generated request is one the Messages API
// accepts as a tool history: the calls of an assistant turn are answered,
// all of them and only they, by the very next turn. (The generator also
// makes invalid histories, on purpose, for the translator's repair paths;
// the round-trip property is about valid requests.)
func rtValid(body []byte) bool {
	var req struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if json.Unmarshal(body, &req) != nil {
		return false
	}
	// The API wants a conversation that starts with the user and says
	// something.
	if len(req.Messages) == 0 || req.Messages[0].Role != "user" {
		return false
	}
	var pending []string
	for _, msg := range req.Messages {
		var blocks []struct {
			Type      string `json:"type"`
			ID        string `json:"id"`
			ToolUseID string `json:"tool_use_id"`
		}
		json.Unmarshal(msg.Content, &blocks)
		var results []string
		var calls []string
		for _, b := range blocks {
			switch b.Type {
			case "tool_use":
				calls = append(calls, b.ID)
			case "tool_result":
				results = append(results, b.ToolUseID)
			}
		}
		slices.Sort(pending)
		slices.Sort(results)
		if !slices.Equal(pending, results) || len(results) > 0 && msg.Role != "user" {
			return false
		}
		pending = calls
	}
	return len(pending) == 0
}

// TestRoundTripProperty: any valid Anthropic request, translated for an
// OpenAI-compatible upstream and read back as an OpenAI client's request,
// keeps its meaning: every text in order, every tool call with its id,
// name and input, and every tool result with its call's id and text.
func TestRoundTripProperty(t *testing.T) {
	for _, name := range []string{"openai", "zhipu", "deepseek", "ollama"} {
		p := rqProfiles[name]
		valid := 0
		for seed := range uint64(2000) {
			g := &rqGen{r: rand.New(rand.NewPCG(seed, 11))}
			in := g.request()
			if !rtValid(in) {
				continue
			}
			valid++
			oai, _, err := AnthropicToOpenAIRequest(in, "m", &p)
			if err != nil {
				t.Fatalf("%s seed %d: to OpenAI: %v", name, seed, err)
			}
			back, _, err := OpenAIToAnthropicRequest(oai, goldenEnv())
			if err != nil {
				t.Fatalf("%s seed %d: back to Anthropic: %v\nopenai: %s", name, seed, err, oai)
			}
			want, got := rtRead(t, in), rtRead(t, back)
			if !inOrder(want.texts, strings.Join(got.texts, "\n")) {
				t.Fatalf("%s seed %d: texts lost or reordered\nwant %q\ngot  %q\nin:   %s\nback: %s", name, seed, want.texts, got.texts, in, back)
			}
			for _, s := range want.system {
				if !strings.Contains(got.all, s) {
					t.Fatalf("%s seed %d: system text %q lost\nin:   %s\nback: %s", name, seed, s, in, back)
				}
			}
			for _, c := range want.calls {
				if !slices.Contains(got.calls, c) {
					t.Fatalf("%s seed %d: tool call %s lost\ngot %q\nin:   %s\nback: %s", name, seed, c, got.calls, in, back)
				}
			}
			for _, r := range want.results {
				id, text, _ := strings.Cut(r, "|")
				if !slices.ContainsFunc(want.calls, func(c string) bool { return strings.HasPrefix(c, id+"|") }) {
					// A result answering no call cannot be a tool message
					// upstream: it travels as user text, and must still be there.
					if !strings.Contains(got.all, text) {
						t.Fatalf("%s seed %d: orphan tool result %s lost\nback: %s", name, seed, r, back)
					}
					continue
				}
				found := false
				for _, g := range got.results {
					gid, gtext, _ := strings.Cut(g, "|")
					if gid == id && strings.Contains(gtext, text) {
						found = true
					}
				}
				if !found {
					t.Fatalf("%s seed %d: tool result %s lost\ngot %q\nin:   %s\nback: %s", name, seed, r, got.results, in, back)
				}
			}
		}
		if valid < 100 {
			t.Errorf("%s: only %d valid requests generated", name, valid)
		}
		t.Logf("%s: %d valid requests round-tripped", name, valid)
	}
}
