package shadow

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// Result is a pair's verdict.
type Result string

// Verdicts; also the values of the result label.
const (
	Agree    Result = "agree"
	Disagree Result = "disagree"
	Error    Result = "error" // the shadow gave no complete answer
)

// DefaultThreshold is the text similarity at or above which two successful
// answers agree.
const DefaultThreshold = 0.8

// Comparison is how a shadow answer differs from the primary's.
type Comparison struct {
	Result      Result
	StatusMatch bool // the same status code
	ClassMatch  bool // the same status class (2xx, 4xx, 5xx)
	// Both is set when both answers are complete 2xx answers; only then
	// are text, tool calls, latency and tokens compared.
	Both         bool
	Similarity   float64 // text similarity in [0, 1]
	ToolsAgree   bool    // the same tools, in order, with equal inputs
	StopMatch    bool    // the same stop_reason
	LatencyRatio float64 // shadow latency / primary latency; 0 if unknown
	TTFBRatio    float64 // likewise for the time to first byte
}

// Compare compares the shadow's outcome s with the primary's p. Answers
// agree when their status classes match and, for 2xx answers, the text
// similarity is at least threshold and the tool calls agree. A primary
// without a complete answer agrees with nothing.
func Compare(p, s Outcome, threshold float64) Comparison {
	var sim similarity
	return sim.compare(p, s, threshold)
}

func (sim *similarity) compare(p, s Outcome, threshold float64) Comparison {
	var c Comparison
	if !s.answered() {
		c.Result = Error
		return c
	}
	c.StatusMatch = p.Status == s.Status
	c.ClassMatch = p.Status/100 == s.Status/100
	c.Both = p.answered() && ok2xx(p.Status) && ok2xx(s.Status)
	c.Result = Disagree
	if !p.answered() {
		return c
	}
	if !c.Both {
		if c.ClassMatch {
			c.Result = Agree
		}
		return c
	}
	c.Similarity = sim.of(p.Text, s.Text)
	c.ToolsAgree = ToolCallsAgree(p.ToolCalls, s.ToolCalls)
	c.StopMatch = p.StopReason == s.StopReason
	c.LatencyRatio = ratio(float64(s.Latency), float64(p.Latency))
	c.TTFBRatio = ratio(float64(s.TTFB), float64(p.TTFB))
	if c.Similarity >= threshold && c.ToolsAgree {
		c.Result = Agree
	}
	return c
}

func ok2xx(code int) bool { return code >= 200 && code <= 299 }

func ratio(a, b float64) float64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	return a / b
}

// ToolCallsAgree reports whether a and b call the same tools in the same
// order with inputs equal as JSON values (key order, spacing and number
// spelling such as 1 and 1.0 do not matter). A truncated input matches
// only the same truncated bytes.
func ToolCallsAgree(a, b []ToolCall) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !inputsEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func inputsEqual(a, b ToolCall) bool {
	if a.Truncated || b.Truncated {
		return a.Truncated == b.Truncated && bytes.Equal(a.Input, b.Input)
	}
	if bytes.Equal(a.Input, b.Input) {
		return true
	}
	va, errA := decodeInput(a.Input)
	vb, errB := decodeInput(b.Input)
	if errA != nil || errB != nil {
		return false // equal bytes were handled above
	}
	return jsonEqual(va, vb)
}

// decodeInput decodes a tool input; no input at all is the empty object,
// as a stream with no input_json_delta means.
func decodeInput(b []byte) (any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return map[string]any{}, nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errTrailing
	}
	return v, nil
}

var errTrailing = errors.New("data after the input")

// jsonEqual compares decoded JSON values; numbers compare by value,
// exactly when both are integers.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			if j, err := strconv.ParseInt(string(y), 10, 64); err == nil {
				return i == j
			}
		}
		f, err1 := x.Float64()
		g, err2 := y.Float64()
		return err1 == nil && err2 == nil && f == g
	default: // string, bool, nil
		return a == b
	}
}
