package tokens

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
	if s := claudeInputAndMax.FindStringSubmatch(msg); s != nil {
		return ContextOverflow{Input: num(s[1]), MaxTokens: num(s[2]), Limit: num(s[3])}, true
	}
	if s := claudePromptLong.FindStringSubmatch(msg); s != nil {
		return ContextOverflow{Input: num(s[1]), Limit: num(s[2])}, true
	}
	return c, false
}

// Vendor wordings with numbers (their fixtures, each with its source, are
// internal/provider/openaicompat/testdata/*context*.txtar).
var (
	// OpenAI, DeepSeek (vendor-samples.md 2b), vLLM before 0.10: "This
	// model's maximum context length is 131072 tokens. However, you
	// requested 131329 tokens (123137 in the messages, 8192 in the
	// completion)." Older OpenAI: "(3200 in your prompt; 1000 for the
	// completion)".
	ctxRequested = regexp.MustCompile(`(?is)maximum context length is (\d+) tokens.*?\((\d+) in (?:the messages|your prompt)[,;] (\d+) (?:in|for) the completion\)`)
	// vLLM ≥ 0.10: "'max_tokens' or 'max_completion_tokens' is too large:
	// 8000. This model's maximum context length is 4096 tokens and your
	// request has 2778 input tokens (8000 > 4096 - 2778)."
	ctxTooLarge = regexp.MustCompile(`(?is)is too large: (\d+)\. This model's maximum context length is (\d+) tokens and your request has (\d+) input tokens`)
	// vLLM's current renderer: "This model's maximum context length is
	// 40960 tokens. However, you requested 0 output tokens and your prompt
	// contains at least 40961 input tokens, for a total of at least 40961
	// tokens." (vllm_error_context_output.txtar).
	ctxAtLeast = regexp.MustCompile(`(?is)maximum context length is (\d+) tokens.*?you requested (\d+) output tokens and your prompt contains at least (\d+) input tokens`)
	// SGLang: "… maximum context length of 32768 tokens. You requested a
	// total of 40000 tokens: 36000 tokens from the input messages and 4000
	// tokens for the completion."
	ctxSGLang = regexp.MustCompile(`(?is)maximum context length of (\d+) tokens.*?(\d+) tokens from the input messages and (\d+) tokens for the completion`)
	// The prompt alone: OpenAI "This model's maximum context length is
	// 128000 tokens. However, your messages resulted in 130000 tokens",
	// vLLM "… However, your request has 4176 input tokens".
	ctxPrompt = regexp.MustCompile(`(?is)maximum context length is (\d+) tokens.*?(?:your messages resulted in|your request has) (\d+) (?:input )?tokens`)
	// vLLM's engine check: "The decoder prompt (length 8825) is longer
	// than the maximum model length of 8192."
	ctxDecoder = regexp.MustCompile(`(?is)prompt \(length (\d+)\) is longer than the maximum model length of (\d+)`)
	// llama.cpp's server, and Ollama since it stopped truncating (its
	// OpenAI layer wraps llama.cpp's error object as a string): "request
	// (26528 tokens) exceeds the available context size (16384 tokens),
	// try increasing it".
	ctxAvailable = regexp.MustCompile(`(?is)request \((\d+) tokens\) exceeds the available context size \((\d+) tokens\)`)
	// Moonshot: "Invalid request: Your request exceeded model token limit:
	// 262144 (requested: 269030)". Input and output together may not
	// exceed the window ("Input 和 Output 的总和长度不能超过模型的最大上下文长度",
	// https://platform.moonshot.cn/docs/intro), so requested counts
	// max_tokens too.
	ctxMoonshot = regexp.MustCompile(`(?is)exceeded model token limit: (\d+) \(requested: (\d+)\)`)
	// vLLM's renderer (vllm/renderers/params.py, TokenizeParams): "You
	// passed 5000 input tokens and requested 1024 output tokens. However,
	// the model's context length is only 4096 tokens, resulting in a
	// maximum input length of 3072 tokens." The same check before
	// tokenizing counts characters ("You passed 90000 input characters
	// …"): the limit and max_tokens without the input's tokens.
	ctxPassed      = regexp.MustCompile(`(?is)You passed (\d+) input tokens and requested (\d+) output tokens\. However, the model's context length is only (\d+) tokens`)
	ctxPassedChars = regexp.MustCompile(`(?is)You passed \d+ input characters and requested (\d+) output tokens\. However, the model's context length is only (\d+) tokens`)
	// SiliconFlow and other hosts of open models: "number of input tokens
	// (83121) have exceeded max_prompt_tokens (65536) limit."
	// (https://github.com/continuedev/continue/issues/9971), "length of
	// prompt_tokens (147509) must be less than max_seq_len (65536)."
	// (https://github.com/CherryHQ/cherry-studio/issues/1131), "Input
	// tokens exceed the configured limit of 922000 tokens. Your messages
	// resulted in 926618 tokens." (seen by a DeepSeek client,
	// https://github.com/esengine/DeepSeek-Reasonix/discussions/6521).
	ctxMaxPrompt  = regexp.MustCompile(`(?is)number of input tokens \((\d+)\) have exceeded max_prompt_tokens \((\d+)\)`)
	ctxMaxSeqLen  = regexp.MustCompile(`(?is)length of prompt_tokens \((\d+)\) must be less than max_seq_len \((\d+)\)`)
	ctxConfigured = regexp.MustCompile(`(?is)exceed the configured limit of (\d+) tokens\. Your messages resulted in (\d+) tokens`)
	// DashScope gives the limit only: "<400> InternalError.Algo.InvalidParameter:
	// Range of input length should be [1, 202752]".
	ctxRange = regexp.MustCompile(`(?is)Range of input length should be \[1, (\d+)\]`)
)

