package translate

// Context-length errors in the words clients act on. A vendor's own
// sentence for "the conversation outgrew the model" is read elsewhere
// (openaicompat's errors); these are the sentences clients parse, in one
// place for both client formats.
//
// Anthropic clients: Claude Code matches two sentences (PROTOCOL.md §5):
//
//	input length and `max_tokens` exceed context limit: A + B > C
//	    re-sent at once with max_tokens = C - A - 1000
//	prompt is too long: N tokens > M maximum
//	    the conversation is compacted (or the user told to)
//
// OpenAI clients: code context_length_exceeded with OpenAI's own wording,
// whose numbers LiteLLM, LangChain and agent loops read.

import (
	"fmt"
	"regexp"
	"strconv"
)

// ContextOverflow is a context-length refusal in numbers: Input tokens of
// prompt, MaxTokens asked for the answer (0 when the prompt alone is over
// the limit or the request's max_tokens is not known), Limit the model's
// context window.
type ContextOverflow struct {
	Input, MaxTokens, Limit int64
}

// promptOnly reports whether the prompt alone is the problem: no
// max_tokens would make it fit.
func (c ContextOverflow) promptOnly() bool { return c.MaxTokens <= 0 || c.Input >= c.Limit }

// AnthropicMessage is the sentence Claude Code parses.
func (c ContextOverflow) AnthropicMessage() string {
	if c.promptOnly() {
		return fmt.Sprintf("prompt is too long: %d tokens > %d maximum", c.Input, c.Limit)
	}
	return fmt.Sprintf("input length and `max_tokens` exceed context limit: %d + %d > %d", c.Input, c.MaxTokens, c.Limit)
}

// OpenAIMessage is OpenAI's own sentence for the same refusal
// (context_length_exceeded), with the completion part when max_tokens is
// what tipped it over.
func (c ContextOverflow) OpenAIMessage() string {
	if c.promptOnly() {
		return fmt.Sprintf("This model's maximum context length is %d tokens. However, your messages resulted in %d tokens. Please reduce the length of the messages.", c.Limit, c.Input)
	}
	return fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.", c.Limit, c.Input+c.MaxTokens, c.Input, c.MaxTokens)
}

// The two Anthropic sentences, as Claude Code matches them (PROTOCOL.md
// §5); Anthropic itself appends ", decrease input length or `max_tokens`
// and try again" to the first.
var (
	claudeInputAndMax = regexp.MustCompile("input length and `max_tokens` exceed context limit: (\\d+) \\+ (\\d+) > (\\d+)")
	claudePromptLong  = regexp.MustCompile(`prompt is too long[^0-9]*(\d+)\s*tokens?\s*>\s*(\d+)`)
)

// ParseAnthropicContextMessage reads the numbers of an Anthropic
// context-length message; ok is false for any other message.
func ParseAnthropicContextMessage(msg string) (c ContextOverflow, ok bool) {
	num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	if s := claudeInputAndMax.FindStringSubmatch(msg); s != nil {
		return ContextOverflow{Input: num(s[1]), MaxTokens: num(s[2]), Limit: num(s[3])}, true
	}
	if s := claudePromptLong.FindStringSubmatch(msg); s != nil {
		return ContextOverflow{Input: num(s[1]), Limit: num(s[2])}, true
	}
	return c, false
}
