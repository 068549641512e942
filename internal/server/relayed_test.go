package server

import (
	"strings"
	"testing"
)

func TestRelayedText(t *testing.T) {
	type ev struct{ name, data string }
	tests := []struct {
		name         string
		openai       bool
		events       []ev
		narrow, wide int64
	}{
		{
			name: "anthropic: text, thinking and tool input deltas; nothing else",
			events: []ev{
				{"message_start", `{"type":"message_start","message":{"content":[],"usage":{"input_tokens":10,"output_tokens":1}}}`},
				{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
				{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}`},
				{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi \"you\"\n\u00e9你好"}}`},
				{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":1}"}}`},
				{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"signature_delta","signature":"c2lnbmF0dXJl"}}`},
				{"ping", `{"type":"ping"}`},
				{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}`},
			},
			// hmm(3) + Hi "you"\n(9) + {"a":1}(7); é 你 好 wide.
			narrow: 19, wide: 3,
		},
		{
			name:   "openai: content, reasoning and tool-call arguments",
			openai: true,
			events: []ev{
				{"", `{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"}}]}`},
				{"", `{"id":"c","choices":[{"index":0,"delta":{"reasoning_content":"想"}}]}`},
				{"", `{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"f","arguments":"{\"x\""}},{"index":1,"function":{"arguments":"1"}}]}}]}`},
				{"", `{"id":"c","choices":[],"usage":{"prompt_tokens":5}}`},
				{"", `[DONE]`},
			},
			narrow: 5 + 4 + 1, wide: 1,
		},
		{
			name:   "malformed data counts nothing",
			events: []ev{{"content_block_delta", `{"delta":`}, {"content_block_delta", `{"delta":{"text":12}}`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c relayedText
			for _, e := range tt.events {
				c.add([]byte(e.name), []byte(e.data), tt.openai)
			}
			if c.narrow != tt.narrow || c.wide != tt.wide {
				t.Errorf("counted %d narrow, %d wide; want %d, %d", c.narrow, c.wide, tt.narrow, tt.wide)
			}
		})
	}
	c := relayedText{narrow: 9, wide: 2}
	if got := c.tokens(); got != 5 {
		t.Errorf("tokens of 9 narrow and 2 wide characters: %d, want 5 (3 + 2)", got)
	}
}

func TestRelayedTextAllocs(t *testing.T) {
	name := []byte("content_block_delta")
	data := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"` + strings.Repeat("word ", 20) + `"}}`)
	var c relayedText
	if n := testing.AllocsPerRun(100, func() { c.add(name, data, false) }); n != 0 {
		t.Errorf("%v allocations per event, want 0", n)
	}
}

// BenchmarkRelayedText is the cost per streamed event of counting the text
// relayed (every stream pays it).
func BenchmarkRelayedText(b *testing.B) {
	name := []byte("content_block_delta")
	data := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"` + strings.Repeat("word ", 20) + `"}}`)
	var c relayedText
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c.add(name, data, false)
	}
}

// FuzzRelayedText: any event data from an upstream is counted without a
// panic, and never as more characters than it has bytes.
func FuzzRelayedText(f *testing.F) {
	f.Add([]byte("content_block_delta"), []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi \u00e9\n你"}}`), false)
	f.Add([]byte(""), []byte(`{"choices":[{"delta":{"content":"a","tool_calls":[{"function":{"arguments":"{\"x\":1}"}}]}}]}`), true)
	f.Add([]byte("content_block_delta"), []byte(`{"delta":{"text":"\u12"}}`), false)
	f.Fuzz(func(t *testing.T, name, data []byte, openaiFormat bool) {
		var c relayedText
		c.add(name, data, openaiFormat)
		if c.narrow < 0 || c.wide < 0 || c.narrow+c.wide > int64(len(data)) {
			t.Fatalf("counted %d narrow, %d wide in %d bytes", c.narrow, c.wide, len(data))
		}
	})
}