// ParseVendorContextMessage reads a context-length error in a vendor's own
// words into numbers. maxTokens is the max_tokens the refused request
// carried (0 when unknown), for wordings that count it in with the input
// (Moonshot's "requested"). ok is false when msg is none of the known
// wordings. limitOnly: msg gives the limit (and MaxTokens) but not the
// input's size, which the caller must count (Input is 0).
func ParseVendorContextMessage(msg string, maxTokens int64) (c ContextOverflow, limitOnly, ok bool) {
	for i := range vendorWordings {
		w := &vendorWordings[i]
		if s := w.re.FindStringSubmatch(msg); s != nil {
			return w.read(s, maxTokens), w.input == 0, true
		}
	}
	return c, false, false
}

// vendorWordings are tried in order. Each names the submatch holding each
// number, 0 for a number the wording does not give; one without the input
// gives the limit only, and the caller counts the input.
var vendorWordings = []vendorWording{
	{re: ctxRequested, input: 2, maxTokens: 3, limit: 1},
	{re: ctxTooLarge, input: 3, maxTokens: 1, limit: 2},
	{re: ctxAtLeast, input: 3, maxTokens: 2, limit: 1},
	{re: ctxSGLang, input: 2, maxTokens: 3, limit: 1},
	{re: ctxPrompt, input: 2, limit: 1},
	{re: ctxDecoder, input: 1, limit: 2},
	{re: ctxAvailable, input: 1, limit: 2},
	{re: ctxPassed, input: 1, maxTokens: 2, limit: 3},
	{re: ctxMaxPrompt, input: 1, limit: 2},
	{re: ctxMaxSeqLen, input: 1, limit: 2},
	{re: ctxConfigured, input: 2, limit: 1},
	{re: ctxMoonshot, input: 2, limit: 1, inputHasMax: true},
	{re: ctxRange, limit: 1},
	{re: ctxPassedChars, maxTokens: 1, limit: 2},
}

type vendorWording struct {
	re                      *regexp.Regexp
	input, maxTokens, limit int  // submatch indexes, 0 for none
	inputHasMax             bool // the input counts max_tokens in (Moonshot's "requested")
}

// read makes the numbers of the match s. maxTokens is the request's
// max_tokens (0 when unknown): an input that counts it in is split into
// input and max_tokens when it is known; otherwise the whole request is
// what is over.
func (w *vendorWording) read(s []string, maxTokens int64) ContextOverflow {
	c := ContextOverflow{Input: submatch(s, w.input), MaxTokens: submatch(s, w.maxTokens), Limit: submatch(s, w.limit)}
	if w.inputHasMax && maxTokens > 0 && c.Input > maxTokens {
		c.Input, c.MaxTokens = c.Input-maxTokens, maxTokens
	}
	return c
}

// submatch is the number in s[i], 0 for i 0 (none).
func submatch(s []string, i int) int64 {
	if i == 0 {
		return 0
	}
	return num(s[i])
}

func num(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
