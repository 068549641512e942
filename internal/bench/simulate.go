package bench

import (
	"context"
	"fmt"
	"io"
)

// Comparison is one `--simulate` run: the same load sent straight to the
// loopback upstream, then through Ferry in front of it.
type Comparison struct {
	Direct *Result `json:"direct"`
	Ferry  *Result `json:"ferry"`
	// Ferry's addition: the differences of the medians and p99s, and the
	// ratio of CPU spent per request (client, upstream and, in the second
	// run, Ferry share the process).
	AddedP50ms   float64 `json:"added_p50_ms"`
	AddedP99ms   float64 `json:"added_p99_ms"`
	LatencyRatio float64 `json:"latency_ratio_p50"`
	CPURatio     float64 `json:"cpu_ratio,omitempty"`
	AddedCPUus   float64 `json:"added_cpu_us_per_request,omitempty"`
}

// Compare runs o against direct, then against ferry (both base URLs), and
// measures process CPU around each.
func Compare(ctx context.Context, o Options, direct, ferry string) (*Comparison, error) {
	run := func(url string) (*Result, error) {
		o := o
		o.URL = url
		cpu := ProcessCPU()
		r, err := Run(ctx, o)
		if err != nil {
			return nil, err
		}
		r.CPUSeconds = (ProcessCPU() - cpu).Seconds()
		return r, nil
	}
	d, err := run(direct)
	if err != nil {
		return nil, err
	}
	f, err := run(ferry)
	if err != nil {
		return nil, err
	}
	c := &Comparison{Direct: d, Ferry: f}
	if d.Latency != nil && f.Latency != nil {
		c.AddedP50ms = f.Latency.P50 - d.Latency.P50
		c.AddedP99ms = f.Latency.P99 - d.Latency.P99
		if d.Latency.P50 > 0 {
			c.LatencyRatio = f.Latency.P50 / d.Latency.P50
		}
	}
	dc, fc := perRequest(d), perRequest(f)
	if dc > 0 && fc > 0 {
		c.CPURatio = fc / dc
		c.AddedCPUus = (fc - dc) * 1e6
	}
	return c, nil
}

func perRequest(r *Result) float64 {
	if r.Requests == 0 {
		return 0
	}
	return r.CPUSeconds / float64(r.Requests)
}

// Print writes both runs and the ratios.
func (c *Comparison) Print(w io.Writer) {
	fmt.Fprintln(w, "direct (loopback upstream):")
	c.Direct.Print(w)
	fmt.Fprintln(w, "through ferry:")
	c.Ferry.Print(w)
	fmt.Fprintf(w, "ferry adds   p50 %+.2fms  p99 %+.2fms  latency ratio (p50) %.2f\n", c.AddedP50ms, c.AddedP99ms, c.LatencyRatio)
	if c.CPURatio > 0 {
		fmt.Fprintf(w, "cpu          %.2f× per request (%+.0fµs)\n", c.CPURatio, c.AddedCPUus)
	}
}
