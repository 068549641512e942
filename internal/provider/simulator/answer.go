package simulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// kind is a content block's type.
type kind uint8

const (
	kindText kind = iota
	kindThinking
	kindToolUse
)

// outBlock is one content block of an answer.
type outBlock struct {
	kind      kind
	text      string // the text, the thinking, or the tool input as JSON
	tokens    int    // output tokens (= token deltas) of text
	signature string // thinking
	id, name  string // tool_use
}

// answer is a planned successful message; the JSON body and the stream are
// both rendered from it, so they agree by construction.
type answer struct {
	id         string
	model      string
	blocks     [3]outBlock // thinking, text, tool_use: at most one each
	nblocks    int
	stopReason string
	stopSeq    string
	hasStopSeq bool
	input      int // input tokens
	output     int // output tokens
}

func (a *answer) add(b outBlock) {
	a.blocks[a.nblocks] = b
	a.nblocks++
	a.output += b.tokens
}

// deltaTokens is the number of paced deltas in the stream.
func (a *answer) deltaTokens() int { return a.output }

// Stop reasons.
const (
	stopEndTurn      = "end_turn"
	stopMaxTokens    = "max_tokens"
	stopStopSequence = "stop_sequence"
	stopToolUse      = "tool_use"
)

// quoteRunes is how much of the user's text an answer quotes.
const quoteRunes = 80

// plan builds the answer to request n. wantTool says that the outcome or
// tool_choice asks for a tool call; it happens only if the request offers a
// custom tool, tool_choice is not "none", and the last user turn is not a
// tool result.
func (p *Provider) plan(req *request, model string, wantTool bool, n uint64) *answer {
	idRand := newRand(p.cfg.Seed, n, streamMessageID)
	a := &answer{
		id:         idRand.id("msg_"),
		model:      model,
		stopReason: stopEndTurn,
		input:      req.inputTokens(),
	}
	budget := int(min(*req.MaxTokens, 1<<40))

	var (
		text, thought string
		call          *tool
	)
	last := req.lastUser()
	result, isResult := (*inBlock)(nil), false
	if last != nil {
		result, isResult = last.Content.toolResult()
	}
	switch {
	case isResult:
		text = "Tool result received: " + clip(result.Content.joinText(), quoteRunes)
		thought = "The tool returned its result, so I will report it back to the user."
	case wantTool && req.choice() != "none" && req.pickTool() != nil:
		call = req.pickTool()
		text = "I'll use the " + call.Name + " tool."
		thought = "The user wants something the " + call.Name + " tool can do, so I will call it."
	default:
		said := ""
		if last != nil {
			said = last.Content.said()
		}
		text = p.cfg.Text
		if text == "" {
			text = `Hello from Ferry's simulator. You said: "` + clip(said, quoteRunes) + `"`
		}
		thought = `The user said "` + clip(said, 40) + `". A short and friendly answer will do.`
	}

	if req.thinkingOn() && budget > 0 {
		b := outBlock{kind: kindThinking, text: thought, tokens: countTokens(thought)}
		if b.tokens > budget {
			b.text, b.tokens = firstTokens(thought, budget), budget
		}
		sigRand := newRand(p.cfg.Seed, n, streamSignature)
		b.signature = signature(&sigRand)
		a.add(b)
		budget -= b.tokens
		if budget == 0 {
			a.stopReason = stopMaxTokens
			return a
		}
	}

	if i, seq := firstStop(text, req.StopSequences); i >= 0 {
		text, call = text[:i], nil
		a.stopReason, a.stopSeq, a.hasStopSeq = stopStopSequence, seq, true
	}
	if k := countTokens(text); k > budget {
		text, call = firstTokens(text, budget), nil
		a.stopReason, a.stopSeq, a.hasStopSeq = stopMaxTokens, "", false
	}
	if text != "" {
		b := outBlock{kind: kindText, text: text, tokens: countTokens(text)}
		a.add(b)
		budget -= b.tokens
	}

	if call != nil {
		input := schemaValue(call.InputSchema, true, 0)
		k := countChunks(input)
		if k > budget {
			// A tool call that does not fit whole is left out, so that
			// every tool_use block holds valid JSON.
			a.stopReason = stopMaxTokens
			return a
		}
		toolRand := newRand(p.cfg.Seed, n, streamToolID)
		a.add(outBlock{kind: kindToolUse, text: input, tokens: k, id: toolRand.id("toolu_"), name: call.Name})
		a.stopReason = stopToolUse
	}
	return a
}

