package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferrygw/ferry/internal/jsonpeek"
	"github.com/ferrygw/ferry/internal/shadow"
	"github.com/ferrygw/ferry/internal/usage"
)

// ReplayOptions say where Replay sends the prompts.
type ReplayOptions struct {
	URL         string   // Ferry's base URL (POST /v1/messages)
	Key         string   // never printed
	Models      []string // two or more; the first is the baseline the others are compared with
	Concurrency int      // prompts in flight (0: 4); a prompt's models are asked one after another
	Threshold   float64  // text similarity at which answers agree (0: shadow.DefaultThreshold)
	Prices      *usage.Table
	Client      *http.Client
}

// Answer is one prompt's answer from one model.
type Answer struct {
	Prompt   int    // 0-based line of the prompt among the prompts
	Model    string // the model asked for
	Served   string // the model the answer names
	Outcome  shadow.Outcome
	Cost     usage.Micros
	Currency string // empty: no price known for Served
	Baseline bool   // the first model's answer, which the others are compared with
	// Against the baseline's answer to the same prompt (not for the
	// baseline itself).
	Compared   bool
	Result     shadow.Result
	Similarity float64
	ToolsAgree bool
}

// ModelReport sums one model's answers.
type ModelReport struct {
	Model            string
	Prompts, Errors  int
	Latency          *Quantiles
	InputTokens      int64
	OutputTokens     int64
	Cost             usage.Micros
	Currency         string // empty: no price known for some answer
	Agree, Compared  int    // answers agreeing with the baseline's, of those compared
	MeanSimilarity   float64
	ToolAgreeCompare int // answers whose tool calls agree with the baseline's
}

// Replay sends every prompt to every model and compares the answers.
func Replay(ctx context.Context, o ReplayOptions, prompts [][]byte) ([]ModelReport, []Answer, error) {
	if len(o.Models) < 2 {
		return nil, nil, errors.New("replay: want two or more models")
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Threshold <= 0 {
		o.Threshold = shadow.DefaultThreshold
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Minute}
	}
	o.URL = strings.TrimRight(o.URL, "/")
	answers := make([]Answer, len(prompts)*len(o.Models))
	next := make(chan int)
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				row := answers[p*len(o.Models) : (p+1)*len(o.Models)]
				for i, m := range o.Models {
					row[i] = o.ask(ctx, p, m, prompts[p])
				}
				o.compare(row)
			}
		}()
	}
	for p := range prompts {
		if ctx.Err() != nil {
			break
		}
		next <- p
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return o.reports(answers), answers, nil
}

// ask sends one prompt to one model and records the answer.
func (o *ReplayOptions) ask(ctx context.Context, p int, model string, body []byte) (a Answer) {
	a = Answer{Prompt: p, Model: model}
	rec := shadow.NewRecorder(nil)
	defer func() { a.Outcome = rec.Outcome() }()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL+"/v1/messages", bytes.NewReader(withModel(body, model)))
	if err != nil {
		rec.Fail(err)
		return a
	}
	req.Header["Content-Type"] = []string{"application/json"}
	req.Header["Anthropic-Version"] = []string{"2023-06-01"}
	if o.Key != "" {
		req.Header["X-Api-Key"] = []string{o.Key}
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		rec.Fail(err)
		return a
	}
	defer resp.Body.Close()
	rec.Status(resp.StatusCode)
	b, err := io.ReadAll(io.LimitReader(resp.Body, shadow.MaxBody))
	if err != nil {
		rec.Fail(err)
		return a
	}
	rec.FeedBody(b)
	if s, err := jsonpeek.String(jsonpeek.Member(b, "model")); err == nil {
		a.Served = s
	}
	return a
}

// compare prices a prompt's answers and compares each with the baseline's
// (row[0]).
func (o *ReplayOptions) compare(row []Answer) {
	for i := range row {
		a := &row[i]
		a.Baseline = i == 0
		if o.Prices != nil && a.Outcome.Status == http.StatusOK {
			name := a.Served
			if name == "" {
				name = a.Model
			}
			if pr, ok := o.Prices.Lookup("", name); ok {
				a.Currency = pr.Currency
				a.Cost = pr.Cost(usage.Tokens{Input: a.Outcome.InputTokens, Output: a.Outcome.OutputTokens,
					CacheRead: a.Outcome.CacheReadTokens, CacheWrite: a.Outcome.CacheCreationTokens}, time.Time{})
			}
		}
		if i == 0 {
			continue
		}
		c := shadow.Compare(row[0].Outcome, a.Outcome, o.Threshold)
		a.Compared, a.Result, a.Similarity, a.ToolsAgree = c.Both, c.Result, c.Similarity, c.ToolsAgree
	}
}

