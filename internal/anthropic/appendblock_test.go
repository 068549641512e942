package anthropic

import (
	"encoding/json"
	"testing"
)

// The hand writers must give the bytes Marshal gives the same block.
func TestAppendBlockMatchesMarshal(t *testing.T) {
	odd := "a\"b\\c\n\x00\u2028<&> 中文 \xff"
	input := `{"path":"/tmp/<x>","n":[1,2]}`
	tests := []struct {
		name  string
		block ContentBlock
		got   []byte
	}{
		{"text", ContentBlock{Type: BlockText, Text: odd}, AppendTextBlock([]byte("x"), odd)},
		{"thinking", ContentBlock{Type: BlockThinking, Thinking: odd, Signature: "sig=="}, AppendThinkingBlock([]byte("x"), odd, "sig==")},
		{"thinking empty", ContentBlock{Type: BlockThinking}, AppendThinkingBlock([]byte("x"), "", "")},
		{"tool_use string", ContentBlock{Type: BlockToolUse, ID: "toolu_1", Name: odd, Input: json.RawMessage(input)}, AppendToolUseBlock([]byte("x"), "toolu_1", odd, input)},
		{"tool_use raw", ContentBlock{Type: BlockToolUse, ID: "toolu_1", Name: "Read", Input: json.RawMessage(input)}, AppendToolUseBlock([]byte("x"), "toolu_1", "Read", json.RawMessage(input))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := Marshal(tt.block)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(tt.got); got != "x"+string(want) {
				t.Errorf("got  %s\nwant x%s", got, want)
			}
		})
	}
}
