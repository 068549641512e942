package anthropic

// Context-length errors from Anthropic-format upstreams that are not
// Anthropic. Vendors' Anthropic-compatible endpoints (Kimi's, DeepSeek's,
// a vLLM's /v1/messages) answer Anthropic's error shape with their own
// sentence: Kimi's "Invalid request: Your request exceeded model token
// limit: 262144 (requested: 263932)"
// (https://github.com/router-for-me/CLIProxyAPI/issues/4418). Claude Code
// compacts, or shrinks max_tokens, only on its two sentences, so such a
// message is reworded into them when it gives the numbers
// (tokens.ParseVendorContextMessage). Anthropic's own errors already
// use them and pass byte for byte, as does every other error and a vendor
// sentence that gives only the limit (this provider does not count
// tokens: the openaicompat provider does).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/tokens"
)

// maxErrorBody bounds an error body read to look for a context-length
// sentence; a longer one passes as it is.
const maxErrorBody = 1 << 20

// rewordContextError rewrites out's body when it is a vendor's
// context-length error with numbers (see above); c is the call it answers.
func rewordContextError(out *provider.Response, c *provider.Call) {
	if c.Op != provider.OpMessages || out.Body == nil || out.Status != http.StatusBadRequest && out.Status != http.StatusRequestEntityTooLarge {
		return
	}
	body := out.Body
	b, err := io.ReadAll(io.LimitReader(body, maxErrorBody))
	if err != nil || len(b) == maxErrorBody {
		// Cut short, or too long for an error object: passed on as it is.
		out.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), body), body}
		return
	}
	body.Close()
	out.Body = io.NopCloser(bytes.NewReader(b))
	var e errorBody
	if json.Unmarshal(b, &e) != nil || e.Type != "error" || e.Error.Message == "" {
		return
	}
	if _, ok := tokens.ParseAnthropicContextMessage(e.Error.Message); ok {
		return // Anthropic's own words already
	}
	co, limitOnly, ok := tokens.ParseVendorContextMessage(e.Error.Message, maxTokensOf(c.Body))
	if !ok || limitOnly {
		return
	}
	was := e.Error.Message
	e.Error.Type, e.Error.Message = "invalid_request_error", co.AnthropicMessage()
	nb, err := jsonpeek.Marshal(e) // "A + B > C" as Anthropic writes it
	if err != nil {                // cannot happen: strings only
		return
	}
	out.Status = http.StatusBadRequest
	out.Body = io.NopCloser(bytes.NewReader(nb))
	out.Note = fmt.Errorf("upstream context-length error reworded for Claude Code: %.300q", was)
}

// errorBody is Anthropic's error shape; request_id is kept when the
// upstream sent one.
type errorBody struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

// maxTokensOf is a Messages request's max_tokens; 0 when it has none.
func maxTokensOf(body []byte) int64 {
	n, err := strconv.ParseInt(string(jsonpeek.Member(body, "max_tokens")), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
