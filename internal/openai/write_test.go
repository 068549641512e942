package openai

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// TestAppendChatRequestMatchesReflection checks that the append-based
// writer gives the bytes encoding/json gives for the same typed fields
// (the custom marshalers of Content, Part and ToolChoice included).
func TestAppendChatRequestMatchesReflection(t *testing.T) {
	i0, i3, n := 0, 3, 2
	seed := int64(-42)
	yes, no := true, false
	empty, refusal := "", "no <way> & \u2028 \x00"
	floats := []float64{0, 1, -1, 0.7, 1e-7, 1.5e-6, 123456789, 1e21, 1e20, -2.5e-10, math.MaxFloat64, math.SmallestNonzeroFloat64}
	reqs := []ChatRequest{
		{},
		{Model: "m", Messages: []Message{}},
		{
			Model: "gpt-<x>&y", Messages: []Message{
				{Role: RoleSystem, Content: TextContent("sys \"quoted\"\n\t\xff")},
				{Role: RoleUser, Name: "bob", Content: PartsContent(TextPart(""), TextPart("hi"),
					Part{Type: PartImageURL, ImageURL: &ImageURL{URL: "data:image/png;base64,AAA", Detail: "low"}},
					Part{Type: PartFile, File: &File{FileData: "data:application/pdf;base64,AA", Filename: "a.pdf"}},
					Part{Type: PartFile, File: &File{}},
					Part{Type: PartFile, File: &File{FileID: "f1"}},
					Part{Type: PartInputAudio, InputAudio: &InputAudio{Data: "d", Format: "wav"}},
					Part{Type: PartRefusal, Refusal: "nope"})},
				{Role: RoleUser, Content: PartsContent()},
				{Role: RoleAssistant, ToolCalls: []ToolCall{
					{ID: "c1", Type: "function", Function: FunctionCall{Name: "f", Arguments: `{"a":1}`}},
					{Index: &i3, Function: FunctionCall{Arguments: `{"b`}},
					{Index: &i0},
				}, Refusal: &refusal, ReasoningContent: &empty, Reasoning: &refusal},
				{Role: RoleTool, ToolCallID: "c1", Content: TextContent("")},
			},
			MaxTokens: &n, MaxCompletionTokens: &n, N: &n, Seed: &seed,
			Stop: Stop{"a", "</b>"}, Stream: true,
			StreamOptions: &StreamOptions{IncludeUsage: true, IncludeObfuscation: &no},
			Tools: []Tool{
				{Type: "function", Function: Function{Name: "f", Description: "d", Parameters: json.RawMessage("{ \"type\" : \"object\",\n \"properties\": {\"x\": {\"enum\": [1, 2 ]}}}"), Strict: &yes}},
				{Type: "function", Function: Function{Name: "g"}},
			},
			ToolChoice:        &ToolChoice{Function: "f"},
			ParallelToolCalls: &no,
			ResponseFormat:    &ResponseFormat{Type: "json_schema", JSONSchema: &JSONSchema{Name: "o", Description: "x", Schema: json.RawMessage(` {"type": "object"} `), Strict: &yes}},
			ReasoningEffort:   "high", User: "u",
		},
		{Model: "m", ToolChoice: &ToolChoice{Mode: ToolChoiceAuto}, ResponseFormat: &ResponseFormat{Type: "text"}, StreamOptions: &StreamOptions{}},
		{Model: "m", ToolChoice: &ToolChoice{Raw: json.RawMessage(`{ "type": "allowed_tools" }`)}},
	}
	for _, f := range floats {
		f, g := f, -f
		reqs = append(reqs, ChatRequest{Model: "f", Temperature: &f, TopP: &g, PresencePenalty: &f, FrequencyPenalty: &g})
	}
	for i, r := range reqs {
		type plain ChatRequest
		want, err := marshal(plain(r))
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		got, err := Marshal(r)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestAppendChatRequestExtra(t *testing.T) {
	r := ChatRequest{Model: "m", Messages: []Message{}, Extra: map[string]json.RawMessage{
		"top_k": json.RawMessage("5"), "thinking": json.RawMessage(`{ "type": "enabled" }`), "model": json.RawMessage(`"x"`), "z": nil,
	}}
	got, err := Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"model":"m","messages":[],"thinking":{"type":"enabled"},"top_k":5,"z":null}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	r.Extra["bad"] = json.RawMessage("{")
	if _, err := Marshal(r); err == nil {
		t.Error("invalid Extra value: no error")
	}
	nan := math.NaN()
	if _, err := Marshal(ChatRequest{Temperature: &nan}); err == nil {
		t.Error("NaN: no error")
	}
}

// FuzzAppendRaw: appendRaw writes what json.Compact writes, and fails
// where it fails, whether or not its compact fast path is taken.
func FuzzAppendRaw(f *testing.F) {
	for _, s := range []string{
		`{"type":"object","properties":{"a":{"type":"string","description":"a b\t\"c\\"}}}`,
		`{ "a" : [ 1 , 2 ] }`, `[1,"x",{"y":null}]`, `"x"`, `1`, `{"a":1}x`, `{"a":"\u2028<>&"}`, `{"a":1`, `[`, `{"a":"b\\"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		if len(v) == 0 {
			return
		}
		var want bytes.Buffer
		errWant := json.Compact(&want, v)
		got, err := appendRaw([]byte("prefix:"), v)
		switch {
		case (err != nil) != (errWant != nil):
			t.Fatalf("%q: appendRaw error %v, json.Compact error %v", v, err, errWant)
		case err == nil && string(got) != "prefix:"+want.String():
			t.Fatalf("%q: appendRaw wrote %q, json.Compact %q", v, got, want.String())
		}
	})
}
