package translate

// Anthropic's legacy Text Completions API (POST /v1/complete), served
// through the Messages API so that it works on any upstream: the request,
// Text Completions → Messages. The answer goes back through
// anthropic_to_complete.go.

import "strings"

// CompleteInfo is what translating a Text Completions request learned that
// translating its answer needs.
type CompleteInfo struct {
	Model  string // the model the client asked for; answers echo it
	Stream bool   // the client asked for a stream
	// Prefill: the prompt ends with assistant text after the last
	// "\n\nAssistant:", which the completion continues. Without one the
	// completion gets the leading space the legacy API's completions had
	// (" Hello", the text that follows "Assistant:").
	Prefill bool
	// Env supplies the id of an answer that comes without one.
	Env Env `json:"-"`
}

// The turn markers of a legacy prompt (the SDKs' HUMAN_PROMPT and
// AI_PROMPT).
const (
	cpHuman     = "\n\nHuman:"
	cpAssistant = "\n\nAssistant:"
	// cpStop is the stop sequence the legacy API reported for a natural end
	// of turn.
	cpStop = "\n\nHuman:"
)

// The legacy API's own error messages.
const (
	cpErrStart = `prompt must start with "` + cpHuman + `" turn after an optional system prompt`
	cpErrEnd   = `prompt must end with "` + cpAssistant + `" turn`
)

// cpRequest is the Anthropic request body CompleteToAnthropicRequest
// writes. Field order is the order of the output.
type cpRequest struct {
	oiRequestHead
	Messages      []cpMessage `json:"messages"`
	StopSequences []string    `json:"stop_sequences,omitempty"`
	oiSampling
	Metadata *oiMetadata `json:"metadata,omitempty"`
	Stream   bool        `json:"stream,omitempty"`
}

type cpMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// cpFields are the top-level request members CompleteToAnthropicRequest reads.
type cpFields struct {
	model, prompt, maxTokens, stop, temperature, topP, topK, metadata, stream []byte
}

// set keeps the raw value of a member read (see readFields).
func (f *cpFields) set(key, v []byte) bool { return keepField(f.slot(key), v) }

// slot is the field of the member key; nil for a member that is dropped.
func (f *cpFields) slot(key []byte) *[]byte {
	switch string(key) {
	case "model":
		return &f.model
	case "prompt":
		return &f.prompt
	case "max_tokens_to_sample":
		return &f.maxTokens
	case "stop_sequences":
		return &f.stop
	case "temperature":
		return &f.temperature
	case "top_p":
		return &f.topP
	case "top_k":
		return &f.topK
	case "metadata":
		return &f.metadata
	case "stream":
		return &f.stream
	}
	return nil
}

