package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/testbody"
)

func TestInspect(t *testing.T) {
	tests := []struct {
		body   string
		model  string
		stream bool
		err    string // the whole message, when the body is refused
	}{
		{body: `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[]}`, model: "claude-sonnet-4-5"},
		{body: `{"model":"m","stream":true}`, model: "m", stream: true},
		{body: `{"stream":false,"model":"m"}`, model: "m"},
		{body: `{"model":"m","stream":null}`, model: "m"},
		{body: " \r\n\t{ \r\n\t\"model\" \r\n\t: \r\n\t\"m\" \r\n\t, \r\n\t\"stream\" \r\n\t: \r\n\ttrue \r\n\t} \r\n\t", model: "m", stream: true},
		{body: `{"mod\u0065l":"m"}`, model: "m"},
		{body: `{"\u006d\u006f\u0064\u0065\u006c":"m","\u0073tream":true}`, model: "m", stream: true},
		{body: `{"model":"claude\u002d3"}`, model: "claude-3"},
		{body: `{"model":"a\"b\\c\/d\n"}`, model: "a\"b\\c/d\n"},
		{body: `{"model":"模型-\ud83d\ude00"}`, model: "模型-😀"},
		{body: `{"model":"m","metadata":{"model":"other","stream":"yes"},"messages":[{"model":1}]}`, model: "m"},
		{body: `{"Model":"x","model":"m","STREAM":1}`, model: "m"},

		{body: ``, err: "request body is not a JSON object: unexpected end of input at offset 0"},
		{body: `[{"model":"m"}]`, err: "request body is not a JSON object: invalid character '[' looking for beginning of object at offset 0"},
		{body: `"model"`, err: `request body is not a JSON object: invalid character '"' looking for beginning of object at offset 0`},
		{body: `{"model":"m",}`, err: "request body is not a JSON object: invalid character '}' looking for beginning of object key string at offset 13"},
		{body: `{"model":"m"} {}`, err: "request body is not a JSON object: invalid character '{' after top-level value at offset 14"},
		{body: `{"model":"m","messages":[` + strings.Repeat(`{"a":1},`, 3) + `{"a":01}]}`, err: "request body is not a JSON object: invalid character '1' after object key:value pair at offset 55"},
		{body: `{"model":"m","messages":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`, err: "request body is nested more than 512 levels deep"},
		{body: `{"model":"m","model":"m",`, err: "request body is not a JSON object: unexpected end of input at offset 25"},

		{body: `{}`, err: "model: field required"},
		{body: `{"max_tokens":1,"stream":true}`, err: "model: field required"},
		{body: `{"Model":"m"}`, err: "model: field required"},
		{body: `{"model":null}`, err: "model: must be a string"},
		{body: `{"model":42}`, err: "model: must be a string"},
		{body: `{"model":["m"]}`, err: "model: must be a string"},
		{body: `{"model":""}`, err: "model: must not be empty"},
		{body: `{"model":"a","model":"b"}`, err: "model: duplicate key"},
		{body: `{"model":"a","mod\u0065l":"a"}`, err: "model: duplicate key"},
		{body: `{"model":"a","stream":false,"stream":true}`, err: "stream: duplicate key"},
		{body: `{"model":"a","stream":true,"stre\u0061m":true}`, err: "stream: duplicate key"},
		{body: `{"model":"m","stream":"true"}`, err: "stream: must be a boolean"},
		{body: `{"model":"m","stream":1}`, err: "stream: must be a boolean"},
		{body: `{"model":"m","stream":{}}`, err: "stream: must be a boolean"},
		// Every member routing, limits or the cache read is refused twice.
		{body: `{"model":"a","max_tokens":1,"max_tokens":100000}`, err: "max_tokens: duplicate key"},
		{body: `{"model":"a","max_completion_tokens":1,"max_completion_tokens":2}`, err: "max_completion_tokens: duplicate key"},
		{body: `{"model":"a","messages":[],"messages":[{"role":"user","content":"x"}]}`, err: "messages: duplicate key"},
		{body: `{"model":"a","stream":true,"stream":true}`, err: "stream: duplicate key"},
		{body: `{"model":"a","system":"x","syst\u0065m":"y"}`, err: "system: duplicate key"},
		{body: `{"model":"a","tools":[],"tools":[{"name":"t"}]}`, err: "tools: duplicate key"},
		{body: `{"model":"a","thinking":{"type":"disabled"},"thinking":{"type":"enabled"}}`, err: "thinking: duplicate key"},
		{body: `{"model":"a","reasoning_effort":"none","reasoning_effort":"high"}`, err: "reasoning_effort: duplicate key"},
		// A model the upstream might read differently.
		{body: "{\"model\":\"a\xffb\"}", err: "model: must be valid UTF-8"},
		{body: "{\"model\":\"claude\xc3\"}", err: "model: must be valid UTF-8"},
		{body: `{"model":"claude\u0000-opus"}`, err: "model: must not contain NUL"},
		{body: `{"model":"\u0000"}`, err: "model: must not contain NUL"},
		// The first problem is reported.
		{body: `{"stream":0,"model":1}`, err: "stream: must be a boolean"},
	}
	for _, tt := range tests {
		p, err := Inspect([]byte(tt.body))
		if tt.err != "" {
			if err == nil {
				t.Errorf("Inspect(%q) = %+v, want error %q", tt.body, p, tt.err)
				continue
			}
			if err.Error() != tt.err {
				t.Errorf("Inspect(%q) error\n got %q\nwant %q", tt.body, err, tt.err)
			}
			var ie *InspectError
			if !errors.As(err, &ie) {
				t.Errorf("Inspect(%q) error is %T, want *InspectError", tt.body, err)
			}
			var se *jsonpeek.SyntaxError
			if isSyntax := errors.As(err, &se); isSyntax != strings.HasPrefix(tt.err, "request body is") {
				t.Errorf("Inspect(%q): errors.As(*jsonpeek.SyntaxError) = %v", tt.body, isSyntax)
			}
			if p != (Peek{}) {
				t.Errorf("Inspect(%q) returned %+v with an error", tt.body, p)
			}
			continue
		}
		if err != nil {
			t.Errorf("Inspect(%q): %v", tt.body, err)
			continue
		}
		if p.Model != tt.model || p.Stream != tt.stream {
			t.Errorf("Inspect(%q) = model %q stream %v, want %q %v", tt.body, p.Model, p.Stream, tt.model, tt.stream)
		}
		checkWithModel(t, []byte(tt.body), p, "x\"y")
	}
}

