package anthropic

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/testbody"
)

// decodeBoth decodes b into a fresh *T with the fast paths on and off and
// fails unless the results and errors are identical.
func decodeBoth[T any](t *testing.T, b []byte) {
	t.Helper()
	var fast, slow T
	errFast := json.Unmarshal(b, &fast)
	slowDecode = true
	errSlow := json.Unmarshal(b, &slow)
	slowDecode = false
	if !reflect.DeepEqual(errFast, errSlow) {
		t.Fatalf("%T %q:\nfast error %#v\nslow error %#v", fast, b, errFast, errSlow)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%T %q:\nfast %#v\nslow %#v", fast, b, fast, slow)
	}
}

func decodeAll(t *testing.T, b []byte) {
	t.Helper()
	decodeBoth[MessageRequest](t, b)
	decodeBoth[[]ContentBlock](t, b)
	decodeBoth[ContentBlock](t, b)
	decodeBoth[Content](t, b)
	decodeBoth[[]Tool](t, b)
	decodeBoth[Tool](t, b)
}

var decodeSeeds = []string{
	`{"type":"text","text":"hi"}`,
	`{"type":"text","text":"hi","text":"ho"}`,
	`{"type":"text","Text":"hi"}`,
	`{"TYPE":"text","text":"hi"}`,
	`{"type":"text","text":null}`,
	`{"type":"text","text":5}`,
	`{"type":5}`,
	`{"type":null,"text":"x"}`,
	`{"type":"te\u0078t","t\u0065xt":"a\ud800b\u00e9"}`,
	`{"type":"text","text":"\xff\xfe"}`,
	`{"type":"text","citations":null,"cache_control":{"type":"ephemeral"}}`,
	`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}`,
	`{"type":"image","source":"x"}`,
	`{"type":"image","source":null}`,
	`{"type":"document","source":{"type":"content","content":[{"type":"text","text":"a"}]},"title":"t","context":"c"}`,
	`{"type":"document","source":{"type":"content","content":5}}`,
	`{"type":"search_result","source":"https://x","title":"t","content":[{"type":"text","text":"a"}]}`,
	`{"type":"web_search_tool_result","tool_use_id":"x","content":{"type":"web_search_tool_result_error","error_code":"x"}}`,
	`{"type":"tool_use","id":"a","name":"b","input":{"x":[1,2,{"y":"]"}]}}`,
	`{"type":"tool_use","id":"a","name":"b","input":null}`,
	`{"type":"tool_result","tool_use_id":"a","content":"s","is_error":true}`,
	`{"type":"tool_result","tool_use_id":"a","content":[ {"type":"text","text":"a,b]"} , {"type":"image","source":{"type":"url","url":"u"}} ],"is_error":false}`,
	`{"type":"tool_result","tool_use_id":"a","content":null}`,
	`{"type":"tool_result","tool_use_id":"a","content":{}}`,
	`{"type":"tool_result","tool_use_id":"a","content":[1]}`,
	`{"type":"tool_result","tool_use_id":"a","content":[{"type":"text","text":1}]}`,
	`{"type":"tool_result","tool_use_id":"a","is_error":null}`,
	`{"type":"tool_result","tool_use_id":"a","is_error":"yes"}`,
	`{"type":"thinking","thinking":"t","signature":"s"}`,
	`{"type":"redacted_thinking","data":"d"}`,
	`{"type":"text","\u017fignature":"s","ſignature":"s"}`,
	`{"type":"text","\u212aey":"s"}`,
	`{}`, `null`, `"str"`, `[]`, `[ ]`, `5`, `true`,
	`[{"type":"text","text":"a"},{"type":"foo","x":[1,"\"]"]}, null, "s", 5]`,
	`[{"type":"text","text":"a"},{"type":"text","text":{}}]`,
	`[[1,2],{"a":"b\\"}]`,
	`{"name":"t","description":"d","input_schema":{"type":"object"},"strict":true,"cache_control":{"type":"ephemeral"}}`,
	`{"type":"custom","name":"t","input_schema":{"type":"object"},"strict":false}`,
	`{"name":"t","strict":null}`,
	`{"name":"t","strict":1}`,
	`{"name":5}`,
	`{"type":"web_search_20250305","name":"web_search","max_uses":5}`,
	`{"type":"bash_20250124","name":5}`,
	`{"type":"bash_20250124","Name":"x","name":"y"}`,
	`{"type":"","name":"x","input_schema":"s"}`,
	`{"model":"m","max_tokens":5,"system":"s","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"text","text":"x"}]}],"tools":[{"name":"a","input_schema":{}},{"type":"web_search_20250305","name":"w"}]}`,
	`{"model":"m","system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":[{"type":"text","text":5}]}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":5}]}`,
	`{"model":"m","messages":[{"role":"user","content":{"type":"text"}}]}`,
	`{"model":"m","tools":[{"name":"a","description":7}]}`,
	`{"model":"m","tools":[{"type":"x","name":7}]}`,
}

// txtarFiles returns the anthropic.json sections of the translate goldens.
func txtarFiles(t testing.TB) [][]byte {
	names, _ := filepath.Glob("../translate/testdata/*/*.txtar")
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range strings.Split(string(b), "\n-- ")[1:] {
			name, body, _ := strings.Cut(sec, "\n")
			if strings.HasSuffix(strings.TrimSuffix(name, " --"), ".json") {
				out = append(out, []byte(body))
			}
		}
	}
	return out
}

func TestDecodeFastMatchesSlow(t *testing.T) {
	for _, s := range decodeSeeds {
		decodeAll(t, []byte(s))
	}
	files := txtarFiles(t)
	if len(files) == 0 {
		t.Fatal("no golden bodies found")
	}
	for _, b := range files {
		decodeAll(t, b)
		// Each message and tool on its own, too.
		var raw struct {
			Messages []struct{ Content json.RawMessage }
			Tools    []json.RawMessage
		}
		if json.Unmarshal(b, &raw) == nil {
			for _, m := range raw.Messages {
				decodeAll(t, m.Content)
			}
			for _, tool := range raw.Tools {
				decodeAll(t, tool)
			}
		}
	}
}

func FuzzDecodeFast(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeAll(t, b) // invalid bodies too: the errors must match
	})
}

// TestDecodeFastTaken checks that the fast paths do decode the common
// shapes (the comparison above would pass if they always gave up).
func TestDecodeFastTaken(t *testing.T) {
	var b ContentBlock
	if !b.decodeFast([]byte(`{"type":"tool_result","tool_use_id":"a","content":[{"type":"text","text":"x"}]}`)) {
		t.Error("ContentBlock fast path not taken")
	}
	var tool Tool
	if !tool.decodeFast([]byte(`{"name":"t","description":"d","input_schema":{"type":"object"}}`)) {
		t.Error("Tool fast path not taken")
	}
	if _, ok, err := decodeBlocks([]byte(`[{"type":"text","text":"x"}, {"type":"text","text":"y"}]`)); !ok || err != nil {
		t.Error("decodeBlocks gave up", err)
	}
}

// BenchmarkDecodeRequest decodes a Claude Code request, fast paths on.
func BenchmarkDecodeRequest(b *testing.B) {
	body := testbody.ClaudeCode("claude-sonnet-4-5-20250929")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r MessageRequest
		if err := json.Unmarshal(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}
