package anthropic

import "testing"

func TestInspectMaxTokens(t *testing.T) {
	tests := []struct {
		body string
		want int64
	}{
		{`{"model":"m","max_tokens":1024}`, 1024},
		{`{"model":"m","max_tokens":0}`, 0},
		{`{"model":"m"}`, 0},
		{`{"model":"m","max_completion_tokens":300}`, 300},                    // OpenAI
		{`{"model":"m","max_tokens":100,"max_completion_tokens":300}`, 300},   // the larger
		{`{"model":"m","max_completion_tokens":300,"max_tokens":1000}`, 1000}, // in any order
		{`{"model":"m","max_tokens":-5}`, 0},
		{`{"model":"m","max_tokens":1.5}`, 0},
		{`{"model":"m","max_tokens":1e3}`, 0},
		{`{"model":"m","max_tokens":"64000"}`, 0},
		{`{"model":"m","max_tokens":null}`, 0},
		{`{"model":"m","max_tokens":99999999999999999999999}`, 1 << 53}, // saturates
		{`{"model":"m","metadata":{"max_tokens":7}}`, 0},                // top level only
	}
	for _, tt := range tests {
		p, err := Inspect([]byte(tt.body))
		if err != nil {
			t.Errorf("Inspect(%s): %v", tt.body, err)
			continue
		}
		if p.MaxTokens != tt.want {
			t.Errorf("Inspect(%s).MaxTokens = %d, want %d", tt.body, p.MaxTokens, tt.want)
		}
	}
}
