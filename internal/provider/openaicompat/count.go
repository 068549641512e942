package openaicompat

// count_tokens, answered without an upstream call: OpenAI-compatible
// vendors have no such endpoint (Ollama's Anthropic layer lists it as
// unsupported, VENDORS.md B.7). The answer is an ESTIMATE: the text the
// upstream will see is tokenized with OpenAI's o200k_base BPE, which is
// not the vendor's own tokenizer (GLM, Qwen, DeepSeek and Kimi each have
// their own ~130-160K vocabularies; o200k_base is the closest public one
// for mixed Chinese/English/code text, closer than cl100k_base on CJK).
//
// What is counted, mirroring what translate.AnthropicToOpenAIRequest sends:
//   - every text of system, messages, tool results, documents;
//   - tool_use blocks as their name and input JSON (the upstream sees
//     them as function-call arguments);
//   - each custom tool as the JSON of its OpenAI function definition,
//     which is how chat templates render tools into the prompt;
//   - images and non-text documents as a flat mediaTokens each;
//   - per message the chat template's framing, and per request the
//     reply primer (templateTokens).
//
// Not counted: thinking blocks of earlier turns (Anthropic drops them
// from the context too), Claude Code's billing-header system block
// (translate.AnthropicToOpenAIRequest drops it), server tools and unknown blocks (dropped
// as well).
//
// An OpenAI client's request, sent as it is, is counted by the same rules
// in its own shapes (CountOpenAITokens): a context-length error without
// numbers gets its input counted without translating it back.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"

	tiktoken "github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/openai"
	"github.com/ferrygw/ferry/internal/provider"
)

const (
	// mediaTokens is counted per image or non-text document: Anthropic's
	// vision docs put a 1092×1092 image at about 1600 tokens (the same
	// figure translate's InputEstimate uses).
	mediaTokens = 1600

	// Chat-template framing. GLM's template is "[gMASK]<sop>" then
	// "<|role|>\n" + text per message, then "<|assistant|>": 2 tokens per
	// message and 3 per request. OpenAI's cookbook counts 3 and 3;
	// Qwen's <|im_start|>role\n…<|im_end|>\n is 5 per message. The GLM
	// figures are used: with them the estimate of the one recorded
	// request with a known prompt_tokens (vendor-samples.md 1b, 15 tokens
	// for "You are a helpful assistant" + "Say hi in Portuguese") is 16.
	perMessageTokens = 2
	perRequestTokens = 3

	// billingHeader starts Claude Code's first system block, which
	// translate.AnthropicToOpenAIRequest drops (VENDORS.md C18).
	billingHeader = "x-anthropic-billing-header:"

	// maxExactBytes is how much text is tokenized exactly per request;
	// beyond it (a 32 MiB body is allowed) the rest is estimated at the
	// ratio of tokens to bytes seen so far. tiktoken-go does about 3 MB/s
	// (BenchmarkCountTokensClaudeCode: ~40 ms for Claude Code's 113 KB
	// first request), so this bounds a call to a few hundred ms of CPU.
	maxExactBytes = 1 << 20
)

// o200k is the tokenizer, loaded once on first use from the BPE ranks
// embedded in tiktoken-go-loader: no network, ever. It is immutable after
// loading and shared by every provider (about 30 MB; loading takes a few
// hundred milliseconds).
var o200k = sync.OnceValues(func() (*tiktoken.Tiktoken, error) {
	ranks, err := tiktoken_loader.NewOfflineLoader().LoadTiktokenBpe("o200k_base.tiktoken")
	if err != nil {
		return nil, err
	}
	// tiktoken-go's own GetEncoding would go through its package-level
	// loader, which downloads the ranks unless replaced globally; the
	// encoding is built here from its parts instead. Pattern and special
	// tokens as in tiktoken-go's o200k_base (openai/tiktoken's
	// tiktoken_ext/openai_public.py).
	pat := strings.Join([]string{
		`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?`,
		`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?`,
		`\p{N}{1,3}`,
		` ?[^\s\p{L}\p{N}]+[\r\n/]*`,
		`\s*[\r\n]+`,
		`\s+(?!\S)`,
		`\s+`,
	}, "|")
	special := map[string]int{"<|endoftext|>": 199999, "<|endofprompt|>": 200018}
	bpe, err := tiktoken.NewCoreBPE(ranks, special, pat)
	if err != nil {
		return nil, err
	}
	enc := &tiktoken.Encoding{Name: "o200k_base", PatStr: pat, MergeableRanks: ranks, SpecialTokens: special}
	return tiktoken.NewTiktoken(bpe, enc, nil), nil
})