// modelStrings are model names WithModel must encode correctly.
var modelStrings = []string{
	"claude-opus-4-1",
	"x\"y",
	`back\slash`,
	"new\nline\r\ttab\b\f",
	"\x00\x01\x1f\x7f",
	"</script>&<b>",
	"ünïcödé 模型 😀",
	"\u2028\u2029",
	"bad\xffutf8\xc3",
	"\ufffd",
	strings.Repeat("long-", 1000),
	" ",
}

func TestWithModel(t *testing.T) {
	bodies := []string{
		`{"model":"m"}`,
		`{"a":1,"model":"claude\u002d3","stream":true,"z":[1,2]}`,
		" { \"model\" : \"m\" , \"messages\" : [ ] } ",
		`{"messages":[{"role":"user","content":"hi"}],"model":"last"}`,
	}
	for _, body := range bodies {
		p, err := Inspect([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range modelStrings {
			checkWithModel(t, []byte(body), p, m)
		}
	}

	// The same model returns the body itself.
	body := []byte(`{"model":"claude\u002d3"}`)
	p, _ := Inspect(body)
	if out := p.WithModel(body, "claude-3"); &out[0] != &body[0] {
		t.Error("WithModel with the same model copied the body")
	}

	// One allocation of the exact size.
	big := testbody.ClaudeCode("claude-sonnet-4-5-20250929")
	p, err := Inspect(big)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	if n := testing.AllocsPerRun(10, func() { out = p.WithModel(big, "claude-opus-4-1-20250805") }); n != 1 {
		t.Errorf("WithModel: %v allocations, want 1", n)
	}
	if cap(out) != len(out) {
		t.Errorf("WithModel result has len %d, cap %d", len(out), cap(out))
	}
	for _, m := range modelStrings {
		if out := p.WithModel(big, m); cap(out) != len(out) {
			t.Errorf("WithModel(%q): len %d, cap %d", m, len(out), cap(out))
		}
	}

	defer func() {
		if recover() == nil {
			t.Error("WithModel on a zero Peek did not panic")
		}
	}()
	Peek{}.WithModel([]byte(`{"model":"m"}`), "x")
}

// checkWithModel checks that p.WithModel(body, model) is valid JSON whose
// model decodes to model (as encoding/json would encode it) and whose
// other bytes are those of body.
func checkWithModel(t *testing.T, body []byte, p Peek, model string) {
	t.Helper()
	out := p.WithModel(body, model)
	if !json.Valid(out) {
		t.Fatalf("WithModel(%q, %q) = %q: invalid JSON", body, model, out)
	}
	var got struct{ Model string }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if want := decodeLikeStdlib(model); model != p.Model && got.Model != want {
		t.Errorf("WithModel(%q, %q): model decodes as %q, want %q", body, model, got.Model, want)
	}
	q, err := Inspect(out)
	if strings.IndexByte(got.Model, 0) >= 0 {
		// Inspect refuses a NUL in a client's model; config never writes one.
		q, err = Peek{Model: got.Model, Stream: p.Stream}, nil
	}
	if err != nil || q.Model != got.Model || q.Stream != p.Stream {
		t.Errorf("WithModel(%q, %q) = %q inspects as %+v, %v", body, model, out, q, err)
	}
	if model == p.Model {
		return
	}
	if !bytes.HasPrefix(out, body[:p.modelStart]) || !bytes.HasSuffix(out, body[p.modelEnd:]) {
		t.Errorf("WithModel(%q, %q) = %q changed other bytes", body, model, out)
	}
	if inner := out[p.modelStart : len(out)-(len(body)-p.modelEnd)]; inner[0] != '"' || inner[len(inner)-1] != '"' {
		t.Errorf("WithModel(%q, %q) spliced %q", body, model, inner)
	}
}

// decodeLikeStdlib returns what a string becomes after encoding/json
// encodes and decodes it: each invalid UTF-8 byte turns into U+FFFD.
func decodeLikeStdlib(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

func FuzzInspect(f *testing.F) {
	f.Add([]byte(`{"model":"claude-sonnet-4-5","stream":true,"max_tokens":1024,"messages":[{"role":"user","content":"Hello"}]}`))
	f.Add([]byte(`{"mod\u0065l":"claude\u002d3","stream":null}`))
	f.Add([]byte(`{"model":"a","model":"b"}`))
	f.Add([]byte(`{"model":"a","max_tokens":1,"max_tokens":2}`))
	f.Add([]byte(`{"model":"a\u0000","thinking":{"type":"enabled"},"tools":[{}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := Inspect(body)
		if err != nil {
			if p != (Peek{}) {
				t.Fatalf("Inspect(%q) returned %+v with error %v", body, p, err)
			}
			return
		}
		// encoding/json agrees. Keys are matched exactly, as the upstream
		// API does: decoding into a struct would match "MODEL" too, since
		// encoding/json matches struct fields case-insensitively.
		var members map[string]json.RawMessage
		if err := json.Unmarshal(body, &members); err != nil {
			t.Fatalf("Inspect(%q) succeeded but encoding/json says %v", body, err)
		}
		var model string
		if err := json.Unmarshal(members["model"], &model); err != nil || model != p.Model {
			t.Fatalf("Inspect(%q).Model = %q, encoding/json: %q, %v", body, p.Model, model, err)
		}
		var stream *bool
		if raw, ok := members["stream"]; ok {
			if err := json.Unmarshal(raw, &stream); err != nil {
				t.Fatalf("Inspect(%q) accepted stream %s: %v", body, raw, err)
			}
		}
		if want := stream != nil && *stream; p.Stream != want {
			t.Fatalf("Inspect(%q).Stream = %v, encoding/json: %v", body, p.Stream, want)
		}

		if !utf8.ValidString(p.Model) || strings.IndexByte(p.Model, 0) >= 0 {
			t.Fatalf("Inspect(%q) accepted model %q", body, p.Model)
		}
		if p.HasMaxTokens != (members["max_tokens"] != nil && string(members["max_tokens"]) != "null") {
			t.Fatalf("Inspect(%q).HasMaxTokens = %v", body, p.HasMaxTokens)
		}
		var tools []json.RawMessage
		if err := json.Unmarshal(members["tools"], &tools); err == nil && (len(tools) > 0) != p.Tools {
			t.Fatalf("Inspect(%q).Tools = %v, encoding/json: %d tools", body, p.Tools, len(tools))
		}

		// Rewriting the model keeps everything else.
		out := p.WithModel(body, "x\"y")
		var after map[string]json.RawMessage
		if err := json.Unmarshal(out, &after); err != nil {
			t.Fatalf("WithModel(%q) = %q: %v", body, out, err)
		}
		if string(after["model"]) != `"x\"y"` {
			t.Fatalf("WithModel(%q) model = %s", body, after["model"])
		}
		delete(after, "model")
		delete(members, "model")
		if len(after) != len(members) {
			t.Fatalf("WithModel(%q) = %q: members changed", body, out)
		}
		for k, v := range members {
			if !bytes.Equal(after[k], v) {
				t.Fatalf("WithModel(%q): member %q changed from %s to %s", body, k, v, after[k])
			}
		}
		if !bytes.Equal(out[:p.modelStart], body[:p.modelStart]) || !bytes.Equal(out[p.modelStart+len(`"x\"y"`):], body[p.modelEnd:]) {
			t.Fatalf("WithModel(%q) = %q changed bytes outside the model", body, out)
		}
	})
}

func BenchmarkInspect(b *testing.B) {
	body := testbody.ClaudeCode("claude-sonnet-4-5-20250929")
	b.Run("Inspect", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Inspect(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	p, err := Inspect(body)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("WithModel", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			_ = p.WithModel(body, "claude-opus-4-1-20250805")
		}
	})
	b.Run("Inspect+WithModel", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			p, err := Inspect(body)
			if err != nil {
				b.Fatal(err)
			}
			_ = p.WithModel(body, "claude-opus-4-1-20250805")
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		// For comparison: what decoding just the two fields costs with
		// encoding/json, which still scans the whole body.
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var v struct {
				Model  string `json:"model"`
				Stream *bool  `json:"stream"`
			}
			if err := json.Unmarshal(body, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
