package bench

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadPrompts(t *testing.T) {
	in := `# a comment
{"prompt": "Hello \"you\""}

{"model":"claude-x","stream":true,"max_tokens":50,"system":"be brief","messages":[{"role":"user","content":"Hi"}]}
{"prompt": "Short", "max_tokens": 8}
`
	got, err := ReadPrompts(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"messages":[{"role":"user","content":"Hello \"you\""}],"max_tokens":1024}`,
		`{"max_tokens":50,"system":"be brief","messages":[{"role":"user","content":"Hi"}]}`,
		`{"max_tokens":8,"messages":[{"role":"user","content":"Short"}]}`,
	}
	var gs []string
	for _, b := range got {
		gs = append(gs, string(b))
	}
	if d := cmp.Diff(want, gs); d != "" {
		t.Fatalf("bodies (-want +got):\n%s", d)
	}
	b := withModel(got[1], "glm-4.6")
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil || v["model"] != "glm-4.6" || v["stream"] != false || v["system"] != "be brief" {
		t.Errorf("withModel: %s (%v)", b, err)
	}
}

func TestReadPromptsReportsEveryBadLine(t *testing.T) {
	in := "{\"prompt\":\"ok\"}\nnot json\n{\"prompt\":1}\n{\"prompt\":\"a\",\"messages\":[]}\n{}\n"
	_, err := ReadPrompts(strings.NewReader(in))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"line 2: not a JSON object", `line 3: "prompt" is not a string`, "line 4: want either", "line 5: want either"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := ReadPrompts(strings.NewReader("\n# nothing\n")); err == nil {
		t.Error("empty file: no error")
	}
}

func FuzzReadPrompts(f *testing.F) {
	f.Add([]byte(`{"prompt":"hi"}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":"x"}],"max_tokens":3}`))
	f.Add([]byte("# c\n\n{\"prompt\":\"\\u00e9\"}\n{"))
	f.Fuzz(func(t *testing.T, in []byte) {
		bodies, _ := ReadPrompts(strings.NewReader(string(in)))
		for _, b := range bodies {
			// Every body read is valid JSON with messages and max_tokens,
			// and stays valid with a model set.
			var v map[string]json.RawMessage
			if err := json.Unmarshal(withModel(b, "m\"x"), &v); err != nil {
				t.Fatalf("%q -> %q: %v", in, b, err)
			}
			if v["messages"] == nil || v["max_tokens"] == nil {
				t.Fatalf("%q -> %q: lacks messages or max_tokens", in, b)
			}
		}
	})
}
