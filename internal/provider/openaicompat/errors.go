package openaicompat

// Upstream errors → Anthropic errors (PROTOCOL.md §5, §11 "Error
// mapping"). The vendor's business code or error type decides first (the
// profile's ErrorCodes), the HTTP status second; context-length errors get
// the exact messages Claude Code parses.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/openai"
	"github.com/ferrygw/ferry/internal/provider"
)

// maxErrorMessage bounds a vendor message copied to the client.
const maxErrorMessage = 2048

// upstreamError is what an upstream's error body says.
type upstreamError struct {
	code, typ, message string
	// llama.cpp's server reports a context overflow as numbers beside
	// the message (type exceed_context_size_error).
	promptTokens, contextSize int64
}

// parseUpstreamError reads the error shapes OpenAI-compatible servers
// send:
//
//	{"error":{"message","type","code","param"}}   OpenAI, DeepSeek, Zhipu, DashScope, Moonshot
//	{"error":"text"}                                Ollama's native errors, some proxies
//	{"object":"error","message","type","code"}      vLLM before the OpenAI envelope
//	{"error_code":N,"error_msg":"text"}             Baidu Qianfan v1
//	{"code","message"}                              DashScope native
//	{"detail":"text"}                               FastAPI-based servers
//
// ok is false when body holds none of them.
func parseUpstreamError(body []byte) (e upstreamError, ok bool) {
	var w struct {
		Error     json.RawMessage `json:"error"`
		Message   json.RawMessage `json:"message"`
		Type      json.RawMessage `json:"type"`
		Code      json.RawMessage `json:"code"`
		ErrorCode json.RawMessage `json:"error_code"`
		ErrorMsg  json.RawMessage `json:"error_msg"`
		Detail    json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &w) != nil {
		return e, false
	}
	if len(w.Error) > 0 && w.Error[0] == '{' {
		var in struct {
			Message       json.RawMessage `json:"message"`
			Type          json.RawMessage `json:"type"`
			Code          json.RawMessage `json:"code"`
			NPromptTokens int64           `json:"n_prompt_tokens"`
			NCtx          int64           `json:"n_ctx"`
		}
		if json.Unmarshal(w.Error, &in) == nil {
			e = upstreamError{code: scalarText(in.Code), typ: scalarText(in.Type), message: scalarText(in.Message), promptTokens: in.NPromptTokens, contextSize: in.NCtx}
		}
	} else if s := scalarText(w.Error); s != "" {
		e.message = s
	}
	if e == (upstreamError{}) {
		e = upstreamError{code: scalarText(w.Code), typ: scalarText(w.Type), message: scalarText(w.Message)}
	}
	if c := scalarText(w.ErrorCode); c != "" && c != "0" {
		e.code = c
		if e.message == "" {
			e.message = scalarText(w.ErrorMsg)
		}
	}
	if e.message == "" {
		e.message = scalarText(w.Detail)
	}
	return e, e != (upstreamError{})
}

// scalarText is a JSON string's text or a number's literal; "" otherwise.
func scalarText(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return ""
	}
	switch c := v[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	case c == '-' || '0' <= c && c <= '9':
		return string(v)
	}
	return ""
}

// kindOf classifies an upstream error: the profile's codes first, then
// OpenAI's own codes, then the HTTP status.
func (p *Profile) kindOf(status int, e upstreamError) ErrorKind {
	for _, key := range []string{e.code, e.typ} {
		if key == "" {
			continue
		}
		if k, ok := p.ErrorCodes[key]; ok {
			return k
		}
	}
	if n, err := strconv.Atoi(e.code); err == nil {
		for _, r := range p.ErrorCodeRanges {
			if r.From <= n && n <= r.To {
				return r.Kind
			}
		}
	}
	for _, key := range []string{e.code, e.typ} {
		if k := commonErrorCode(key); k != KindNone {
			return k
		}
	}
	return statusKind(status)
}

// statusKind maps an HTTP status (PROTOCOL.md §11): 422 is a bad request,
// 502/503 mean a busy upstream (Claude Code retries 529 and gives up after
// three), a 2xx carrying an error object is a server error.
func statusKind(status int) ErrorKind {
	switch status {
	case 400, 422:
		return KindInvalidRequest
	case 401:
		return KindAuthentication
	case 402:
		return KindBilling
	case 403:
		return KindPermission
	case 404:
		return KindNotFound
	case 408, 504:
		return KindTimeout
	case 413:
		return KindRequestTooLarge
	case 429:
		return KindRateLimit
	case 502, 503, 529:
		return KindOverloaded
	}
	if status >= 400 && status < 500 {
		return KindInvalidRequest
	}
	return KindAPI
}

