package shadow

import (
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// maxErr bounds the error text kept and logged per call.
const maxErr = 256

// Counts are a target's counters since start.
type Counts struct {
	Submitted int64 `json:"submitted"` // queued
	Dropped   int64 `json:"dropped"`   // not run: queue full, closed
	Completed int64 `json:"completed"` // compared (errors included)
}

// stats holds the last comparisons in a ring and the counters.
type stats struct {
	mu     sync.Mutex
	ring   []record
	next   int // where the next record goes
	full   bool
	counts map[Target]*Counts
}

func (s *stats) init(keep int) {
	s.ring = make([]record, keep)
	s.counts = make(map[Target]*Counts)
}

func (s *stats) count(t Target, f func(*Counts)) {
	s.mu.Lock()
	c := s.counts[t]
	if c == nil {
		c = &Counts{}
		s.counts[t] = c
	}
	f(c)
	s.mu.Unlock()
}

func (s *stats) keep(r record) {
	s.mu.Lock()
	c := s.counts[r.target]
	if c == nil {
		c = &Counts{}
		s.counts[r.target] = c
	}
	c.Completed++
	s.ring[s.next] = r
	s.next++
	if s.next == len(s.ring) {
		s.next, s.full = 0, true
	}
	s.mu.Unlock()
}

// record is one kept comparison: small, whatever the answers' size.
type record struct {
	at              time.Time
	target          Target
	model           string
	primaryProvider string
	p, s            Side
	c               Comparison
}

// Side is one answer of a pair as the summary shows it.
type Side struct {
	Status       int      `json:"status"`
	LatencyMS    float64  `json:"latency_ms"`
	TTFBMS       float64  `json:"ttfb_ms"`
	InputTokens  int64    `json:"input_tokens"` // every input token, cached ones included
	OutputTokens int64    `json:"output_tokens"`
	StopReason   string   `json:"stop_reason,omitempty"`
	Tools        []string `json:"tools,omitempty"` // tool names called, in order
	Truncated    bool     `json:"truncated,omitempty"`
	ErrorType    string   `json:"error_type,omitempty"`
	Error        string   `json:"error,omitempty"`
	Text         string   `json:"text,omitempty"` // the first Options.Excerpt bytes
}

func (m *Mirror) side(o *Outcome) Side {
	s := Side{
		Status:       o.Status,
		LatencyMS:    ms(o.Latency),
		TTFBMS:       ms(o.TTFB),
		InputTokens:  o.PromptTokens(),
		OutputTokens: o.OutputTokens,
		StopReason:   o.StopReason,
		Truncated:    o.Truncated,
		ErrorType:    o.ErrorType,
		Error:        clip(o.Err, maxErr),
		Text:         clip(o.Text, m.excerpt),
	}
	for _, t := range o.ToolCalls {
		s.Tools = append(s.Tools, t.Name)
	}
	return s
}

func (m *Mirror) record(j Job, s Outcome, c Comparison) record {
	return record{
		at:              m.now(),
		target:          j.Target,
		model:           clip(j.RequestModel, 128),
		primaryProvider: j.PrimaryProvider,
		p:               m.side(&j.Primary),
		s:               m.side(&s),
		c:               c,
	}
}

// Summary is what GET /admin/shadow answers: per target, the comparisons
// kept (the last Options.Keep across targets) summarised, the counters
// since start, and the most recent pairs. A rate or ratio with nothing to
// compute it from is absent.
type Summary struct {
	GeneratedAt time.Time       `json:"generated_at"`
	Threshold   float64         `json:"threshold"`
	Kept        int             `json:"kept"` // comparisons kept now
	Keep        int             `json:"keep"` // at most
	Queue       QueueState      `json:"queue"`
	Targets     []TargetSummary `json:"targets"`
	Recent      []Pair          `json:"recent"` // newest first
}

// QueueState is the queue right now.
type QueueState struct {
	Length   int   `json:"length"`
	Capacity int   `json:"capacity"`
	Bytes    int64 `json:"bytes"`
}

// TargetSummary summarises one route's shadow target.
//
// Pairs counts kept comparisons; Errors those where the shadow gave no
// complete answer. Agreement and status match are over the other
// (answered) pairs; similarity, tool agreement, latency and token deltas
// over Compared, the pairs where both answers were complete 2xx answers.
// Token deltas are the cost proxy until prices exist: the shadow's tokens
// over the primary's, minus 1, in percent, on the same requests.
type TargetSummary struct {
	Route    string `json:"route"`
	Shadow   string `json:"shadow"` // provider or provider/model
	Provider string `json:"provider"`
	Model    string `json:"model,omitempty"`
	Counts

	Pairs       int      `json:"pairs"`
	Errors      int      `json:"errors"`
	ErrorRate   *float64 `json:"error_rate,omitempty"`
	Answered    int      `json:"answered"`
	Agreement   *float64 `json:"agreement,omitempty"`
	StatusMatch *float64 `json:"status_match,omitempty"`

	Compared       int        `json:"compared"`
	Similarity     *float64   `json:"similarity,omitempty"` // mean
	ToolAgreement  *float64   `json:"tool_agreement,omitempty"`
	StopMatch      *float64   `json:"stop_match,omitempty"`
	LatencyRatio   *Quantiles `json:"latency_ratio,omitempty"` // shadow/primary, per pair
	TTFBRatio      *Quantiles `json:"ttfb_ratio,omitempty"`
	PrimaryLatency *Quantiles `json:"primary_latency_ms,omitempty"`
	ShadowLatency  *Quantiles `json:"shadow_latency_ms,omitempty"`
	Tokens         TokenSums  `json:"tokens"`
	InputDelta     *float64   `json:"input_tokens_delta_pct,omitempty"`
	OutputDelta    *float64   `json:"output_tokens_delta_pct,omitempty"`
}

// Quantiles of a distribution.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
}