// CountTokens estimates the input tokens of an Anthropic Messages (or
// count_tokens) request body, as the upstream will count them after
// translation. See the top of count.go for what is counted.
func CountTokens(body []byte) (int64, error) {
	return countBody(body, (*counter).anthropicRequest)
}

// CountOpenAITokens estimates the input tokens of an OpenAI Chat
// Completions request body, which an OpenAI client's call sends upstream
// as it is: by the rules of CountTokens (see the top of count.go), read
// from OpenAI's shapes, so that a request counts alike in either format.
// System and developer messages are framed once, as Anthropic's system;
// image, file and audio parts count mediaTokens each; reasoning fields of
// earlier turns are not counted.
func CountOpenAITokens(body []byte) (int64, error) {
	return countBody(body, (*counter).chatRequest)
}

// countBody decodes body as a T and counts it with count, adding the
// request's framing.
func countBody[T any](body []byte, count func(*counter, *T) int64) (int64, error) {
	var req T
	if err := json.Unmarshal(body, &req); err != nil {
		return 0, err
	}
	tk, err := o200k()
	if err != nil {
		return 0, err
	}
	c := counter{tk: tk}
	return perRequestTokens + count(&c, &req), nil
}

func (c *counter) anthropicRequest(req *anthropic.MessageRequest) int64 {
	var n, sys int64
	if req.System != nil {
		for _, b := range req.System.AsBlocks() {
			if b.Type == anthropic.BlockText && strings.HasPrefix(b.Text, billingHeader) {
				continue
			}
			sys += c.block(&b)
		}
	}
	for i := range req.Messages {
		n += perMessageTokens
		for _, b := range req.Messages[i].Content.AsBlocks() {
			n += c.block(&b)
		}
	}
	for i := range req.Tools {
		t := &req.Tools[i]
		if t.IsCustom() {
			n += c.tool(openai.Tool{Type: "function", Function: openai.Function{Name: t.Name, Description: t.Description, Parameters: t.InputSchema}})
		}
	}
	return n + c.system(sys)
}

// chatRequest is what CountOpenAITokens reads of a Chat Completions
// request, leniently: a request an upstream refused is one the gateway
// accepted, so a shape its translation takes (a bare-string image_url, a
// tool the wire types do not know) must count too.
type chatRequest struct {
	Messages []struct {
		Role      string            `json:"role"`
		Content   json.RawMessage   `json:"content"`
		ToolCalls []openai.ToolCall `json:"tool_calls"`
		Refusal   *string           `json:"refusal"`
	} `json:"messages"`
	Tools []json.RawMessage `json:"tools"`
}

func (c *counter) chatRequest(req *chatRequest) int64 {
	var n, sys int64
	for i := range req.Messages {
		m := &req.Messages[i]
		k := c.chatContent(m.Content)
		for _, tc := range m.ToolCalls {
			k += c.text(tc.Function.Name) + c.text(tc.Function.Arguments)
		}
		if m.Refusal != nil {
			k += c.text(*m.Refusal)
		}
		if m.Role == openai.RoleSystem || m.Role == openai.RoleDeveloper {
			sys += k
			continue
		}
		n += perMessageTokens + k
	}
	for _, raw := range req.Tools {
		var t openai.Tool
		if json.Unmarshal(raw, &t) != nil || t.Type != "function" {
			n += c.text(string(raw)) // as the upstream gets it
			continue
		}
		n += c.tool(t)
	}
	return n + c.system(sys)
}

// system is a system prompt of sys tokens with its message framing; none
// when empty.
func (*counter) system(sys int64) int64 {
	if sys == 0 {
		return 0
	}
	return sys + perMessageTokens
}