// signature is a thinking block's signature: base64 of 64 pseudorandom bytes,
// like the real API's opaque blob.
func signature(r *rand) string {
	var raw [64]byte
	for i := 0; i < len(raw); i += 8 {
		x := r.next()
		for k := range 8 {
			raw[i+k] = byte(x >> (8 * k))
		}
	}
	return base64.StdEncoding.EncodeToString(raw[:])
}

// clip trims s and cuts it to n runes, marking a cut with "…".
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	i := 0
	for k := 0; k < n; k++ {
		if i >= len(s) {
			return s
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	if i >= len(s) {
		return s
	}
	return s[:i] + "…"
}

// firstStop returns the earliest match of a stop sequence in s and the
// sequence, or -1.
func firstStop(s string, seqs []string) (int, string) {
	at, seq := -1, ""
	for _, q := range seqs {
		if q == "" {
			continue
		}
		if i := strings.Index(s, q); i >= 0 && (at < 0 || i < at) {
			at, seq = i, q
		}
	}
	return at, seq
}

// Tokens: a word with the whitespace after it (and, for the first token, any
// whitespace before it).

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// tokenEnd returns where the token starting at i ends.
func tokenEnd(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

func countTokens(s string) int { return countPieces(s, tokenEnd) }

// countPieces counts the pieces of s that next cuts it into (tokenEnd,
// chunkEnd).
func countPieces(s string, next func(string, int) int) int {
	n := 0
	for i := 0; i < len(s); i = next(s, i) {
		n++
	}
	return n
}

// firstTokens returns the first k tokens of s.
func firstTokens(s string, k int) string {
	i := 0
	for ; k > 0 && i < len(s); k-- {
		i = tokenEnd(s, i)
	}
	return s[:i]
}

// chunkSize is the size of an input_json_delta (the real API sends a few
// bytes at a time: `{"city": "Sa`, `n Francis`, `co"}`).
const chunkSize = 8

// chunkEnd returns where the tool-input chunk starting at i ends: after
// chunkSize bytes, moved back so that no UTF-8 sequence is split.
func chunkEnd(s string, i int) int {
	j := i + chunkSize
	if j >= len(s) {
		return len(s)
	}
	for j > i+1 && !utf8.RuneStart(s[j]) {
		j--
	}
	return j
}

func countChunks(s string) int { return countPieces(s, chunkEnd) }

// schemaDepth bounds recursion into nested object schemas.
const schemaDepth = 8

// schemaValue returns a compact JSON value that fits a JSON Schema: its
// const, else its first enum value, else by type: "example", 1, true, [],
// null, or an object. An object holds its required properties; at the top
// (a tool's input_schema) it holds all properties when none is required.
func schemaValue(raw json.RawMessage, top bool, depth int) string {
	var s struct {
		Type       json.RawMessage   `json:"type"`
		Const      json.RawMessage   `json:"const"`
		Enum       []json.RawMessage `json:"enum"`
		Properties json.RawMessage   `json:"properties"`
		Required   []string          `json:"required"`
	}
	if json.Unmarshal(raw, &s) != nil {
		if top {
			return "{}"
		}
		return "null"
	}
	if len(s.Const) > 0 {
		return compact(s.Const)
	}
	if len(s.Enum) > 0 {
		return compact(s.Enum[0])
	}
	typ := schemaType(s.Type)
	if typ == "" && (top || len(s.Properties) > 0) {
		typ = "object"
	}
	switch typ {
	case "string":
		return `"example"`
	case "number", "integer":
		return "1"
	case "boolean":
		return "true"
	case "array":
		return "[]"
	case "object":
	default:
		return "null"
	}
	if depth >= schemaDepth {
		return "{}"
	}
	keys, props := orderedProps(s.Properties)
	names := s.Required
	if len(names) == 0 && top {
		names = keys
	}
	b := []byte{'{'}
	for i, name := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonpeek.AppendString(b, name)
		b = append(b, ':')
		b = append(b, schemaValue(props[name], false, depth+1)...)
	}
	return string(append(b, '}'))
}

// schemaType is a schema's "type": the string, or the first non-null type
// of an array.
func schemaType(raw json.RawMessage) string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, t := range many {
			if t != "null" {
				return t
			}
		}
		if len(many) > 0 {
			return many[0]
		}
	}
	return ""
}

// orderedProps returns the keys of a "properties" object in their order in
// the schema, and the sub-schemas.
func orderedProps(raw json.RawMessage) ([]string, map[string]json.RawMessage) {
	props := map[string]json.RawMessage{}
	if len(raw) == 0 {
		return nil, props
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, props
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		k, _ := t.(string)
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			break
		}
		if _, dup := props[k]; !dup {
			keys = append(keys, k)
		}
		props[k] = v
	}
	return keys, props
}

// compact returns raw JSON without insignificant space.
func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return "null"
	}
	return b.String()
}
