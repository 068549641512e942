package cache

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/testbody"
)

func key(t testing.TB, r Request) Key {
	t.Helper()
	k, err := r.Key()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func req(body string) Request {
	return Request{Op: "messages", Scope: "team-a", Body: []byte(body), Version: "2023-06-01"}
}

const baseBody = `{"model":"claude-sonnet-4-5","max_tokens":64,"system":"Be terse.","messages":[{"role":"user","content":"hi"}],"temperature":0.2}`

func TestKeyCanonical(t *testing.T) {
	base := key(t, req(baseBody))
	same := map[string]Request{
		"members reordered":      req(`{"temperature":0.2,"messages":[{"role":"user","content":"hi"}],"model":"claude-sonnet-4-5","system":"Be terse.","max_tokens":64}`),
		"whitespace between":     req(" {\n \"model\" : \"claude-sonnet-4-5\",\t\"max_tokens\":64 ,\"system\":\"Be terse.\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.2}\n"),
		"stream true":            req(`{"stream":true,"model":"claude-sonnet-4-5","max_tokens":64,"system":"Be terse.","messages":[{"role":"user","content":"hi"}],"temperature":0.2}`),
		"stream false":           req(`{"model":"claude-sonnet-4-5","max_tokens":64,"system":"Be terse.","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"stream":false}`),
		"metadata":               req(`{"model":"claude-sonnet-4-5","metadata":{"user_id":"u-1"},"max_tokens":64,"system":"Be terse.","messages":[{"role":"user","content":"hi"}],"temperature":0.2}`),
		"beta empty list":        {Op: "messages", Scope: "team-a", Body: []byte(baseBody), Version: "2023-06-01", Beta: []string{}},
		"beta empty after split": {Op: "messages", Scope: "team-a", Body: []byte(baseBody), Version: "2023-06-01", Beta: []string{" , "}},
	}
	for name, r := range same {
		if got := key(t, r); got != base {
			t.Errorf("%s: key differs from the base request's", name)
		}
	}
	differs := map[string]Request{
		"scope":                  {Op: "messages", Scope: "team-b", Body: []byte(baseBody), Version: "2023-06-01"},
		"no scope":               {Op: "messages", Body: []byte(baseBody), Version: "2023-06-01"},
		"op":                     {Op: "count_tokens", Scope: "team-a", Body: []byte(baseBody), Version: "2023-06-01"},
		"version":                {Op: "messages", Scope: "team-a", Body: []byte(baseBody), Version: "2024-01-01"},
		"beta":                   {Op: "messages", Scope: "team-a", Body: []byte(baseBody), Version: "2023-06-01", Beta: []string{"x-2025"}},
		"temperature":            req(strings.Replace(baseBody, "0.2", "0.3", 1)),
		"model":                  req(strings.Replace(baseBody, "sonnet", "opus", 1)),
		"system":                 req(strings.Replace(baseBody, "terse", "brief", 1)),
		"nested order":           req(strings.Replace(baseBody, `{"role":"user","content":"hi"}`, `{"content":"hi","role":"user"}`, 1)),
		"nested whitespace":      req(strings.Replace(baseBody, `{"role":"user","content":"hi"}`, `{"role": "user","content":"hi"}`, 1)),
		"tools added":            req(baseBody[:len(baseBody)-1] + `,"tools":[]}`),
		"member moved into name": req(`{"model":"claude-sonnet-4-5","max_tokens":64,"system":"Be terse.","messages":[{"role":"user","content":"hi"}],"temperature0.2":null}`),
	}
	for name, r := range differs {
		if got := key(t, r); got == base {
			t.Errorf("%s: key equals the base request's", name)
		}
	}
	// anthropic-beta: order, repeats and spacing do not matter.
	b1 := key(t, Request{Op: "messages", Body: []byte(baseBody), Beta: []string{"a-1,b-2", "c-3"}})
	b2 := key(t, Request{Op: "messages", Body: []byte(baseBody), Beta: []string{"c-3, b-2", "a-1", "a-1"}})
	if b1 != b2 {
		t.Errorf("anthropic-beta lists in another order give another key")
	}
	// Parts are length-prefixed: moving bytes between scope and op changes the key.
	k1 := key(t, Request{Op: "ab", Scope: "c", Body: []byte(baseBody)})
	k2 := key(t, Request{Op: "a", Scope: "bc", Body: []byte(baseBody)})
	if k1 == k2 {
		t.Errorf("op/scope boundary is ambiguous")
	}
}

func TestKeyDuplicateMembersKeepOrder(t *testing.T) {
	a := key(t, req(`{"model":"m","messages":[1],"messages":[2]}`))
	b := key(t, req(`{"model":"m","messages":[2],"messages":[1]}`))
	if a == b {
		t.Errorf("duplicate members in another order give the same key")
	}
}

func TestKeyRefusesNonObjects(t *testing.T) {
	for _, in := range []string{``, `[]`, `"x"`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":"x`, `{"a":[1,2}`, `{"a":1 "b":2}`, `  `} {
		if _, err := req(in).Key(); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	if _, err := req(`{}`).Key(); err != nil {
		t.Errorf("{}: %v", err)
	}
}

// TestTopLevelAgreesWithJSONPeek: on valid bodies the fast splitter finds
// exactly the members the validating scanner finds.
func TestTopLevelAgreesWithJSONPeek(t *testing.T) {
	for _, b := range [][]byte{
		[]byte(baseBody),
		testbody.ClaudeCode("claude-sonnet-4-5"),
		body4KB(),
		[]byte(`{"a":"\\\"","b\"":{"c":["]","}",{"d":"\\\\"}]},"e":-1.5e3,"f":true,"g":null}`),
	} {
		checkSplit(t, b)
	}
}

func checkSplit(t testing.TB, b []byte) {
	t.Helper()
	type m struct{ K, V string }
	var want []m
	if err := jsonpeek.Object(b, func(_ []byte, start, end int) bool {
		want = append(want, m{"", string(b[start:end])})
		return true
	}); err != nil {
		return
	}
	// Keys: jsonpeek reports decoded names, the splitter raw spans; compare values and count.
	spans, err := topLevel(b, nil)
	if err != nil {
		t.Fatalf("splitter refused a valid body: %v\n%s", err, b)
	}
	var got []m
	for _, s := range spans {
		got = append(got, m{"", string(b[s.v0:s.v1])})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("members differ (-jsonpeek +splitter):\n%s", diff)
	}
}

// FuzzKey: the key never panics; on a valid object it agrees with
// jsonpeek's members and does not depend on member order.
func FuzzKey(f *testing.F) {
	f.Add([]byte(baseBody))
	f.Add([]byte(`{"a":"\\\"","b":{"c":["]"]},"stream":true}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`{"x":"\u0041","y":[{},[],""]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := req(string(b)).Key()
		if !jsonpeek.Valid(b) {
			return
		}
		if err != nil {
			t.Fatalf("valid object refused: %v", err)
		}
		checkSplit(t, b)
		// Reverse the members (keeping duplicates in order among themselves
		// is not needed when names are distinct).
		spans, _ := topLevel(b, nil)
		seen := map[string]bool{}
		for _, s := range spans {
			if seen[string(s.key)] {
				return
			}
			seen[string(s.key)] = true
		}
		var r bytes.Buffer
		r.WriteByte('{')
		for i := len(spans) - 1; i >= 0; i-- {
			s := spans[i]
			r.WriteByte('"')
			r.Write(s.key)
			r.WriteByte('"')
			r.WriteByte(':')
			r.Write(b[s.v0:s.v1])
			if i > 0 {
				r.WriteByte(',')
			}
		}
		r.WriteByte('}')
		k2, err := req(r.String()).Key()
		if err != nil || k2 != k {
			t.Fatalf("reordered members give another key (%v):\n%s\n%s", err, b, r.Bytes())
		}
	})
}

// body4KB is a 4 KB request as an SDK writes it: a system prompt, two
// tools and a short conversation.
func body4KB() []byte {
	type block struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type msg struct {
		Role    string  `json:"role"`
		Content []block `json:"content"`
	}
	type tool struct {
		Name        string         `json:"name"`
		Description string         `json:"description"`
		InputSchema map[string]any `json:"input_schema"`
	}
	var msgs []msg
	for i := 0; i < 6; i++ {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		msgs = append(msgs, msg{role, []block{{"text", fmt.Sprintf("Turn %d: %s", i, strings.Repeat("Tell me about the weather in Florence. ", 8))}}})
	}
	body := map[string]any{
		"model":       "claude-sonnet-4-5",
		"max_tokens":  1024,
		"temperature": 0.3,
		"system":      strings.Repeat("You are a helpful assistant who answers \"briefly\". ", 12),
		"tools": []tool{
			{"get_weather", "Get the current weather for a city.", map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}},
			{"get_time", "Get the local time of a city.", map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}},
		},
		"messages": msgs,
		"metadata": map[string]any{"user_id": "user-1"},
	}
	b, _ := json.Marshal(body)
	if len(b) < 4096 {
		body["system"] = body["system"].(string) + strings.Repeat(".", 4096-len(b))
		b, _ = json.Marshal(body)
	}
	return b
}

func TestBody4KB(t *testing.T) {
	if n := len(body4KB()); n != 4096 {
		t.Fatalf("body4KB is %d bytes", n)
	}
}