// Context-length messages with numbers, as vendors word them.
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
	// SGLang: "… maximum context length of 32768 tokens. You requested a
	// total of 40000 tokens: 36000 tokens from the input messages and 4000
	// tokens for the completion."
	ctxSGLang = regexp.MustCompile(`(?is)maximum context length of (\d+) tokens.*?(\d+) tokens from the input messages and (\d+) tokens for the completion`)
	// The prompt alone: OpenAI "This model's maximum context length is
	// 128000 tokens. However, your messages resulted in 130000 tokens",
	// vLLM "… However, your request has 4176 input tokens".
	ctxPrompt = regexp.MustCompile(`(?is)maximum context length is (\d+) tokens.*?(?:your messages resulted in|your request has) (\d+) (?:input )?tokens`)
)

// contextMessage rewrites a context-length error into the formats Claude
// Code parses (PROTOCOL.md §5): with input, max_tokens and limit known,
// "input length and `max_tokens` exceed context limit: A + B > C" (Claude
// Code re-sends at once with a smaller max_tokens); with the prompt size
// and limit, "prompt is too long: N tokens > M maximum". ok is false when
// the error gives no such numbers; the vendor's message then stands.
func contextMessage(e upstreamError) (msg string, ok bool) {
	num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	inputAndMax := func(input, maxTokens, limit int64) (string, bool) {
		if input >= limit {
			// No max_tokens would fit: the prompt itself is the problem.
			return fmt.Sprintf("prompt is too long: %d tokens > %d maximum", input, limit), true
		}
		return fmt.Sprintf("input length and `max_tokens` exceed context limit: %d + %d > %d", input, maxTokens, limit), true
	}
	if e.promptTokens > 0 && e.contextSize > 0 {
		return fmt.Sprintf("prompt is too long: %d tokens > %d maximum", e.promptTokens, e.contextSize), true
	}
	m := e.message
	if s := ctxRequested.FindStringSubmatch(m); s != nil {
		return inputAndMax(num(s[2]), num(s[3]), num(s[1]))
	}
	if s := ctxTooLarge.FindStringSubmatch(m); s != nil {
		return inputAndMax(num(s[3]), num(s[1]), num(s[2]))
	}
	if s := ctxSGLang.FindStringSubmatch(m); s != nil {
		return inputAndMax(num(s[2]), num(s[3]), num(s[1]))
	}
	if s := ctxPrompt.FindStringSubmatch(m); s != nil {
		return fmt.Sprintf("prompt is too long: %d tokens > %d maximum", num(s[2]), num(s[1])), true
	}
	return "", false
}

// upstreamFailure is an upstream error answer in Anthropic's terms.
type upstreamFailure struct {
	kind    ErrorKind
	message string
}

// classifyFailure reads an error answer (status, body) as p's vendor
// means it.
func (p *Profile) classifyFailure(status int, body []byte) upstreamFailure {
	e, parsed := parseUpstreamError(body)
	kind := p.kindOf(status, e)
	msg := e.message
	if kind == KindContextLength || kind == KindInvalidRequest || kind == KindRequestTooLarge {
		if m, ok := contextMessage(e); ok {
			kind, msg = KindContextLength, m
		}
	}
	if msg == "" {
		switch {
		case parsed && e.code != "":
			msg = "upstream error " + e.code
		case parsed && e.typ != "":
			msg = "upstream error: " + e.typ
		default:
			// Not an error body we know (an HTML page from a proxy, say):
			// say what happened without echoing it.
			msg = fmt.Sprintf("upstream answered HTTP %d", status)
		}
	}
	return upstreamFailure{kind: kind, message: truncateUTF8(msg, maxErrorMessage)}
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// errorResponse is an Anthropic error answer. upstream is the upstream's
// header, or nil for an error of the gateway's own.
func errorResponse(kind ErrorKind, message string, upstream http.Header, node string) *provider.Response {
	b, _ := openai.Marshal(anthropic.ErrorBody{Type: "error", Error: anthropic.ErrorDetail{Type: kind.Type(), Message: message}})
	h := responseHeader(upstream)
	h["Content-Type"] = jsonContentType
	if kind.noRetry() {
		h["X-Should-Retry"] = []string{"false"}
	}
	return &provider.Response{Status: kind.Status(), Header: h, Body: io.NopCloser(bytes.NewReader(b)), Node: node}
}

var jsonContentType = []string{"application/json"}

// responseHeader keeps the upstream headers a client may act on: the
// content type, retry hints and rate-limit state. The upstream's request
// id is kept under another name, since the response's request-id is the
// gateway's own.
func responseHeader(in http.Header) http.Header {
	h := make(http.Header, 4)
	for k, v := range in {
		switch {
		case k == "Content-Type", k == "Retry-After", k == "Retry-After-Ms":
			h[k] = v
		case k == "X-Request-Id":
			h["Upstream-Request-Id"] = v
		case strings.HasPrefix(k, "X-Ratelimit-"):
			h[k] = v
		}
	}
	return h
}
