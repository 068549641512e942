package shadow

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSimilarity(t *testing.T) {
	tests := []struct {
		name     string
		a, b     string
		min, max float64
	}{
		{"identical", "The capital of France is Paris.", "The capital of France is Paris.", 1, 1},
		{"empty and empty", "", "", 1, 1},
		{"blank and empty", "  \n", "", 1, 1},
		{"empty and text", "", "hello", 0, 0},
		{"punctuation only, different", "...", "!!!", 0, 0},
		{"case and punctuation", "Hello, World!", "hello world", 1, 1},
		{"reordered", "The capital of France is Paris.", "Paris is the capital of France.", 0.99, 1},
		{"reworded", "I'd be happy to help you with that. The function returns the sum of two numbers.",
			"I would be glad to help with this. This function returns the sum of the two numbers.", 0.8, 0.95},
		{"reworded instructions", "To install the package, run npm install express and then require it in your app.js file.",
			"Run `npm install express` to install the package, then require it from app.js.", 0.85, 1},
		{"unrelated", "The weather in Paris is sunny today.", "Quantum computers use qubits to perform calculations.", 0, 0.15},
		{"unrelated, longer", "Here is a Python function that reverses a string: def rev(s): return s[::-1]",
			"The French Revolution began in 1789 and ended the monarchy.", 0, 0.3},
		{"CJK reordered", "北京是中国的首都。", "中国的首都是北京。", 0.7, 0.85},
		{"CJK unrelated", "北京是中国的首都。", "今天天气很好，我们去公园散步吧。", 0, 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Similarity(tt.a, tt.b)
			if got < tt.min || got > tt.max {
				t.Errorf("Similarity = %.3f, want within [%g, %g]", got, tt.min, tt.max)
			}
			if rev := Similarity(tt.b, tt.a); rev != got {
				t.Errorf("not symmetric: %.6f vs %.6f", got, rev)
			}
		})
	}
}

