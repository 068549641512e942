package openaicompat

// Upstream errors → Anthropic errors (PROTOCOL.md §5, §11 "Error
// mapping"). The vendor's business code or error type decides first (the
// profile's ErrorCodes), the HTTP status second; context-length errors get
// the exact messages Claude Code parses (context.go).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/tokens"
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
func (p *Profile) kindOf(status int, e upstreamError) apierr.Kind {
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
		if k, ok := commonErrorCode(key); ok {
			return k
		}
	}
	return statusKind(status)
}

// statusKind maps an HTTP status (PROTOCOL.md §11): 422 is a bad request,
// 502/503 mean a busy upstream (Claude Code retries 529 and gives up after
// three), a 2xx carrying an error object is a server error.
func statusKind(status int) apierr.Kind {
	switch status {
	case 400, 422:
		return apierr.InvalidRequest
	case 401:
		return apierr.Authentication
	case 402:
		return apierr.Billing
	case 403:
		return apierr.Permission
	case 404:
		return apierr.NotFound
	case 408, 504:
		return apierr.UpstreamTimeout
	case 413:
		return apierr.RequestTooLarge
	case 429:
		return apierr.RateLimit
	case 502, 503, 529:
		return apierr.Overloaded
	}
	if status >= 400 && status < 500 {
		return apierr.InvalidRequest
	}
	return apierr.Internal
}

// upstreamFailure is an upstream error answer in Anthropic's terms.
type upstreamFailure struct {
	kind    apierr.Kind
	message string
	// overflow holds the numbers of a context-length error, nil for any
	// other error or one whose numbers are unknown (its message stands).
	overflow *tokens.ContextOverflow
	// note says how the numbers were had when Ferry counted the input
	// itself, or why a context-length error kept the vendor's words, for
	// the access log; "" otherwise.
	note string
}

// classifyFailure reads an error answer (status, body) as p's vendor
// means it. f describes the request, for context-length errors that give
// no numbers; nil when nothing is known of it.
func (p *Profile) classifyFailure(status int, body []byte, f *contextFacts) upstreamFailure {
	e, parsed := parseUpstreamError(body)
	kind := p.kindOf(status, e)
	out := upstreamFailure{kind: kind, message: e.message}
	if kind == apierr.ContextLength || kind == apierr.InvalidRequest || kind == apierr.RequestTooLarge {
		c, note, ok := p.contextOverflow(e, kind, f)
		if ok {
			out = upstreamFailure{kind: apierr.ContextLength, message: c.AnthropicMessage(), overflow: &c}
		}
		out.note = note
	}
	if out.message == "" {
		switch {
		case parsed && e.code != "":
			out.message = "upstream error " + e.code
		case parsed && e.typ != "":
			out.message = "upstream error: " + e.typ
		default:
			// Not an error body we know (an HTML page from a proxy, say):
			// say what happened without echoing it.
			out.message = fmt.Sprintf("upstream answered HTTP %d", status)
		}
	}
	out.message = truncateUTF8(out.message, maxErrorMessage)
	return out
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
func errorResponse(kind apierr.Kind, message string, upstream http.Header, node string) *provider.Response {
	b := apierr.AppendBody(nil, apierr.Anthropic, kind, message, "")
	h := answerHeader.Keep(upstream)
	h["Content-Type"] = jsonContentType
	if kind.NeedsOperator() {
		h["X-Should-Retry"] = []string{"false"}
	}
	return &provider.Response{Status: kind.Status(), Header: h, Body: io.NopCloser(bytes.NewReader(b)), Node: node}
}

var jsonContentType = []string{"application/json"}

// answerHeader keeps the upstream headers a client may act on: the
// content type, retry hints and rate-limit state, with OpenAI's names.
var answerHeader = provider.AnswerHeader{RequestID: "X-Request-Id", RateLimit: "X-Ratelimit-"}