// tool counts a tool definition as the JSON of its OpenAI function, which
// is how chat templates render tools into the prompt.
func (c *counter) tool(t openai.Tool) int64 {
	def, err := openai.Marshal(t)
	if err != nil {
		return 0
	}
	return c.text(string(def))
}

// chatContent counts a Chat Completions message's content: its text, or
// its parts (images, files and audio whatever their shape).
func (c *counter) chatContent(raw json.RawMessage) int64 {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return c.text(text)
	}
	var parts []struct {
		Type    string `json:"type"`
		Text    string `json:"text"`
		Refusal string `json:"refusal"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return 0
	}
	var n int64
	for _, p := range parts {
		switch p.Type {
		case openai.PartText:
			n += c.text(p.Text)
		case openai.PartRefusal:
			n += c.text(p.Refusal)
		case openai.PartImageURL, openai.PartFile, openai.PartInputAudio:
			n += mediaTokens
		}
	}
	return n
}

// counter tokenizes texts, exactly up to maxExactBytes in all.
type counter struct {
	tk         *tiktoken.Tiktoken
	exactBytes int64
	exactToks  int64
}

func (c *counter) text(s string) int64 {
	if s == "" {
		return 0
	}
	if c.exactBytes+int64(len(s)) > maxExactBytes {
		// Past the budget: the ratio seen so far, or the common rule of
		// thumb of 4 bytes per token before anything was seen.
		if c.exactBytes == 0 {
			return int64(len(s)+3) / 4
		}
		return (int64(len(s))*c.exactToks + c.exactBytes - 1) / c.exactBytes
	}
	// EncodeOrdinary: special-token text in a prompt is plain text, and
	// tiktoken-go's Encode would panic on it.
	n := int64(len(c.tk.EncodeOrdinary(s)))
	c.exactBytes += int64(len(s))
	c.exactToks += n
	return n
}

func (c *counter) content(ct *anthropic.Content) int64 {
	if ct == nil {
		return 0
	}
	var n int64
	for _, b := range ct.AsBlocks() {
		n += c.block(&b)
	}
	return n
}

func (c *counter) block(b *anthropic.ContentBlock) int64 {
	switch b.Type {
	case anthropic.BlockText:
		return c.text(b.Text)
	case anthropic.BlockImage:
		return mediaTokens
	case anthropic.BlockDocument:
		n := c.text(b.Title) + c.text(b.Context)
		switch s := b.Source; {
		case s == nil:
		case s.Type == "text":
			n += c.text(s.Data)
		case s.Type == "content":
			n += c.content(s.Content)
		default: // a PDF (base64, url or file)
			n += mediaTokens
		}
		return n
	case anthropic.BlockToolUse:
		return c.text(b.Name) + c.text(string(b.Input))
	case anthropic.BlockToolResult:
		return c.content(b.Content)
	}
	// thinking and redacted_thinking of earlier turns, server tool blocks,
	// unknown blocks: not sent, not counted.
	return 0
}

// countResponse answers count_tokens: {"input_tokens":N}, or a 400 for a
// body that does not decode as a Messages request.
func countResponse(body []byte) *provider.Response {
	if _, err := o200k(); err != nil {
		r := errorResponse(apierr.Internal, "token counting is unavailable", nil, "")
		r.Local = true
		return r
	}
	n, err := CountTokens(body)
	if err != nil {
		// The server checked that the body is JSON; this is a shape
		// problem (a number where messages should be, ...). The decoder's
		// message names Go types, so it is not passed on.
		r := errorResponse(apierr.InvalidRequest, "request body is not a valid count_tokens request", nil, "")
		r.Local = true
		return r
	}
	b, _ := json.Marshal(struct {
		InputTokens int64 `json:"input_tokens"`
	}{n})
	return &provider.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": jsonContentType}, Body: io.NopCloser(bytes.NewReader(b)), Node: "local", Local: true}
}

// WarmTokenizer loads the tokenizer now, so that the first count_tokens
// request does not wait the few hundred milliseconds its loading takes:
// the app calls it in the background at start.
func WarmTokenizer() error {
	_, err := o200k()
	return err
}