func TestToolCallsAgree(t *testing.T) {
	call := func(name, input string) ToolCall { return ToolCall{Name: name, Input: json.RawMessage(input)} }
	tests := []struct {
		name string
		a, b []ToolCall
		want bool
	}{
		{"none", nil, nil, true},
		{"same", []ToolCall{call("f", `{"a":1}`)}, []ToolCall{call("f", `{"a":1}`)}, true},
		{"key order and spacing", []ToolCall{call("f", `{"a":1,"b":[true,null,"x"]}`)}, []ToolCall{call("f", ` { "b" : [true, null, "x"], "a" : 1 } `)}, true},
		{"1 and 1.0", []ToolCall{call("f", `{"n":1}`)}, []ToolCall{call("f", `{"n":1.0}`)}, true},
		{"big integers differ", []ToolCall{call("f", `{"n":9007199254740993}`)}, []ToolCall{call("f", `{"n":9007199254740992}`)}, false},
		{"empty input is {}", []ToolCall{call("f", ``)}, []ToolCall{call("f", `{}`)}, true},
		{"different value", []ToolCall{call("f", `{"a":1}`)}, []ToolCall{call("f", `{"a":2}`)}, false},
		{"extra key", []ToolCall{call("f", `{"a":1}`)}, []ToolCall{call("f", `{"a":1,"b":2}`)}, false},
		{"string vs number", []ToolCall{call("f", `{"a":"1"}`)}, []ToolCall{call("f", `{"a":1}`)}, false},
		{"array order matters", []ToolCall{call("f", `[1,2]`)}, []ToolCall{call("f", `[2,1]`)}, false},
		{"different name", []ToolCall{call("f", `{}`)}, []ToolCall{call("g", `{}`)}, false},
		{"different order", []ToolCall{call("f", `{}`), call("g", `{}`)}, []ToolCall{call("g", `{}`), call("f", `{}`)}, false},
		{"one missing", []ToolCall{call("f", `{}`)}, nil, false},
		{"invalid JSON, same bytes", []ToolCall{call("f", `{"a":`)}, []ToolCall{call("f", `{"a":`)}, true},
		{"invalid JSON, different", []ToolCall{call("f", `{"a":`)}, []ToolCall{call("f", `{"a": `)}, false},
		{"trailing data", []ToolCall{call("f", `{} {}`)}, []ToolCall{call("f", `{}`)}, false},
		{"both truncated, same", []ToolCall{{Name: "f", Input: json.RawMessage(`{"a":"xx`), Truncated: true}}, []ToolCall{{Name: "f", Input: json.RawMessage(`{"a":"xx`), Truncated: true}}, true},
		{"one truncated", []ToolCall{{Name: "f", Input: json.RawMessage(`{"a":"xx`), Truncated: true}}, []ToolCall{call("f", `{"a":"xx"}`)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ToolCallsAgree(tt.a, tt.b); got != tt.want {
				t.Errorf("ToolCallsAgree = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	ok := func(text string, latency time.Duration, tools ...ToolCall) Outcome {
		return Outcome{Status: 200, Latency: latency, TTFB: latency / 4, Text: text, ToolCalls: tools, StopReason: "end_turn", InputTokens: 10, OutputTokens: 20}
	}
	text := "The capital of France is Paris."
	tests := []struct {
		name string
		p, s Outcome
		want Comparison
	}{
		{
			name: "agree",
			p:    ok(text, time.Second), s: ok("Paris is the capital of France.", 2*time.Second),
			want: Comparison{Result: Agree, StatusMatch: true, ClassMatch: true, Both: true, Similarity: 1, ToolsAgree: true, StopMatch: true, LatencyRatio: 2, TTFBRatio: 2},
		},
		{
			name: "unrelated text",
			p:    ok(text, time.Second), s: ok("Quantum computers use qubits.", time.Second/2),
			want: Comparison{Result: Disagree, StatusMatch: true, ClassMatch: true, Both: true, ToolsAgree: true, StopMatch: true, LatencyRatio: 0.5, TTFBRatio: 0.5},
		},
		{
			name: "tools differ",
			p:    ok("", time.Second, ToolCall{Name: "f", Input: json.RawMessage(`{}`)}), s: ok("", time.Second),
			want: Comparison{Result: Disagree, StatusMatch: true, ClassMatch: true, Both: true, Similarity: 1, StopMatch: true, LatencyRatio: 1, TTFBRatio: 1},
		},
		{
			name: "same class, not compared further",
			p:    Outcome{Status: 429}, s: Outcome{Status: 400},
			want: Comparison{Result: Agree, ClassMatch: true},
		},
		{
			name: "primary 200, shadow 529",
			p:    ok(text, time.Second), s: Outcome{Status: 529, ErrorType: "overloaded_error"},
			want: Comparison{Result: Disagree},
		},
		{
			name: "shadow without an answer",
			p:    ok(text, time.Second), s: Outcome{Err: "dial tcp: connection refused"},
			want: Comparison{Result: Error},
		},
		{
			name: "shadow stream broke",
			p:    ok(text, time.Second), s: Outcome{Status: 200, Text: text, Err: "stream ended before message_stop"},
			want: Comparison{Result: Error},
		},
		{
			name: "primary stream broke",
			p:    Outcome{Status: 200, Text: text, Err: "stream ended before message_stop"}, s: ok(text, time.Second),
			want: Comparison{Result: Disagree, StatusMatch: true, ClassMatch: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compare(tt.p, tt.s, DefaultThreshold)
			if tt.want.Result == Disagree && tt.want.Both && tt.want.Similarity == 0 {
				tt.want.Similarity = got.Similarity // checked below
				if got.Similarity >= 0.3 {
					t.Errorf("similarity %.3f for unrelated text", got.Similarity)
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Compare (-want +got):\n%s", d)
			}
		})
	}
	t.Run("threshold is inclusive", func(t *testing.T) {
		a, b := "alpha beta gamma delta", "alpha beta gamma epsilon"
		sim := Similarity(a, b)
		if got := Compare(ok(a, time.Second), ok(b, time.Second), sim).Result; got != Agree {
			t.Errorf("at the threshold: %s", got)
		}
		if got := Compare(ok(a, time.Second), ok(b, time.Second), sim+0.001).Result; got != Disagree {
			t.Errorf("above the threshold: %s", got)
		}
	})
	t.Run("buffers are reused safely", func(t *testing.T) {
		var s similarity
		long := strings.Repeat("many words in a long answer ", 1000)
		first := s.of(long, long+" extra")
		s.of("x", "y")
		if again := s.of(long, long+" extra"); again != first {
			t.Errorf("%.6f then %.6f", first, again)
		}
	})
}
