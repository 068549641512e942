package translate

// OpenAI's legacy Completions API (POST /v1/completions), which load-test
// scripts still call, served through the Chat Completions path so that it
// works on any route: the request, completion → chat. The answer goes back
// through openai_chat_to_openai_completion.go.

import (
	"encoding/json"
)

// DefaultCompletionMaxTokens is max_tokens when a completion request sets
// none: 16, OpenAI's documented default for this API.
const DefaultCompletionMaxTokens = 16

// OpenAICompletionInfo is what translating a completion request learned
// that translating its answer needs.
type OpenAICompletionInfo struct {
	Model  string
	Stream bool
	Echo   string // the prompt, when echo is true: prepended to the text
	Env    Env    `json:"-"`
}

type ocRequest struct {
	Model     string          `json:"model"`
	Prompt    json.RawMessage `json:"prompt"`
	MaxTokens *int64          `json:"max_tokens"`
	ocKept
	Echo   bool    `json:"echo"`
	N      *int64  `json:"n"`
	Suffix *string `json:"suffix"`
}

// ocKept are the members a completion request hands to the chat request
// as they are. Embedded in both, its fields are promoted: encoding/json
// reads and writes them as members of the enclosing object (omitempty
// only matters when writing).
type ocKept struct {
	Stop          json.RawMessage `json:"stop,omitempty"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
	StreamOptions json.RawMessage `json:"stream_options,omitempty"`
	User          string          `json:"user,omitempty"`
}

type ocChatRequest struct {
	Model     string      `json:"model"`
	Messages  []cpMessage `json:"messages"`
	MaxTokens int64       `json:"max_tokens"`
	ocKept
}

// OpenAICompletionToChatRequest turns a legacy completion request into a
// Chat Completions request: the prompt (a string, or an array of exactly
// one string) becomes one user message; max_tokens (default 16), stop,
// temperature, top_p, stream, stream_options and user are kept. n other
// than 1, suffix, and a prompt of token ids or several prompts are
// refused: a chat model has no form for them. Errors the client must fix
// are *Error.
func OpenAICompletionToChatRequest(body []byte, env Env) ([]byte, *OpenAICompletionInfo, error) {
	var req ocRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, nil, oiErr("", "the body is not a valid completion request: "+err.Error())
	}
	if req.Model == "" {
		return nil, nil, oiErr("model", "field required")
	}
	prompt, err := ocPrompt(req.Prompt)
	if err != nil {
		return nil, nil, err
	}
	if req.N != nil && *req.N != 1 {
		return nil, nil, oiErr("n", "only 1 is supported")
	}
	if req.Suffix != nil && *req.Suffix != "" {
		return nil, nil, oiErr("suffix", "is not supported")
	}
	out := ocChatRequest{
		Model:     req.Model,
		Messages:  []cpMessage{{Role: "user", Content: prompt}},
		MaxTokens: DefaultCompletionMaxTokens,
		ocKept:    req.ocKept,
	}
	if string(out.Stop) == "null" {
		out.Stop = nil
	}
	if string(out.StreamOptions) == "null" {
		out.StreamOptions = nil
	}
	if req.MaxTokens != nil {
		if *req.MaxTokens < 1 {
			return nil, nil, oiErr("max_tokens", "must be at least 1")
		}
		out.MaxTokens = *req.MaxTokens
	}
	b, err := oiMarshal(&out)
	if err != nil {
		return nil, nil, err
	}
	info := &OpenAICompletionInfo{Model: req.Model, Stream: req.Stream, Env: env}
	if req.Echo {
		info.Echo = prompt
	}
	return b, info, nil
}

// ocPrompt reads prompt: a string, or an array of one string.
func ocPrompt(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", oiErr("prompt", "field required")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "" {
			return "", oiErr("prompt", "must not be empty")
		}
		return s, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil || len(list) != 1 || list[0] == "" {
		return "", oiErr("prompt", "must be a string or an array of one string (token ids and several prompts are not supported)")
	}
	return list[0], nil
}
