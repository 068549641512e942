package translate

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/openai"
)

// rdSeeds are bodies that probe where rdBody must agree with
// encoding/json or give up: nulls, case-folded and duplicate keys,
// escapes, numbers, odd argument and content shapes, error objects.
var rdSeeds = []string{
	`{"choices":[{"message":{"content":"hi"}}]}`,
	`{"choices":[{"message":{"content":"hi"}}],"choices":[]}`,
	`{"Choices":[{"message":{"content":"hi"}}]}`,
	`{"choices":[{"Message":{"content":"hi"}}]}`,
	`{"choices":[{"message":{"ſontent":"hi","content":"x"}}]}`,
	`{"cho\u0069ces":[{"message":{"content":"a\ud800b\u00e9\n"}}]}`,
	`{"choices":[{"message":{"c\u006fntent":"hi"}}]}`,
	`{"choices":[{"message":{"content":"\xff\xfe"}}]}`,
	`{"choices":[null,{"index":1}],"usage":null,"object":null,"created":null}`,
	`{"choices":[{"index":1.0}]}`,
	`{"choices":[{"index":1e2}]}`,
	`{"choices":[{"index":-0}],"created":99999999999999999999}`,
	`{"choices":[{"message":null,"finish_reason":null,"logprobs":null,"stop_reason":"END"}]}`,
	`{"choices":[{"message":{"content":null,"refusal":null,"reasoning":null,"reasoning_content":"r"}}]}`,
	`{"choices":[{"message":{"content":[{"type":"text","text":"a"},null,{"type":"refusal","refusal":"no"}]}}]}`,
	`{"choices":[{"message":{"content":[{"type":"image_url","image_url":{"url":"x"}}]}}]}`,
	`{"choices":[{"message":{"content":5}}]}`,
	`{"choices":[{"message":{"content":{}}}]}`,
	`{"choices":[{"message":{"tool_calls":[{"index":null,"id":"a","function":{"name":"f","arguments":{"a" : [1, 2]}}}]}}]}`,
	`{"choices":[{"message":{"tool_calls":[null,{"function":null},{"function":{"arguments":null}},{"function":"x"}]}}]}`,
	`{"choices":[{"message":{"tool_calls":[{"function":{"name":"f","arguments":"{\"a\":1}","Arguments":"x"}}]}}]}`,
	`{"choices":[{"message":{"tool_calls":[{"function":{"name":5}}]}}]}`,
	`{"choices":[{"message":{"tool_calls":{}}}]}`,
	`{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":10,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":4,"cache_write_tokens":1},"completion_tokens_details":null,"prompt_cache_hit_tokens":3}}`,
	`{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":"10"}}`,
	`{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens_details":{"cached_tokens":1.5}}}`,
	`{"error":{"message":"boom"},"choices":[{"message":{"content":"x"}}]}`,
	`{"error":null,"choices":[{"message":{"content":"x"}}],"error":{"message":"later"}}`,
	` {"error":{"message":"boom"},"choices":[{"message":{"content":"x"}}]}`,
	`{"choices":[{"message":{"content":"x"}}]} x`,
	`{"choices":[{"message":{"content":"x"}}]`,
	`[]`,
	`{"object":"chat.completion.chunk","choices":[]}`,
	`{"id":"a","id":"b","choices":[]}`,
	`{"choices":[{"message":{"content":"x"}}],"model":{"deep":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}}`,
}

// rdCompare fails unless rdBody either gives up on body or decodes it as
// json.Unmarshal does, and unless Response's results are those of the
// encoding/json path.
func rdCompare(t *testing.T, body []byte) {
	t.Helper()
	var fast openai.ChatCompletion
	if rdBody(body, &fast) {
		var slow openai.ChatCompletion
		if err := json.Unmarshal(body, &slow); err != nil {
			t.Fatalf("rdBody decoded %q, encoding/json says %v", body, err)
		}
		if openai.IsErrorChunk(body) {
			t.Fatalf("rdBody decoded the error object %q", body)
		}
		rdUnread(&slow)
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q:\nrdBody       %#v\nencoding/json %#v", body, fast, slow)
		}
	}
}

// rdUnread clears the fields rdBody leaves empty.
func rdUnread(cc *openai.ChatCompletion) {
	cc.ID, cc.Model, cc.SystemFingerprint, cc.ServiceTier = "", "", "", ""
	for i := range cc.Choices {
		m := &cc.Choices[i].Message
		m.Role, m.Name, m.ToolCallID = "", "", ""
		for j := range m.ToolCalls {
			m.ToolCalls[j].Type = ""
		}
	}
}

func TestResponseDecodeMatchesEncodingJSON(t *testing.T) {
	for _, s := range rdSeeds {
		rdCompare(t, []byte(s))
	}
	for _, c := range rqLoad(t, "response") {
		rdCompare(t, c.file("openai.json"))
	}
	rdCompare(t, []byte(rsBenchBody))
}

// TestResponseDecodeTaken checks that rdBody does decode the vendors'
// answers (the comparison above would pass if it always gave up).
func TestResponseDecodeTaken(t *testing.T) {
	for _, c := range rqLoad(t, "response") {
		body := c.file("openai.json")
		var slow openai.ChatCompletion
		if json.Unmarshal(body, &slow) != nil || openai.IsErrorChunk(body) {
			continue
		}
		var fast openai.ChatCompletion
		if !rdBody(body, &fast) {
			t.Errorf("%s: rdBody gave up on a chat.completion", c.name)
		}
	}
	if n := testing.AllocsPerRun(50, func() {
		var cc openai.ChatCompletion
		rdBody([]byte(rsBenchBody), &cc)
	}); n > 16 {
		t.Errorf("rdBody: %v allocations for the benchmark body", n)
	}
}

func FuzzResponseDecode(f *testing.F) {
	fuzzDecoder(f, rdSeeds, "response", "openai.json", rdCompare)
}

// fuzzDecoder fuzzes a decoder's comparison with encoding/json, seeded
// with seeds and the small bodies (file) of the goldens in testdata/dir.
func fuzzDecoder(f *testing.F, seeds []string, dir, file string, compare func(*testing.T, []byte)) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	for _, c := range rqLoad(f, dir) {
		if b := c.file(file); len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if strings.Count(string(body), "[")+strings.Count(string(body), "{") > 2000 {
			return
		}
		compare(t, body)
	})
}
