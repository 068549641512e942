package openaicompat

// Context-length errors: every vendor's sentence for "the conversation
// outgrew the model", read into numbers, so that the client gets the
// sentence it acts on (translate/contexterr.go): Claude Code compacts or
// shrinks max_tokens only when the error says so in its own words.
//
// Where the vendor gives the numbers they are used as given. Where it
// gives only the limit (DashScope) or nothing (Zhipu 1261), the input is
// counted with Ferry's tokenizer (count.go) and the limit taken from the
// error or from the profile's ContextWindows, and the access log's note
// says the count is an estimate. Each wording's source is beside it, and
// a fixture of it is in testdata/*_error_context*.txtar.

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/openai"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/translate"
)

// ContextWindow is a model family's documented context window: models
// whose name starts with Prefix take Tokens in all (input and output).
// Source says where the figure comes from.
type ContextWindow struct {
	Prefix string
	Tokens int64
	Source string
}

// contextWindow is the window of model by the longest matching prefix; 0
// when unknown.
func (p *Profile) contextWindow(model string) int64 {
	model = strings.ToLower(model)
	var best ContextWindow
	for _, w := range p.ContextWindows {
		if strings.HasPrefix(model, w.Prefix) && len(w.Prefix) > len(best.Prefix) {
			best = w
		}
	}
	return best.Tokens
}

// contextFacts is what is known of the request whose error is read.
type contextFacts struct {
	model     string // the upstream model
	maxTokens int64  // max_tokens as sent upstream; 0 unknown
	// input counts the request's input tokens with Ferry's tokenizer (an
	// estimate, not the vendor's count); nil when it cannot.
	input func() (int64, error)
}

// anthropicFacts describes an Anthropic call the upstream refused; body is
// its translation, as sent. Built on the error path only: reading
// max_tokens walks the body.
func anthropicFacts(c *provider.Call, body []byte) *contextFacts {
	return &contextFacts{model: c.Model, maxTokens: sentMaxTokens(body), input: func() (int64, error) { return CountTokens(c.Body) }}
}

// Vendor wordings with numbers.
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
	// tokens." (testdata/vllm_error_context_output.txtar).
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

// contextOverflow reads a context-length error into numbers. kind is the
// error's class (KindContextLength when the vendor's code says so without
// numbers); f may be nil. note is set when the input was counted by Ferry,
// or a context-length error could not be put in numbers. ok is false when
// the error is not a context-length error or its numbers cannot be had;
// the vendor's message then stands.
func (p *Profile) contextOverflow(e upstreamError, kind ErrorKind, f *contextFacts) (c translate.ContextOverflow, note string, ok bool) {
	if c, ok := vendorOverflow(e, f); ok {
		return c, "", true
	}
	// The limit without the input's size: count the input.
	if m := ctxRange.FindStringSubmatch(e.message); m != nil {
		c.Limit = num(m[1])
	} else if m := ctxPassedChars.FindStringSubmatch(e.message); m != nil {
		c.MaxTokens, c.Limit = num(m[1]), num(m[2])
	} else if kind == KindContextLength && f != nil {
		c.Limit = p.contextWindow(f.model)
	}
	if c.Limit <= 0 && kind == KindContextLength && f != nil {
		return c, fmt.Sprintf("context-length error without numbers, and no documented window for model %q: the vendor's message is passed on", f.model), false
	}
	if c.Limit <= 0 || f == nil || f.input == nil {
		return c, "", false
	}
	n, err := f.input()
	if err != nil {
		return c, "", false
	}
	// The upstream refused the input as over what the window leaves it;
	// an estimate below that (another tokenizer than the vendor's) would
	// contradict the refusal, so the count reported is at least one more,
	// and the log says so.
	over := c.Limit - c.MaxTokens + 1
	c.Input = max(n, over)
	note = fmt.Sprintf("context-length error without a token count: input counted by Ferry (o200k_base, an estimate): %d tokens, limit %d", n, c.Limit)
	if n < over {
		note += fmt.Sprintf(", reported as %d since the upstream refused it", over)
	}
	return c, note, true
}