func (o *ReplayOptions) reports(answers []Answer) []ModelReport {
	reps := make([]ModelReport, len(o.Models))
	lat := make([][]time.Duration, len(o.Models))
	priced := make([]bool, len(o.Models))
	for i, m := range o.Models {
		reps[i].Model, priced[i] = m, true
	}
	for k, a := range answers {
		i := k % len(o.Models)
		r := &reps[i]
		r.Prompts++
		if a.Outcome.Err != "" || a.Outcome.Status != http.StatusOK {
			r.Errors++
			continue
		}
		lat[i] = append(lat[i], a.Outcome.Latency)
		r.InputTokens += a.Outcome.PromptTokens()
		r.OutputTokens += a.Outcome.OutputTokens
		r.Cost += a.Cost
		if a.Currency == "" || (r.Currency != "" && r.Currency != a.Currency) {
			priced[i] = false // unknown or mixed: no total
		} else {
			r.Currency = a.Currency
		}
		if a.Compared {
			r.Compared++
			r.MeanSimilarity += a.Similarity
			if a.Result == shadow.Agree {
				r.Agree++
			}
			if a.ToolsAgree {
				r.ToolAgreeCompare++
			}
		}
	}
	for i := range reps {
		reps[i].Latency = quantiles(lat[i])
		if reps[i].Compared > 0 {
			reps[i].MeanSimilarity /= float64(reps[i].Compared)
		}
		if !priced[i] {
			reps[i].Currency = ""
		}
	}
	return reps
}

// PrintReplay writes the reports side by side, one column per model.
func PrintReplay(w io.Writer, reps []ModelReport) {
	row := func(name string, cell func(r ModelReport) string) {
		fmt.Fprintf(w, "%-16s", name)
		for i, r := range reps {
			c := cell(r)
			if i == 0 && (name == "agreement" || name == "tool calls") {
				c = "(baseline)"
			}
			fmt.Fprintf(w, "  %-24s", c)
		}
		fmt.Fprintln(w)
	}
	row("model", func(r ModelReport) string { return r.Model })
	row("answers", func(r ModelReport) string { return fmt.Sprintf("%d/%d", r.Prompts-r.Errors, r.Prompts) })
	q := func(pick func(*Quantiles) float64) func(r ModelReport) string {
		return func(r ModelReport) string {
			if r.Latency == nil {
				return "-"
			}
			return fmt.Sprintf("%.0fms", pick(r.Latency))
		}
	}
	row("latency p50", q(func(q *Quantiles) float64 { return q.P50 }))
	row("latency p95", q(func(q *Quantiles) float64 { return q.P95 }))
	row("tokens in/out", func(r ModelReport) string { return fmt.Sprintf("%d/%d", r.InputTokens, r.OutputTokens) })
	row("cost", func(r ModelReport) string {
		if r.Currency == "" {
			return "- (no price)"
		}
		return r.Cost.String() + " " + r.Currency
	})
	row("agreement", func(r ModelReport) string {
		if r.Compared == 0 {
			return "-"
		}
		return fmt.Sprintf("%d/%d, similarity %.2f", r.Agree, r.Compared, r.MeanSimilarity)
	})
	row("tool calls", func(r ModelReport) string {
		if r.Compared == 0 {
			return "-"
		}
		return fmt.Sprintf("%d/%d agree", r.ToolAgreeCompare, r.Compared)
	})
}

// WriteReplayCSV writes one row per prompt and model.
func WriteReplayCSV(w io.Writer, answers []Answer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"prompt", "model", "status", "error", "latency_ms", "input_tokens", "output_tokens", "cost", "currency", "result", "similarity", "tools_agree"})
	for _, a := range answers {
		o := a.Outcome
		cost := ""
		if a.Currency != "" {
			cost = a.Cost.String()
		}
		res, sim, tools := string(a.Result), "", ""
		if a.Baseline {
			res = "baseline"
		}
		if a.Compared {
			sim, tools = strconv.FormatFloat(a.Similarity, 'f', 3, 64), strconv.FormatBool(a.ToolsAgree)
		}
		errText := o.Err
		if errText == "" {
			errText = o.ErrorType
		}
		cw.Write([]string{strconv.Itoa(a.Prompt + 1), a.Model, strconv.Itoa(o.Status), errText,
			strconv.FormatFloat(ms(o.Latency), 'f', 1, 64), strconv.FormatInt(o.PromptTokens(), 10),
			strconv.FormatInt(o.OutputTokens, 10), cost, a.Currency, res, sim, tools})
	}
	cw.Flush()
	return cw.Error()
}