// TokenSums are the tokens of the compared pairs, input counting cached
// tokens too.
type TokenSums struct {
	PrimaryInput  int64 `json:"primary_input"`
	PrimaryOutput int64 `json:"primary_output"`
	ShadowInput   int64 `json:"shadow_input"`
	ShadowOutput  int64 `json:"shadow_output"`
}

// Pair is one kept comparison.
type Pair struct {
	At              time.Time `json:"at"`
	Route           string    `json:"route"`
	Shadow          string    `json:"shadow"`
	Model           string    `json:"model,omitempty"` // the model the client asked for
	PrimaryProvider string    `json:"primary_provider"`
	Result          Result    `json:"result"`
	StatusMatch     bool      `json:"status_match"`
	Similarity      *float64  `json:"similarity,omitempty"`
	ToolsAgree      *bool     `json:"tools_agree,omitempty"`
	LatencyRatio    *float64  `json:"latency_ratio,omitempty"`
	Primary         Side      `json:"primary"`
	ShadowSide      Side      `json:"shadow_answer"`
}

// Query narrows a Summary.
type Query struct {
	Route  string // only this route; "" for all
	Recent int    // newest pairs to include, at most Keep
}

// Summary summarises the kept comparisons.
func (m *Mirror) Summary(q Query) Summary {
	m.stats.mu.Lock()
	var recs []record
	if m.full {
		recs = append(recs, m.ring[m.next:]...)
	}
	recs = append(recs, m.ring[:m.next]...)
	counts := make(map[Target]Counts, len(m.counts))
	for t, c := range m.counts {
		counts[t] = *c
	}
	m.stats.mu.Unlock()

	sum := Summary{
		GeneratedAt: m.now(),
		Threshold:   m.threshold,
		Kept:        len(recs),
		Keep:        len(m.ring),
		Queue:       QueueState{Length: len(m.queue), Capacity: cap(m.queue), Bytes: m.bytes.Load()},
		Targets:     []TargetSummary{},
		Recent:      []Pair{},
	}
	groups := make(map[Target][]*record)
	for i := range recs {
		r := &recs[i]
		if q.Route == "" || r.target.Route == q.Route {
			groups[r.target] = append(groups[r.target], r)
		}
	}
	for t := range counts {
		if _, ok := groups[t]; !ok && (q.Route == "" || t.Route == q.Route) {
			groups[t] = nil
		}
	}
	for t, rs := range groups {
		ts := summarise(t, rs)
		ts.Counts = counts[t]
		sum.Targets = append(sum.Targets, ts)
	}
	sort.Slice(sum.Targets, func(i, j int) bool {
		a, b := sum.Targets[i], sum.Targets[j]
		if a.Route != b.Route {
			return a.Route < b.Route
		}
		return a.Shadow < b.Shadow
	})
	for i := len(recs) - 1; i >= 0 && len(sum.Recent) < q.Recent; i-- {
		if r := &recs[i]; q.Route == "" || r.target.Route == q.Route {
			sum.Recent = append(sum.Recent, pairOf(r))
		}
	}
	return sum
}