// vendorOverflow reads the numbers an error gives itself.
func vendorOverflow(e upstreamError, f *contextFacts) (translate.ContextOverflow, bool) {
	type co = translate.ContextOverflow
	if e.promptTokens > 0 && e.contextSize > 0 {
		return co{Input: e.promptTokens, Limit: e.contextSize}, true
	}
	m := e.message
	if s := ctxRequested.FindStringSubmatch(m); s != nil {
		return co{Input: num(s[2]), MaxTokens: num(s[3]), Limit: num(s[1])}, true
	}
	if s := ctxTooLarge.FindStringSubmatch(m); s != nil {
		return co{Input: num(s[3]), MaxTokens: num(s[1]), Limit: num(s[2])}, true
	}
	if s := ctxAtLeast.FindStringSubmatch(m); s != nil {
		return co{Input: num(s[3]), MaxTokens: num(s[2]), Limit: num(s[1])}, true
	}
	if s := ctxSGLang.FindStringSubmatch(m); s != nil {
		return co{Input: num(s[2]), MaxTokens: num(s[3]), Limit: num(s[1])}, true
	}
	if s := ctxPrompt.FindStringSubmatch(m); s != nil {
		return co{Input: num(s[2]), Limit: num(s[1])}, true
	}
	if s := ctxDecoder.FindStringSubmatch(m); s != nil {
		return co{Input: num(s[1]), Limit: num(s[2])}, true
	}
	if s := ctxAvailable.FindStringSubmatch(m); s != nil {
		return co{Input: num(s[1]), Limit: num(s[2])}, true
	}
	if s := ctxPassed.FindStringSubmatch(m); s != nil {
		return co{Input: num(s[1]), MaxTokens: num(s[2]), Limit: num(s[3])}, true
	}
	if s := ctxMaxPrompt.FindStringSubmatch(m); s != nil {
		return co{Input: num(s[1]), Limit: num(s[2])}, true
	}
	if s := ctxMaxSeqLen.FindStringSubmatch(m); s != nil {
		return co{Input: num(s[1]), Limit: num(s[2])}, true
	}
	if s := ctxConfigured.FindStringSubmatch(m); s != nil {
		return co{Input: num(s[2]), Limit: num(s[1])}, true
	}
	if s := ctxMoonshot.FindStringSubmatch(m); s != nil {
		limit, requested := num(s[1]), num(s[2])
		if f != nil && f.maxTokens > 0 && requested > f.maxTokens {
			return co{Input: requested - f.maxTokens, MaxTokens: f.maxTokens, Limit: limit}, true
		}
		// max_tokens unknown: the whole request is what is over.
		return co{Input: requested, Limit: limit}, true
	}
	return co{}, false
}

func num(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// sentMaxTokens is the max_tokens an upstream request body carries (either
// field name); 0 when it has none.
func sentMaxTokens(body []byte) int64 {
	for _, name := range []string{"max_completion_tokens", "max_tokens"} {
		if v := jsonpeek.Member(body, name); v != nil {
			if n, err := strconv.ParseInt(string(v), 10, 64); err == nil && n > 0 {
				return n
			}
		}
	}
	return 0
}

// failureNote is the access log's note for an upstream error answer, with
// how a context-length count was had when Ferry made it.
func failureNote(status int, body []byte, f upstreamFailure) error {
	if f.note != "" {
		return fmt.Errorf("upstream answered %d: %.300s; %s", status, body, f.note)
	}
	return fmt.Errorf("upstream answered %d: %.300s", status, body)
}

// openaiError answers an OpenAI client whose call the upstream refused
// (x is a non-2xx answer). A context-length error, in whatever words the
// vendor used, becomes OpenAI's own: 400, code context_length_exceeded,
// OpenAI's sentence with the numbers (counted by Ferry where the vendor
// gave none). Any other error passes as received.
func (p *Provider) openaiError(c *provider.Call, x *exchange) *provider.Response {
	out := &provider.Response{Status: x.resp.StatusCode, Header: x.header(), Node: x.node}
	b, err := io.ReadAll(io.LimitReader(x.body, maxErrorBody))
	if err != nil || len(b) == maxErrorBody {
		// Cut short, or too long for an error object: passed on as it is.
		out.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), x.body), x.body}
		return out
	}
	x.body.Close()
	out.Body = io.NopCloser(bytes.NewReader(b))
	f := p.profile.classifyFailure(x.resp.StatusCode, b, openaiFacts(c))
	if f.overflow == nil {
		return out
	}
	param := "messages"
	nb, err := openai.Marshal(openai.ErrorBody{Error: openai.ErrorDetail{
		Message: f.overflow.OpenAIMessage(), Type: "invalid_request_error", Param: &param, Code: "context_length_exceeded",
	}})
	if err != nil { // cannot happen: strings only
		return out
	}
	out.Status = KindContextLength.Status()
	out.Header["Content-Type"] = jsonContentType
	out.Body = io.NopCloser(bytes.NewReader(nb))
	out.Note = failureNote(x.resp.StatusCode, b, f)
	return out
}

// openaiFacts describes an OpenAI call the upstream refused.
func openaiFacts(c *provider.Call) *contextFacts {
	return &contextFacts{model: c.Model, maxTokens: sentMaxTokens(c.Body), input: func() (int64, error) { return countOpenAI(c.Body) }}
}

// countOpenAI estimates the input tokens of an OpenAI Chat Completions
// body: translated to the Anthropic request it means and counted as one
// (count.go), so both formats are counted alike.
func countOpenAI(body []byte) (int64, error) {
	ab, _, err := translate.FromOpenAIRequest(body)
	if err != nil {
		return 0, err
	}
	return CountTokens(ab)
}
