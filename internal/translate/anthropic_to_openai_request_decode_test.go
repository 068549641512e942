package translate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ferrygw/ferry/internal/anthropic"
)

// rqDecodeSeeds probe where rqBody must agree with encoding/json or give
// up: nulls, case-folded and duplicate keys, escapes, numbers, wrong
// types, odd shapes of every member.
var rqDecodeSeeds = []string{
	`{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"m","Model":"n","messages":[]}`,
	`{"model":"m","model":"n","messages":[]}`,
	`{"mod\u0065l":"m","messages":[{"r\u006fle":"user","content":"hi"}]}`,
	`{"messages":[{"ROLE":"user","content":"hi"}]}`,
	`{"messages":[null,{"role":null,"content":null},{"content":[null]},{"content":[]}]}`,
	`{"messages":[{"role":"user","content":5}]}`,
	`{"messages":{}}`,
	`{"messages":null,"system":null,"tools":null,"stop_sequences":null,"tool_choice":null,"thinking":null,"output_config":null,"metadata":null}`,
	`{"max_tokens":1.0}`,
	`{"max_tokens":1e3}`,
	`{"max_tokens":-0,"top_k":99999999999999999999}`,
	`{"temperature":1e400}`,
	`{"temperature":"1"}`,
	`{"temperature":-0.5,"top_p":1E-2,"top_k":null}`,
	`{"stream":true,"stream":false}`,
	`{"stream":"true"}`,
	`{"stream":null}`,
	`{"system":"s\ud800"}`,
	`{"system":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}}]}`,
	`{"system":{}}`,
	`{"stop_sequences":["a",null,"\u00e9"]}`,
	`{"stop_sequences":["a",1]}`,
	`{"tools":[null,{"name":"a","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search"}]}`,
	`{"tools":[{"name":5}]}`,
	`{"tool_choice":{"type":"tool","name":"a","disable_parallel_tool_use":true}}`,
	`{"tool_choice":{"type":"auto","disable_parallel_tool_use":"yes"}}`,
	`{"tool_choice":"auto"}`,
	`{"thinking":{"type":"enabled","budget_tokens":2048,"display":"omitted"}}`,
	`{"thinking":{"type":"enabled","budget_tokens":2048.5}}`,
	`{"output_config":{"effort":"high","format":{"type":"json_schema","schema":{"type":"object"}}}}`,
	`{"output_config":{"format":null}}`,
	`{"output_config":{"format":{"schema":null}}}`,
	`{"output_config":{"format":[]}}`,
	`{"metadata":{"user_id":null}}`,
	`{"metadata":{"user_id":"{\"a\":1}"}}`,
	`{"metadata":{"user_id":1}}`,
	`{"metadata":{"User_Id":"x"}}`,
	`{"context_management":{"edits":[]},"messages":[]}`,
	`{"messages":[]} x`,
	`{"messages":[]`,
	`[]`,
	` {"model":"m"} `,
}

// rqDecodeCompare fails unless rqBody either gives up on body or decodes
// it as json.Unmarshal does.
func rqDecodeCompare(t *testing.T, body []byte) {
	t.Helper()
	var fast anthropic.MessageRequest
	if !rqBody(body, &fast) {
		return
	}
	var slow anthropic.MessageRequest
	if err := json.Unmarshal(body, &slow); err != nil {
		t.Fatalf("rqBody decoded %q, encoding/json says %v", body, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%q:\nrqBody        %#v\nencoding/json %#v", body, fast, slow)
	}
}

// rqDecodeBodies returns the request goldens' bodies and the recorded
// Claude Code traffic.
func rqDecodeBodies(t testing.TB) [][]byte {
	var bodies [][]byte
	for _, c := range rqLoad(t, "request") {
		bodies = append(bodies, c.file("anthropic.json"))
	}
	paths, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "claudecode", "*.json"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	return append(bodies, []byte(rqBenchBody))
}

func TestRequestDecodeMatchesEncodingJSON(t *testing.T) {
	for _, s := range rqDecodeSeeds {
		rqDecodeCompare(t, []byte(s))
	}
	for _, b := range rqDecodeBodies(t) {
		rqDecodeCompare(t, b)
	}
}

// TestRequestDecodeTaken checks that rqBody does decode the requests
// clients send (the comparison above would pass if it always gave up).
func TestRequestDecodeTaken(t *testing.T) {
	taken := 0
	for _, b := range rqDecodeBodies(t) {
		var slow anthropic.MessageRequest
		if json.Unmarshal(b, &slow) != nil {
			continue
		}
		var fast anthropic.MessageRequest
		if !rqBody(b, &fast) {
			t.Errorf("rqBody gave up on %.200s", b)
		}
		taken++
	}
	if taken < 50 {
		t.Errorf("only %d bodies decoded", taken)
	}
}

func FuzzRequestDecode(f *testing.F) {
	fuzzDecoder(f, rqDecodeSeeds, "request", "anthropic.json", rqDecodeCompare)
}

// BenchmarkRequestRecorded translates the recorded Claude Code requests
// of testdata/claudecode (compact JSON as the client sends it, 55-115 KB:
// a long system prompt, ~20 tools, a conversation).
func BenchmarkRequestRecorded(b *testing.B) {
	for _, name := range []string{"first_turn", "thinking_tool_turn"} {
		body, err := os.ReadFile(filepath.Join("..", "..", "testdata", "claudecode", name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		p := rqProfiles["zhipu"]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := AnthropicToOpenAIRequest(body, "glm-4.7", &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
