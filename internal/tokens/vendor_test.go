package tokens

import "testing"

// TestParseVendorContextMessage reads one message of each wording.
func TestParseVendorContextMessage(t *testing.T) {
	tests := []struct {
		msg       string
		maxTokens int64
		want      ContextOverflow
		limitOnly bool
	}{
		{"This model's maximum context length is 131072 tokens. However, you requested 131329 tokens (123137 in the messages, 8192 in the completion).", 0,
			ContextOverflow{Input: 123137, MaxTokens: 8192, Limit: 131072}, false},
		{"'max_tokens' or 'max_completion_tokens' is too large: 8000. This model's maximum context length is 4096 tokens and your request has 2778 input tokens (8000 > 4096 - 2778).", 0,
			ContextOverflow{Input: 2778, MaxTokens: 8000, Limit: 4096}, false},
		{"This model's maximum context length is 40960 tokens. However, you requested 0 output tokens and your prompt contains at least 40961 input tokens, for a total of at least 40961 tokens.", 0,
			ContextOverflow{Input: 40961, Limit: 40960}, false},
		{"maximum context length of 32768 tokens. You requested a total of 40000 tokens: 36000 tokens from the input messages and 4000 tokens for the completion.", 0,
			ContextOverflow{Input: 36000, MaxTokens: 4000, Limit: 32768}, false},
		{"This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens", 0,
			ContextOverflow{Input: 130000, Limit: 128000}, false},
		{"The decoder prompt (length 8825) is longer than the maximum model length of 8192.", 0,
			ContextOverflow{Input: 8825, Limit: 8192}, false},
		{"request (26528 tokens) exceeds the available context size (16384 tokens), try increasing it", 0,
			ContextOverflow{Input: 26528, Limit: 16384}, false},
		{"Invalid request: Your request exceeded model token limit: 262144 (requested: 269030)", 0,
			ContextOverflow{Input: 269030, Limit: 262144}, false},
		{"Invalid request: Your request exceeded model token limit: 262144 (requested: 269030)", 8000,
			ContextOverflow{Input: 261030, MaxTokens: 8000, Limit: 262144}, false},
		{"Invalid request: Your request exceeded model token limit: 262144 (requested: 269030)", 300000,
			ContextOverflow{Input: 269030, Limit: 262144}, false},
		{"You passed 5000 input tokens and requested 1024 output tokens. However, the model's context length is only 4096 tokens, resulting in a maximum input length of 3072 tokens.", 0,
			ContextOverflow{Input: 5000, MaxTokens: 1024, Limit: 4096}, false},
		{"number of input tokens (83121) have exceeded max_prompt_tokens (65536) limit.", 0,
			ContextOverflow{Input: 83121, Limit: 65536}, false},
		{"length of prompt_tokens (147509) must be less than max_seq_len (65536).", 0,
			ContextOverflow{Input: 147509, Limit: 65536}, false},
		{"Input tokens exceed the configured limit of 922000 tokens. Your messages resulted in 926618 tokens.", 0,
			ContextOverflow{Input: 926618, Limit: 922000}, false},
		{"<400> InternalError.Algo.InvalidParameter: Range of input length should be [1, 202752]", 0,
			ContextOverflow{Limit: 202752}, true},
		{"You passed 90000 input characters and requested 1024 output tokens. However, the model's context length is only 4096 tokens", 0,
			ContextOverflow{MaxTokens: 1024, Limit: 4096}, true},
	}
	for _, tt := range tests {
		got, limitOnly, ok := ParseVendorContextMessage(tt.msg, tt.maxTokens)
		if !ok || got != tt.want || limitOnly != tt.limitOnly {
			t.Errorf("ParseVendorContextMessage(%q, %d) = %+v, %v, %v; want %+v, %v, true", tt.msg, tt.maxTokens, got, limitOnly, ok, tt.want, tt.limitOnly)
		}
	}
	if _, _, ok := ParseVendorContextMessage("rate limited", 0); ok {
		t.Error("an unrelated message parsed")
	}
}