// CompleteToAnthropicRequest turns a legacy Text Completions request body into an
// Anthropic Messages request body. Errors the client must fix are *Error.
//
// The prompt is split at "\n\nHuman:" and "\n\nAssistant:": text before the
// first marker is the system prompt, each marker starts a user or assistant
// turn (consecutive turns of one role are joined with "\n\n"), and turn
// texts are trimmed of surrounding whitespace (Anthropic refuses a final
// assistant turn that ends in whitespace). The first turn must be Human and
// the last Assistant, as the legacy API required, with its messages;
// text after the last "\n\nAssistant:" is a prefill (an assistant message the
// answer continues). max_tokens_to_sample (required) becomes max_tokens;
// stop_sequences (without all-whitespace ones, which Anthropic refuses), temperature, top_p, top_k, metadata.user_id and stream
// are kept; other fields are dropped.
func CompleteToAnthropicRequest(body []byte, env Env) ([]byte, *CompleteInfo, error) {
	var f cpFields
	err := readFields(body, f.set)
	if err != nil {
		return nil, nil, err
	}

	var req cpRequest
	info := &CompleteInfo{Env: env}
	if err := oiModel(f.model, &req.Model); err != nil {
		return nil, nil, err
	}
	info.Model = req.Model
	if oiNull(f.maxTokens) {
		return nil, nil, oiErr("max_tokens_to_sample", "field required")
	}
	if req.MaxTokens, err = oiInt("max_tokens_to_sample", f.maxTokens); err != nil {
		return nil, nil, err
	}
	if oiNull(f.prompt) {
		return nil, nil, oiErr("prompt", "field required")
	}
	var prompt string
	if err := oiDecode("prompt", f.prompt, &prompt); err != nil {
		return nil, nil, err
	}
	if req.System, req.Messages, err = cpParsePrompt(prompt); err != nil {
		return nil, nil, err
	}
	if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == "assistant" {
		info.Prefill = true
	}

	if !oiNull(f.stop) {
		var stops []string
		if err := oiDecode("stop_sequences", f.stop, &stops); err != nil {
			return nil, nil, err
		}
		req.StopSequences = oiStops(stops)
	}
	if err = req.oiSampling.read(f.temperature, f.topP); err != nil {
		return nil, nil, err
	}
	if !oiNull(f.topK) {
		k, err := oiInt("top_k", f.topK)
		if err != nil {
			return nil, nil, err
		}
		req.TopK = &k
	}
	if !oiNull(f.metadata) {
		var md struct {
			UserID *string `json:"user_id"`
		}
		if err := oiDecode("metadata", f.metadata, &md); err != nil {
			return nil, nil, err
		}
		if md.UserID != nil && *md.UserID != "" {
			req.Metadata = &oiMetadata{UserID: *md.UserID}
		}
	}
	if err := oiOptBool("stream", f.stream, &req.Stream); err != nil {
		return nil, nil, err
	}
	info.Stream = req.Stream
	out, err := oiMarshal(&req)
	if err != nil {
		return nil, nil, err
	}
	return out, info, nil
}

// cpParsePrompt splits a legacy prompt into a system prompt and turns.
func cpParsePrompt(p string) (system string, turns []cpMessage, err error) {
	// Next positions of each marker at or after pos, or -1; each is searched
	// again only once passed, so the scan is linear.
	pos := 0
	nh, na := strings.Index(p, cpHuman), strings.Index(p, cpAssistant)
	var (
		role     string // the turn being read; "" before the first marker
		segStart int
		last     string // the role of the last marker
		parts    [][]string
	)
	flush := func(end int) {
		text := strings.TrimSpace(p[segStart:end])
		switch {
		case role == "":
			system = text
		case text == "":
		case len(turns) > 0 && turns[len(turns)-1].Role == role:
			parts[len(parts)-1] = append(parts[len(parts)-1], text)
		default:
			turns = append(turns, cpMessage{Role: role})
			parts = append(parts, []string{text})
		}
	}
	for {
		if nh >= 0 && nh < pos {
			nh = cpIndexFrom(p, cpHuman, pos)
		}
		if na >= 0 && na < pos {
			na = cpIndexFrom(p, cpAssistant, pos)
		}
		var at int
		var next, marker string
		switch {
		case nh >= 0 && (na < 0 || nh < na):
			at, next, marker = nh, "user", cpHuman
		case na >= 0:
			at, next, marker = na, "assistant", cpAssistant
		default:
			flush(len(p))
			if last == "" {
				return "", nil, oiErr("", cpErrStart)
			}
			if last != "assistant" {
				return "", nil, oiErr("", cpErrEnd)
			}
			if len(turns) == 0 || turns[0].Role != "user" {
				return "", nil, oiErr("prompt", "the Human turns are empty")
			}
			for i := range turns {
				turns[i].Content = strings.Join(parts[i], "\n\n")
			}
			return system, turns, nil
		}
		if last == "" && next != "user" {
			return "", nil, oiErr("", cpErrStart)
		}
		flush(at)
		role, last = next, next
		pos = at + len(marker)
		segStart = pos
	}
}

// cpIndexFrom is strings.Index(s[from:], sub) as an index into s, or -1.
func cpIndexFrom(s, sub string, from int) int {
	i := strings.Index(s[from:], sub)
	if i < 0 {
		return -1
	}
	return from + i
}
