package translate

// OpenAIToAnthropicStream: table tests of stop reasons, usage, errors,
// tool calls, limits, UTF-8 and signatures, and its benchmark (the golden
// harness and the output checker are in openai_to_anthropic_stream_test.go).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/sse"
)

func TestStreamStopReason(t *testing.T) {
	text := `{"choices":[{"index":0,"delta":{"content":"hi"}}]}`
	tool := `{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":"{}"}}]}}]}`
	fin := func(r string) string {
		return `{"choices":[{"index":0,"delta":{},"finish_reason":"` + r + `"}]}`
	}
	tests := []struct {
		name   string
		stop   []string
		chunks []string
		want   string
		seq    string
	}{
		{"stop", nil, []string{text, fin("stop"), "[DONE]"}, "end_turn", ""},
		{"length", nil, []string{text, fin("length"), "[DONE]"}, "max_tokens", ""},
		{"tool_calls", nil, []string{tool, fin("tool_calls"), "[DONE]"}, "tool_use", ""},
		{"function_call", nil, []string{text, fin("function_call"), "[DONE]"}, "tool_use", ""},
		{"content_filter", nil, []string{text, fin("content_filter"), "[DONE]"}, "refusal", ""},
		{"unknown", nil, []string{text, fin("insufficient_system_resource"), "[DONE]"}, "end_turn", ""},
		{"stop with tools", nil, []string{tool, fin("stop"), "[DONE]"}, "tool_use", ""},
		{"filter with tools", nil, []string{tool, fin("content_filter"), "[DONE]"}, "tool_use", ""},
		{"length with tools", nil, []string{tool, fin("length"), "[DONE]"}, "max_tokens", ""},
		{"done without finish", nil, []string{text, "[DONE]"}, "end_turn", ""},
		{"done without finish, tools", nil, []string{tool, "[DONE]"}, "tool_use", ""},
		{"only done", nil, []string{"[DONE]"}, "end_turn", ""},
		{"vllm stop_reason", []string{"END", "STOP"}, []string{text, `{"choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":"STOP"}]}`, "[DONE]"}, "stop_sequence", "STOP"},
		{"sglang matched_stop", []string{"END"}, []string{text, `{"choices":[{"index":0,"delta":{},"finish_reason":"stop","matched_stop":"END"}]}`, "[DONE]"}, "stop_sequence", "END"},
		{"stop token id", []string{"END"}, []string{text, `{"choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":151645}]}`, "[DONE]"}, "end_turn", ""},
		{"unknown stop string", []string{"END"}, []string{text, `{"choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":"OTHER"}]}`, "[DONE]"}, "end_turn", ""},
		{"finish then eof", nil, []string{text, fin("stop")}, "end_turn", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewOpenAIToAnthropicStream(&RequestInfo{Model: "m", StopSequences: tt.stop}, nil, "msg_1")
			out := stFeedAll(t, s, nil, tt.chunks...)
			if got := s.StopReason(); got != tt.want {
				t.Errorf("StopReason() = %q, want %q", got, tt.want)
			}
			msg := stAccumulate(t, out)
			if msg.StopReason != tt.want {
				t.Errorf("message_delta stop_reason %q, want %q", msg.StopReason, tt.want)
			}
			var seq string
			if msg.StopSequence != nil {
				seq = *msg.StopSequence
			}
			if seq != tt.seq {
				t.Errorf("stop_sequence %q, want %q", seq, tt.seq)
			}
		})
	}
}