func summarise(t Target, rs []*record) TargetSummary {
	ts := TargetSummary{Route: t.Route, Shadow: t.String(), Provider: t.Provider, Model: t.Model, Pairs: len(rs)}
	var agree, status, tools, stops int
	var simSum float64
	var lat, ttfb, plat, slat []float64
	for _, r := range rs {
		if r.c.Result == Error {
			ts.Errors++
			continue
		}
		ts.Answered++
		if r.c.Result == Agree {
			agree++
		}
		if r.c.StatusMatch {
			status++
		}
		if !r.c.Both {
			continue
		}
		ts.Compared++
		simSum += r.c.Similarity
		if r.c.ToolsAgree {
			tools++
		}
		if r.c.StopMatch {
			stops++
		}
		if r.c.LatencyRatio > 0 {
			lat = append(lat, r.c.LatencyRatio)
		}
		if r.c.TTFBRatio > 0 {
			ttfb = append(ttfb, r.c.TTFBRatio)
		}
		plat = append(plat, r.p.LatencyMS)
		slat = append(slat, r.s.LatencyMS)
		ts.Tokens.PrimaryInput += r.p.InputTokens
		ts.Tokens.PrimaryOutput += r.p.OutputTokens
		ts.Tokens.ShadowInput += r.s.InputTokens
		ts.Tokens.ShadowOutput += r.s.OutputTokens
	}
	ts.ErrorRate = rate(ts.Errors, ts.Pairs)
	ts.Agreement = rate(agree, ts.Answered)
	ts.StatusMatch = rate(status, ts.Answered)
	ts.ToolAgreement = rate(tools, ts.Compared)
	ts.StopMatch = rate(stops, ts.Compared)
	if ts.Compared > 0 {
		ts.Similarity = ptr(round3(simSum / float64(ts.Compared)))
	}
	ts.LatencyRatio = quantiles(lat)
	ts.TTFBRatio = quantiles(ttfb)
	ts.PrimaryLatency = quantiles(plat)
	ts.ShadowLatency = quantiles(slat)
	ts.InputDelta = deltaPct(ts.Tokens.ShadowInput, ts.Tokens.PrimaryInput)
	ts.OutputDelta = deltaPct(ts.Tokens.ShadowOutput, ts.Tokens.PrimaryOutput)
	return ts
}

func pairOf(r *record) Pair {
	p := Pair{
		At:              r.at,
		Route:           r.target.Route,
		Shadow:          r.target.String(),
		Model:           r.model,
		PrimaryProvider: r.primaryProvider,
		Result:          r.c.Result,
		StatusMatch:     r.c.StatusMatch,
		Primary:         r.p,
		ShadowSide:      r.s,
	}
	if r.c.Both {
		p.Similarity = ptr(round3(r.c.Similarity))
		p.ToolsAgree = ptr(r.c.ToolsAgree)
		if r.c.LatencyRatio > 0 {
			p.LatencyRatio = ptr(round3(r.c.LatencyRatio))
		}
	}
	return p
}

// quantiles are nearest-rank percentiles, or nil for no values.
func quantiles(v []float64) *Quantiles {
	if len(v) == 0 {
		return nil
	}
	slices.Sort(v)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(v)))) - 1
		return round3(v[min(max(i, 0), len(v)-1)])
	}
	return &Quantiles{P50: at(0.50), P95: at(0.95)}
}

func rate(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	return ptr(round3(float64(n) / float64(of)))
}

func deltaPct(shadow, primary int64) *float64 {
	if primary == 0 {
		return nil
	}
	return ptr(math.Round(1000*(float64(shadow)/float64(primary)-1)*100) / 1000)
}

func ptr[T any](v T) *T { return &v }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

// clip cuts s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
