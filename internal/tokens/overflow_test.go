package tokens

import "testing"

func TestContextOverflowMessages(t *testing.T) {
	tests := []struct {
		c              ContextOverflow
		anthropic, oai string
	}{
		{ContextOverflow{Input: 190000, MaxTokens: 64000, Limit: 200000},
			"input length and `max_tokens` exceed context limit: 190000 + 64000 > 200000",
			"This model's maximum context length is 200000 tokens. However, you requested 254000 tokens (190000 in the messages, 64000 in the completion). Please reduce the length of the messages or completion."},
		{ContextOverflow{Input: 208310, MaxTokens: 64000, Limit: 200000}, // the prompt alone is over
			"prompt is too long: 208310 tokens > 200000 maximum",
			"This model's maximum context length is 200000 tokens. However, your messages resulted in 208310 tokens. Please reduce the length of the messages."},
		{ContextOverflow{Input: 208310, Limit: 200000},
			"prompt is too long: 208310 tokens > 200000 maximum",
			"This model's maximum context length is 200000 tokens. However, your messages resulted in 208310 tokens. Please reduce the length of the messages."},
	}
	for _, tt := range tests {
		if got := tt.c.AnthropicMessage(); got != tt.anthropic {
			t.Errorf("%+v: Anthropic %q, want %q", tt.c, got, tt.anthropic)
		}
		if got := tt.c.OpenAIMessage(); got != tt.oai {
			t.Errorf("%+v: OpenAI %q, want %q", tt.c, got, tt.oai)
		}
		back, ok := ParseAnthropicContextMessage(tt.anthropic + ", decrease input length or `max_tokens` and try again")
		if !ok || back.Input != tt.c.Input || back.Limit != tt.c.Limit {
			t.Errorf("%q parses as %+v %v", tt.anthropic, back, ok)
		}
	}
	if _, ok := ParseAnthropicContextMessage("max_tokens: 300000 > 128000, which is the maximum allowed"); ok {
		t.Error("an unrelated message parsed")
	}
}

// FuzzParseAnthropicContextMessage: whatever an Anthropic upstream says,
// what parses renders back to a sentence that parses to the same numbers.
func FuzzParseAnthropicContextMessage(f *testing.F) {
	f.Add("prompt is too long: 208310 tokens > 200000 maximum")
	f.Add("input length and `max_tokens` exceed context limit: 190000 + 64000 > 200000, decrease input length or `max_tokens` and try again")
	f.Fuzz(func(t *testing.T, msg string) {
		c, ok := ParseAnthropicContextMessage(msg)
		if !ok {
			return
		}
		for _, s := range []string{c.AnthropicMessage()} {
			back, ok := ParseAnthropicContextMessage(s)
			if !ok || back.Input != c.Input || back.Limit != c.Limit {
				t.Fatalf("%q → %+v → %q → %+v %v", msg, c, s, back, ok)
			}
		}
		_ = c.OpenAIMessage()
	})
}