func TestStreamUsage(t *testing.T) {
	text := `{"choices":[{"index":0,"delta":{"content":"hi"}}]}`
	fin := `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`
	tests := []struct {
		name   string
		chunks []string
		want   anthropic.Totals
		delta  map[string]int64
	}{
		{
			"openai cached",
			[]string{text, fin, `{"choices":[],"usage":{"prompt_tokens":100,"completion_tokens":7,"total_tokens":107,"prompt_tokens_details":{"cached_tokens":60}}}`},
			anthropic.Totals{Input: 40, Output: 7, CacheRead: 60},
			map[string]int64{"input_tokens": 40, "cache_read_input_tokens": 60, "output_tokens": 7},
		},
		{
			"deepseek hit tokens",
			[]string{text, `{"choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}],"usage":{"prompt_tokens":14,"completion_tokens":9,"total_tokens":23,"prompt_cache_hit_tokens":10,"prompt_cache_miss_tokens":4}}`},
			anthropic.Totals{Input: 4, Output: 9, CacheRead: 10},
			map[string]int64{"input_tokens": 4, "cache_read_input_tokens": 10, "output_tokens": 9},
		},
		{
			"cache writes",
			[]string{text, fin, `{"choices":[],"usage":{"prompt_tokens":100,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":10,"cache_write_tokens":30}}}`},
			anthropic.Totals{Input: 60, Output: 7, CacheRead: 10, CacheCreation: 30},
			map[string]int64{"input_tokens": 60, "cache_creation_input_tokens": 30, "cache_read_input_tokens": 10, "output_tokens": 7},
		},
		{
			"repeated, last wins",
			[]string{
				`{"choices":[{"index":0,"delta":{"content":"a"}}],"usage":{"prompt_tokens":5,"completion_tokens":1}}`,
				`{"choices":[{"index":0,"delta":{"content":"b"}}],"usage":{"prompt_tokens":5,"completion_tokens":2}}`,
				`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":3}}`,
			},
			anthropic.Totals{Input: 5, Output: 3},
			map[string]int64{"input_tokens": 5, "cache_read_input_tokens": 0, "output_tokens": 3},
		},
		{
			"none: the estimate",
			[]string{text, fin, "[DONE]"},
			anthropic.Totals{Input: 42},
			map[string]int64{"input_tokens": 42, "cache_read_input_tokens": 0, "output_tokens": 0},
		},
		{
			"cached above prompt",
			[]string{text, fin, `{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":9}}}`},
			anthropic.Totals{Input: 0, Output: 1, CacheRead: 9},
			map[string]int64{"input_tokens": 0, "cache_read_input_tokens": 9, "output_tokens": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewOpenAIToAnthropicStream(&RequestInfo{Model: "m", InputEstimate: 42}, nil, "msg_1")
			out := stFeedAll(t, s, nil, tt.chunks...)
			if diff := cmp.Diff(tt.want, s.Usage()); diff != "" {
				t.Errorf("Usage() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.delta, stAccumulate(t, out).Usage); diff != "" {
				t.Errorf("message_delta usage (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStreamHoldsMessageDelta: finish_reason closes the block at once, but
// message_delta waits for the usage.
func TestStreamHoldsMessageDelta(t *testing.T) {
	s := NewOpenAIToAnthropicStream(&RequestInfo{Model: "m"}, nil, "msg_1")
	s.Feed([]byte(`{"choices":[{"index":0,"delta":{"content":"hi"}}]}`))
	s.Feed([]byte(`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`))
	var names []string
	for ev, ok := s.Next(); ok; ev, ok = s.Next() {
		names = append(names, string(ev.Name))
	}
	want := []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("events before usage (-want +got):\n%s", diff)
	}
	if s.Finished() || s.StopReason() != "" {
		t.Errorf("finished before usage")
	}
	s.Feed([]byte(`{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}`))
	names = nil
	for ev, ok := s.Next(); ok; ev, ok = s.Next() {
		names = append(names, string(ev.Name))
	}
	if diff := cmp.Diff([]string{"message_delta", "message_stop"}, names); diff != "" {
		t.Errorf("events after usage (-want +got):\n%s", diff)
	}
	if !s.Finished() || s.StopReason() != "end_turn" {
		t.Errorf("Finished() %v, StopReason() %q after usage", s.Finished(), s.StopReason())
	}
}

func TestStreamErrors(t *testing.T) {
	text := `{"choices":[{"index":0,"delta":{"content":"hi"}}]}`
	tests := []struct {
		name    string
		chunks  []string
		end     error // io.EOF: Finish is not called
		want    string
		feedErr bool
	}{
		{"eof before finish", []string{text}, nil, "api_error: upstream stream ended before it finished", false},
		{"eof, nothing", nil, nil, "api_error: upstream stream ended before it finished", false},
		{"cut frame", []string{text}, io.ErrUnexpectedEOF, "api_error: upstream stream ended before it finished", false},
		{"cut frame after finish", []string{text, `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`}, io.ErrUnexpectedEOF, "", false},
		{"read error", []string{text}, errors.New("connection reset by peer"), "api_error: upstream stream failed", false},
		{"overloaded read error", []string{text}, apierr.New(apierr.Overloaded, "upstream overloaded"), "overloaded_error: upstream overloaded", false},
		{"bad gateway", []string{text}, apierr.Wrap(apierr.BadGateway, errors.New("x"), "upstream idle too long"), "api_error: upstream idle too long", false},
		{"openai error chunk", []string{text, `{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}`}, io.EOF, "api_error: The server had an error while processing your request.", true},
		{"overloaded chunk", []string{text, `{"error":{"message":"Server overloaded, please retry","type":"server_error"}}`}, io.EOF, "overloaded_error: Server overloaded, please retry", true},
		{"zhipu 1312", []string{`{"error":{"code":"1312","message":"该模型当前访问量过大，请您稍后再试"}}`}, io.EOF, "overloaded_error: 该模型当前访问量过大，请您稍后再试", true},
		{"bare string error", []string{text, `{"error":"upstream timeout"}`}, io.EOF, "api_error: upstream timeout", true},
		{"error without message", []string{text, `{"error":{"type":"server_error"}}`}, io.EOF, "api_error: upstream error: server_error", true},
		{"null error", []string{`{"error":null,"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}`, "[DONE]"}, io.EOF, "", false},
		{"invalid json", []string{text, `{"choices":[{"index":0,"delta":{"content":"x"`}, io.EOF, "api_error: upstream sent a malformed stream chunk", true},
		{"not an object", []string{text, `[1,2]`}, io.EOF, "api_error: upstream sent a malformed stream chunk", true},
		{"garbage", []string{"event: oops"}, io.EOF, "api_error: upstream sent a malformed stream chunk", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewOpenAIToAnthropicStream(&RequestInfo{Model: "m"}, nil, "msg_1")
			for _, c := range tt.chunks {
				s.Feed([]byte(c))
			}
			if feedErr := s.Err(); (feedErr != nil) != tt.feedErr {
				t.Errorf("Feed error %v, want error: %v", feedErr, tt.feedErr)
			}
			out := stFeedAll(t, s, tt.end)
			msg := stAccumulate(t, out)
			if msg.Error != tt.want {
				t.Errorf("error event %q, want %q", msg.Error, tt.want)
			}
			if tt.want != "" && s.StopReason() != "" {
				t.Errorf("StopReason() %q after an error", s.StopReason())
			}
		})
	}
}

// TestStreamToolCalls covers the tool-call keying and the parallel-call
// policy on short, readable sequences.
func TestStreamToolCalls(t *testing.T) {
	tc := func(entries string) string {
		return `{"choices":[{"index":0,"delta":{"tool_calls":[` + entries + `]}}]}`
	}
	text := func(s string) string {
		return `{"choices":[{"index":0,"delta":{"content":"` + s + `"}}]}`
	}
	fin := `{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`
	tests := []struct {
		name   string
		chunks []string
		want   []stBlock
		order  string // event names, abbreviated, when the order matters
	}{
		{
			name: "interleaved: the first call streams, the second waits until the first is complete",
			chunks: []string{
				tc(`{"index":0,"id":"a","function":{"name":"f","arguments":"{\"x\":"}}`),
				tc(`{"index":1,"id":"b","function":{"name":"g","arguments":"{\"y\":"}}`),
				tc(`{"index":0,"function":{"arguments":"1"}}`),
				tc(`{"index":1,"function":{"arguments":"2}"}}`),
				tc(`{"index":0,"function":{"arguments":"}"}}`),
				tc(`{"index":1,"function":{"arguments":" "}}`),
				fin, "[DONE]",
			},
			want: []stBlock{
				{Type: "tool_use", ID: "a", Name: "f", JSON: `{"x":1}`},
				{Type: "tool_use", ID: "b", Name: "g", JSON: `{"y":2} `},
			},
			// a opens; b's fragments are buffered; b opens once a is complete.
			order: "start:a ping d:'' d:'{\"x\":' d:'1' d:'}' stop start:b d:'' d:'{\"y\":2}' d:' ' stop",
		},
		{
			name: "one chunk, two whole calls (Gemini: no index)",
			chunks: []string{
				tc(`{"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},{"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}`),
				fin, "[DONE]",
			},
			want: []stBlock{
				{Type: "tool_use", ID: "a", Name: "f", JSON: `{"x":1}`},
				{Type: "tool_use", ID: "b", Name: "g", JSON: `{}`},
			},
		},
		{
			name: "no index, no id: each call in its own chunk, same tool twice (Ollama)",
			chunks: []string{
				tc(`{"function":{"name":"read","arguments":{"path":"a"}}}`),
				tc(`{"function":{"name":"read","arguments":{"path":"b"}}}`),
				fin, "[DONE]",
			},
			want: []stBlock{
				{Type: "tool_use", ID: "toolu_1_0", Name: "read", JSON: `{"path":"a"}`},
				{Type: "tool_use", ID: "toolu_1_1", Name: "read", JSON: `{"path":"b"}`},
			},
		},
		{
			name: "index reused for the next call with a new id",
			chunks: []string{
				tc(`{"index":0,"id":"a","function":{"name":"f","arguments":""}}`),
				tc(`{"index":0,"function":{"arguments":"{}"}}`),
				tc(`{"index":0,"id":"b","function":{"name":"f","arguments":""}}`),
				tc(`{"index":0,"function":{"arguments":"{\"z\":true}"}}`),
				fin, "[DONE]",
			},
			want: []stBlock{
				{Type: "tool_use", ID: "a", Name: "f", JSON: `{}`},
				{Type: "tool_use", ID: "b", Name: "f", JSON: `{"z":true}`},
			},
		},
		{
			name: "arguments before name and id",
			chunks: []string{
				text("Let me check."),
				tc(`{"index":0,"function":{"arguments":"{\"q\":"}}`),
				text(" More text."),
				tc(`{"index":0,"id":"a","function":{"name":"search"}}`),
				tc(`{"index":0,"function":{"arguments":"\"go\"}"}}`),
				fin, "[DONE]",
			},
			want: []stBlock{
				{Type: "text", Text: "Let me check. More text."},
				{Type: "tool_use", ID: "a", Name: "search", JSON: `{"q":"go"}`},
			},
		},
		{
			name: "a name that never comes",
			chunks: []string{
				tc(`{"index":0,"function":{"arguments":"{\"q\":1}"}}`),
				fin, "[DONE]",
			},
			want: []stBlock{{Type: "tool_use", ID: "toolu_1_0", Name: "", JSON: `{"q":1}`}},
		},
		{
			name: "text while a call is incomplete waits behind it",
			chunks: []string{
				tc(`{"index":0,"id":"a","function":{"name":"f","arguments":"{\"x\""}}`),
				text("aside"),
				tc(`{"index":0,"function":{"arguments":":1}"}}`),
				text(" more"),
				fin, "[DONE]",
			},
			want: []stBlock{
				{Type: "tool_use", ID: "a", Name: "f", JSON: `{"x":1}`},
				{Type: "text", Text: "aside more"},
			},
		},
		{
			name: "legacy function_call",
			chunks: []string{
				`{"choices":[{"index":0,"delta":{"function_call":{"name":"f","arguments":"{\"a\""}}}]}`,
				`{"choices":[{"index":0,"delta":{"function_call":{"arguments":":1}"}}}]}`,
				`{"choices":[{"index":0,"delta":{},"finish_reason":"function_call"}]}`, "[DONE]",
			},
			want: []stBlock{{Type: "tool_use", ID: "toolu_1_0", Name: "f", JSON: `{"a":1}`}},
		},
		{
			name: "index reused without ids, arguments before the name",
			chunks: []string{
				tc(`{"index":0,"function":{"name":"f","arguments":"{\"a\":1}"}}`),
				tc(`{"index":0,"function":{"arguments":"{\"b\":"}}`),
				tc(`{"index":0,"function":{"name":"g","arguments":"2}"}}`),
				fin, "[DONE]",
			},
			want: []stBlock{
				{Type: "tool_use", ID: "toolu_1_0", Name: "f", JSON: `{"a":1}`},
				{Type: "tool_use", ID: "toolu_1_1", Name: "g", JSON: `{"b":2}`},
			},
		},
		{
			name: "DashScope's empty continuation creates nothing",
			chunks: []string{
				tc(`{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}`),
				tc(`{"function":{},"index":0,"id":"","type":"function"}`),
				tc(`{"function":{},"index":1,"id":"","type":"function"}`),
				fin, "[DONE]",
			},
			want: []stBlock{{Type: "tool_use", ID: "a", Name: "f", JSON: `{}`}},
		},
		{
			name: "late whitespace for a closed call is dropped",
			chunks: []string{
				tc(`{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}`),
				tc(`{"index":1,"id":"b","function":{"name":"g","arguments":"{}"}}`),
				tc(`{"index":0,"function":{"arguments":"\n"}}`),
				fin, "[DONE]",
			},
			want: []stBlock{
				{Type: "tool_use", ID: "a", Name: "f", JSON: `{}`},
				{Type: "tool_use", ID: "b", Name: "g", JSON: `{}`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewOpenAIToAnthropicStream(&RequestInfo{Model: "m"}, nil, "msg_1")
			out := stFeedAll(t, s, nil, tt.chunks...)
			msg := stAccumulate(t, out)
			if diff := cmp.Diff(tt.want, msg.Blocks); diff != "" {
				t.Errorf("blocks (-want +got):\n%s", diff)
			}
			if msg.StopReason != "tool_use" {
				t.Errorf("stop_reason %q", msg.StopReason)
			}
			if tt.order != "" {
				if got := stOrder(t, out); got != tt.order {
					t.Errorf("event order\n got %s\nwant %s", got, tt.order)
				}
			}
		})
	}
}

// TestStreamOddShapes feeds chunks that are valid JSON but odd: non-object
// elements, numbers that are not small integers, content as parts,
// arguments as an object, a character cut at the end of a call's
// arguments.
func TestStreamOddShapes(t *testing.T) {
	s := NewOpenAIToAnthropicStream(&RequestInfo{Model: "m"}, nil, "msg_1")
	out := stFeedAll(t, s, nil,
		`{"choices":[1,"x",null,[[{"a":"]"}]],{"index":-1,"delta":{"content":"skipped"}},{"index":1.0,"delta":{"content":"skipped"}},{"index":0.0,"delta":{"content":"A"}}]}`,
		`{"choices":[{"index":99999999999,"delta":{"content":"skipped"}},{"delta":{"content":[{"type":"text","text":"B"},{"type":"image_url","text":"skipped"},"x",{"type":"text","text":null}]}}]}`,
		`{"choices":[ { "index" : 0 , "delta" : { "content" : [ ] , "tool_calls" : [ { "index" : 0 , "id" : "a" , "function" : { "name" : "f" , "arguments" : { "q" : [ 1 , { } ] } } } ] } } ] }`,
		"{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"g\",\"arguments\":\"{\\\"k\\\":\\\"\xe4\xb8\"}}]}}]}",
		`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1.5,"completion_tokens":-3,"prompt_tokens_details":null}}`,
		"[DONE]")
	msg := stAccumulate(t, out)
	want := []stBlock{
		{Type: "text", Text: "AB"},
		{Type: "tool_use", ID: "a", Name: "f", JSON: `{ "q" : [ 1 , { } ] }`},
		{Type: "tool_use", ID: "b", Name: "g", JSON: "{\"k\":\"\ufffd\ufffd"},
	}
	if diff := cmp.Diff(want, msg.Blocks); diff != "" {
		t.Errorf("blocks (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(anthropic.Totals{}, s.Usage()); diff != "" {
		t.Errorf("usage of odd numbers (-want +got):\n%s", diff)
	}
}

// TestStreamNothingAfterEnd: whatever path tries to write after the end,
// its frame is dropped.
func TestStreamNothingAfterEnd(t *testing.T) {
	s := NewOpenAIToAnthropicStream(&RequestInfo{Model: "m"}, nil, "msg_1")
	s.Feed([]byte(`{"choices":[{"index":0,"delta":{"content":"hi"}}]}`))
	s.fail("api_error", "x")
	s.closeBlock()
	s.openBlock(stThinking)
	s.textDelta(stThinking, []byte("late"))
	s.ping()
	var names []string
	for ev, ok := s.Next(); ok; ev, ok = s.Next() {
		names = append(names, string(ev.Name))
	}
	want := []string{"message_start", "content_block_start", "ping", "content_block_delta", "error"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestStreamLimits: a stream that would make the OpenAIToAnthropicStream hold too much
// fails with an error event instead, and nothing follows it.
func TestStreamLimits(t *testing.T) {
	t.Run("calls", func(t *testing.T) {
		var chunks []string
		for i := range stMaxCalls + 1 {
			chunks = append(chunks, `{"choices":[{"index":0,"delta":{"tool_calls":[{"index":`+strconv.Itoa(i)+`,"function":{"name":"f","arguments":"{}"}}]}}]}`)
		}
		s := NewOpenAIToAnthropicStream(&RequestInfo{Model: "m"}, nil, "msg_1")
		for i, c := range chunks {
			s.Feed([]byte(c))
			if err := s.Err(); (err != nil) != (i == stMaxCalls) {
				t.Fatalf("Feed of call %d: %v", i, err)
			}
		}
		out := stFeedAll(t, s, nil, "[DONE]")
		if msg := stAccumulate(t, out); msg.Error != "api_error: upstream stream could not be translated: too many tool calls" || len(msg.Blocks) != stMaxCalls {
			t.Errorf("error %q after %d blocks", msg.Error, len(msg.Blocks))
		}
	})
	t.Run("held bytes", func(t *testing.T) {
		if testing.Short() {
			t.Skip("feeds 32 MiB")
		}
		big := strings.Repeat("x", stMaxBuffered/3+1)
		s := NewOpenAIToAnthropicStream(&RequestInfo{Model: "m"}, nil, "msg_1")
		out := stFeedAll(t, s, nil,
			// An incomplete call holds the block; the text waits behind it.
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"content":"`+big+`"}}]}`,
			`{"choices":[{"index":0,"delta":{"content":"`+big+`"}}]}`,
			`{"choices":[{"index":0,"delta":{"content":"`+big+`"}}]}`,
			`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, "[DONE]")
		msg := stAccumulate(t, out)
		if msg.Error != "api_error: upstream stream could not be translated: too much output held back" {
			t.Errorf("error %q", msg.Error)
		}
		if s.StopReason() != "" {
			t.Errorf("StopReason() %q after an error", s.StopReason())
		}
	})
}

// stOrder abbreviates the block events of a stream.
func stOrder(t *testing.T, out []byte) string {
	var parts []string
	rd := sse.NewReader(bytes.NewReader(out), 0)
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		var e struct {
			ContentBlock struct{ ID string } `json:"content_block"`
			Delta        struct {
				PartialJSON *string `json:"partial_json"`
			}
		}
		json.Unmarshal(ev.Data, &e)
		switch string(ev.Name) {
		case "content_block_start":
			parts = append(parts, "start:"+e.ContentBlock.ID)
		case "content_block_delta":
			if e.Delta.PartialJSON != nil {
				parts = append(parts, "d:'"+*e.Delta.PartialJSON+"'")
			}
		case "content_block_stop":
			parts = append(parts, "stop")
		case "ping":
			parts = append(parts, "ping")
		}
	}
	return strings.Join(parts, " ")
}

// TestStreamUTF8Split: a character whose bytes an upstream splits across
// two chunks arrives whole; bytes that never complete become U+FFFD.
func TestStreamUTF8Split(t *testing.T) {
	s := NewOpenAIToAnthropicStream(&RequestInfo{Model: "m"}, nil, "msg_1")
	out := stFeedAll(t, s, nil,
		"{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"\xe6\x80\"}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"\x9d\xe8\x80\x83\"}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\xf0\x9f\"}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\x98\x80 ok \xe4\xb8\"}}]}",
		`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, "[DONE]")
	msg := stAccumulate(t, out)
	want := []stBlock{
		{Type: "thinking", Thinking: "思考", Signature: stWantSignature("思考")},
		{Type: "text", Text: "😀 ok \ufffd\ufffd"},
	}
	if diff := cmp.Diff(want, msg.Blocks); diff != "" {
		t.Errorf("blocks (-want +got):\n%s", diff)
	}
}

func TestStreamMessageStart(t *testing.T) {
	s := NewOpenAIToAnthropicStream(&RequestInfo{Model: "qwen3-coder\"<&>\xff", InputEstimate: 1234}, nil, "msg_01X")
	s.Feed([]byte(`{"id":"chatcmpl-1","model":"upstream-name","choices":[{"index":0,"delta":{"role":"assistant"}}]}`))
	ev, ok := s.Next()
	if !ok {
		t.Fatal("no message_start after the first chunk")
	}
	want := `{"type":"message_start","message":{"id":"msg_01X","type":"message","role":"assistant","model":"qwen3-coder\"<&>\ufffd","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1234,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`
	if string(ev.Data) != want {
		t.Errorf("message_start\n got %s\nwant %s", ev.Data, want)
	}
	if ev, ok := s.Next(); ok {
		t.Errorf("a role-only chunk sent %s", ev.Raw)
	}
	// Nil info and profile are allowed.
	s = NewOpenAIToAnthropicStream(nil, nil, "")
	out := stFeedAll(t, s, nil, `{"choices":[{"index":0,"delta":{"reasoning":"r","content":"c"},"finish_reason":"stop"}]}`, "[DONE]")
	if msg := stAccumulate(t, out); len(msg.Blocks) != 2 || msg.Blocks[0].Thinking != "r" || msg.Blocks[0].Signature != stWantSignature("r") {
		t.Errorf("nil info/profile: %+v", msg.Blocks)
	}
}

// TestStreamProfileReasoning: only the profile's fields are reasoning, the
// first one present wins, and an empty list reads none.
func TestStreamProfileReasoning(t *testing.T) {
	chunk := `{"choices":[{"index":0,"delta":{"reasoning":"B","reasoning_content":"A","content":"c"},"finish_reason":"stop"}]}`
	for _, tt := range []struct {
		fields []string
		want   string
	}{
		{[]string{"reasoning_content", "reasoning"}, "A"},
		{[]string{"reasoning", "reasoning_content"}, "B"},
		{[]string{"reasoning"}, "B"},
		{[]string{}, ""},
	} {
		s := NewOpenAIToAnthropicStream(&RequestInfo{Model: "m"}, &Profile{ReasoningFields: tt.fields}, "msg_1")
		out := stFeedAll(t, s, nil, chunk, "[DONE]")
		var got string
		for _, b := range stAccumulate(t, out).Blocks {
			got += b.Thinking
		}
		if got != tt.want {
			t.Errorf("fields %v: thinking %q, want %q", tt.fields, got, tt.want)
		}
	}
}

// TestStreamJSONString holds the string writer and reader to encoding/json.
func TestStreamJSONString(t *testing.T) {
	inputs := []string{
		"", "plain", "quote\" back\\slash /", "\x00\x01\x08\x0c\n\r\t\x1f\x7f",
		"<script>&amp;</script>", "\u2028\u2029", "中文 emoji 😀", "bad \xff \xe4\xb8 \xed\xa0\x80 end",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(24))
		for i := range b {
			b[i] = byte(rng.IntN(256))
			if rng.IntN(2) == 0 {
				const pool = "a\"\\\n\xe4\xb8\xad\xf0\x9f\x98\x80\xe2\x80\xa8"
				b[i] = pool[rng.IntN(len(pool))]
			}
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(in)
		want := strings.TrimSuffix(buf.String(), "\n")
		if got := string(jsonpeek.AppendStringBytes(nil, []byte(in))); got != want {
			t.Errorf("jsonpeek.AppendStringBytes(%q) = %s, want %s", in, got, want)
		}
		// Reading what encoding/json writes gives what it reads.
		lit, _ := json.Marshal(in)
		var dec string
		json.Unmarshal(lit, &dec)
		if got := string(jsonpeek.AppendUnquotedRaw(nil, lit[1:len(lit)-1])); got != dec {
			t.Errorf("AppendUnquotedRaw(%s) = %q, want %q", lit, got, dec)
		}
	}
	for _, lit := range []string{`"\ud83d\ude00"`, `"\ud83d"`, `"\ude00x"`, `"\ud83d\u0041"`, `"\u00e9\/\b\f"`, `"\uD83D\uDE00"`} {
		var dec string
		json.Unmarshal([]byte(lit), &dec)
		if got := string(jsonpeek.AppendUnquotedRaw(nil, []byte(lit[1:len(lit)-1]))); got != dec {
			t.Errorf("AppendUnquotedRaw(%s) = %q, want %q", lit, got, dec)
		}
	}
}

// stWantSignature is the marker signature of a thinking block with text
// thinking, as response.go's Signature makes it for non-streaming answers.
func stWantSignature(thinking string) string {
	h := sha256.Sum256([]byte(thinking))
	return "ferry:" + hex.EncodeToString(h[:8])
}

// TestStreamSignatureMarker: every thinking block is closed with the marker
// made from its own text, invalid bytes hashed as the U+FFFD the client
// reads.
func TestStreamSignatureMarker(t *testing.T) {
	s := NewOpenAIToAnthropicStream(&RequestInfo{Model: "m"}, nil, "msg_01abc")
	out := stFeedAll(t, s, nil,
		`{"choices":[{"index":0,"delta":{"reasoning_content":"one"}}]}`,
		`{"choices":[{"index":0,"delta":{"reasoning_content":" more"}}]}`,
		`{"choices":[{"index":0,"delta":{"content":"text"}}]}`,
		"{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"tw\xffo \\ud800 é\"}}]}",
		`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, "[DONE]")
	want := []stBlock{
		{Type: "thinking", Thinking: "one more", Signature: stWantSignature("one more")},
		{Type: "text", Text: "text"},
		{Type: "thinking", Thinking: "tw\ufffdo \ufffd é", Signature: stWantSignature("tw\ufffdo \ufffd é")},
	}
	if diff := cmp.Diff(want, stAccumulate(t, out).Blocks); diff != "" {
		t.Errorf("blocks (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(want[0].Signature, stSignaturePrefix) || len(want[0].Signature) != len("ferry:")+16 {
		t.Errorf("signature %q", want[0].Signature)
	}
}

// stBenchChunks builds realistic upstream chunk data: a 200-chunk text
// stream in OpenAI's shape, and a tool-call stream.
func stBenchChunks(kind string) [][]byte {
	head := `{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":`
	tail := `,"logprobs":null,"finish_reason":null}],"usage":null}`
	words := []string{" the", " gateway", " translates", " each", " chunk", " into", " Anthropic", " events", ",", " keeping", " one", " block", " open", " at", " a", " time", ".", "\\n", " 中文", " \\\"quoted\\\""}
	var cs [][]byte
	cs = append(cs, []byte(head+`{"role":"assistant","content":"","refusal":null}`+tail))
	switch kind {
	case "text":
		for i := range 197 {
			cs = append(cs, []byte(head+`{"content":"`+words[i%len(words)]+`"}`+tail))
		}
		cs = append(cs, []byte(head+`{}`+`,"logprobs":null,"finish_reason":"stop"}],"usage":null}`))
	case "tools":
		for i := range 20 {
			cs = append(cs, []byte(head+`{"content":"`+words[i%len(words)]+`"}`+tail))
		}
		args := `{\"file_path\":\"/work/main/internal/translate/stream.go\",\"old_string\":\"func (s *Stream) Feed(data []byte) error {\",\"new_string\":\"func (s *Stream) Feed(data []byte) error {\\n\\t// comment\"}`
		for call := range 2 {
			cs = append(cs, []byte(head+`{"tool_calls":[{"index":`+strconv.Itoa(call)+`,"id":"call_`+strconv.Itoa(call)+`abcdefgh","type":"function","function":{"name":"Edit","arguments":""}}]}`+tail))
			for i := 0; i < len(args); {
				j := min(i+6, len(args))
				for j < len(args) && args[j-1] == '\\' {
					j++
				}
				cs = append(cs, []byte(head+`{"tool_calls":[{"index":`+strconv.Itoa(call)+`,"function":{"arguments":"`+args[i:j]+`"}}]}`+tail))
				i = j
			}
		}
		cs = append(cs, []byte(head+`{}`+`,"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}`))
	}
	cs = append(cs, []byte(`{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}}}`))
	cs = append(cs, []byte("[DONE]"))
	return cs
}

// TestStreamAllocs: once its buffers have grown, a OpenAIToAnthropicStream translates a
// text chunk or a tool-call arguments chunk without allocating.
func TestStreamAllocs(t *testing.T) {
	s := NewOpenAIToAnthropicStream(&RequestInfo{Model: "m"}, nil, "msg_1")
	feed := func(c []byte) {
		s.Feed(c)
		for _, ok := s.Next(); ok; _, ok = s.Next() {
		}
	}
	text := []byte(`{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" more \"text\" 中文"},"finish_reason":null}],"usage":null}`)
	args := []byte(`{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"x\\n\":1,"}}]},"finish_reason":null}],"usage":null}`)
	for range 10 {
		feed(text)
	}
	if n := testing.AllocsPerRun(200, func() { feed(text) }); n != 0 {
		t.Errorf("%v allocations per text chunk", n)
	}
	feed([]byte(`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{"}}]}}]}`))
	for range 10 {
		feed(args)
	}
	if n := testing.AllocsPerRun(200, func() { feed(args) }); n != 0 {
		t.Errorf("%v allocations per arguments chunk", n)
	}
}

func BenchmarkStream(b *testing.B) {
	for _, kind := range []string{"text", "tools"} {
		chunks := stBenchChunks(kind)
		b.Run(kind, func(b *testing.B) {
			info := &RequestInfo{Model: "claude-sonnet-4-5", InputEstimate: 1000}
			var bytesOut int
			b.ReportAllocs()
			for b.Loop() {
				s := NewOpenAIToAnthropicStream(info, nil, "msg_01Bench")
				bytesOut = 0
				for _, c := range chunks {
					s.Feed(c)
					for ev, ok := s.Next(); ok; ev, ok = s.Next() {
						bytesOut += len(ev.Raw)
					}
				}
				s.Finish(nil)
				if !s.Finished() {
					b.Fatal("not finished")
				}
			}
			n := float64(b.N) * float64(len(chunks))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/chunk")
			b.ReportMetric(float64(len(chunks)), "chunks")
			b.SetBytes(int64(bytesOut))
		})
	}
}

// TestStreamOneToolCall: with disable_parallel_tool_use, calls after the
// first are dropped however the upstream interleaves them, and the
// OpenAIToAnthropicStream says which it dropped.
func TestStreamOneToolCall(t *testing.T) {
	up := []byte(`data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c0","type":"function","function":{"name":"add","arguments":"{\"a\":"}}]}}]}

data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"c1","type":"function","function":{"name":"mul","arguments":"{\"b\":"}}]}}]}

data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"2}"}}]}}]}

data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}

data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":2,"id":"c2","type":"function","function":{"name":"sub","arguments":"{}"}}]}}]}

data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

data: [DONE]

`)
	for _, one := range []bool{false, true} {
		out, s := stRun(t, &RequestInfo{Model: "m", Stream: true, OneToolCall: one}, nil, "msg_1", up, stRunOpts{})
		names := strings.Count(string(out), `"type":"tool_use"`)
		switch {
		case one && (names != 1 || !strings.Contains(string(out), `"name":"add"`) || !strings.Contains(string(out), `"partial_json":"1}"`)):
			t.Errorf("one tool call: %d tool_use blocks\n%s", names, out)
		case !one && names != 3:
			t.Errorf("parallel allowed: %d tool_use blocks", names)
		}
		err := s.DroppedToolCalls()
		if one && (err == nil || err.Error() != "disable_parallel_tool_use: kept the first tool call, dropped 2 more (mul, sub)") {
			t.Errorf("DroppedToolCalls = %v", err)
		}
		if !one && err != nil {
			t.Errorf("DroppedToolCalls = %v with parallel calls allowed", err)
		}
		if !strings.Contains(string(out), `"stop_reason":"tool_use"`) {
			t.Errorf("stop_reason is not tool_use:\n%s", out)
		}
	}
}
