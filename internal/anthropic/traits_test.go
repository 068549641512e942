package anthropic

import (
	"testing"

	"github.com/ferrygw/ferry/internal/testbody"
)

// TestInspectTraits checks what Inspect reads for trait routing and the
// max_tokens requirement.
func TestInspectTraits(t *testing.T) {
	tests := []struct {
		body                      string
		hasMax, thinking, hasTool bool
	}{
		{body: `{"model":"m"}`},
		{body: `{"model":"m","max_tokens":0}`, hasMax: true},
		{body: `{"model":"m","max_tokens":null}`},
		{body: `{"model":"m","max_tokens":"1"}`, hasMax: true}, // present: the upstream judges its type
		{body: `{"model":"m","max_completion_tokens":5}`},
		{body: `{"model":"m","thinking":{"type":"enabled","budget_tokens":1024}}`, thinking: true},
		{body: `{"model":"m","thinking":{"budget_tokens":1024,"type":"adaptive"}}`, thinking: true},
		{body: `{"model":"m","thinking":{"type":"disabled"}}`},
		{body: `{"model":"m","thinking":null}`},
		{body: `{"model":"m","thinking":{}}`},
		{body: `{"model":"m","reasoning_effort":"high"}`, thinking: true},
		{body: `{"model":"m","reasoning_effort":"none"}`},
		{body: `{"model":"m","tools":[{"name":"a"}]}`, hasTool: true},
		{body: `{"model":"m","tools":[ ]}`},
		{body: `{"model":"m","tools":null}`},
		{body: `{"model":"m","metadata":{"tools":[1],"thinking":{"type":"enabled"}}}`},
	}
	for _, tt := range tests {
		p, err := Inspect([]byte(tt.body))
		if err != nil {
			t.Errorf("Inspect(%s): %v", tt.body, err)
			continue
		}
		if p.HasMaxTokens != tt.hasMax || p.Thinking != tt.thinking || p.Tools != tt.hasTool {
			t.Errorf("Inspect(%s) = max %v thinking %v tools %v, want %v %v %v", tt.body, p.HasMaxTokens, p.Thinking, p.Tools, tt.hasMax, tt.thinking, tt.hasTool)
		}
	}
}

// TestInspectAllocs holds Inspect to its one allocation (the model) on a
// real Claude Code body, traits included.
func TestInspectAllocs(t *testing.T) {
	body := testbody.ClaudeCode("claude-sonnet-4-5-20250929")
	if n := testing.AllocsPerRun(20, func() {
		if _, err := Inspect(body); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Errorf("Inspect: %v allocations, want 1", n)
	}
}
