package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/bench"
)

func TestBenchSimulate(t *testing.T) {
	for _, format := range []string{"anthropic", "openai"} {
		t.Run(format, func(t *testing.T) {
			out, _, err := run(t, nil, "bench", "--simulate", "--stream", "--format", format, "--concurrency", "4", "--requests", "60", "--json")
			if err != nil {
				t.Fatal(err)
			}
			var c bench.Comparison
			if err := json.Unmarshal([]byte(out), &c); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for name, r := range map[string]*bench.Result{"direct": c.Direct, "ferry": c.Ferry} {
				if r == nil || r.Succeeded != 60 || r.Failed != 0 || r.TTFT == nil {
					t.Fatalf("%s: %+v", name, r)
				}
			}
			if c.LatencyRatio <= 0 || c.CPURatio <= 0 {
				t.Errorf("ratios: latency %v, cpu %v", c.LatencyRatio, c.CPURatio)
			}
		})
	}
}

func TestBenchTable(t *testing.T) {
	out, _, err := run(t, nil, "bench", "--simulate", "--concurrency", "2", "--requests", "20")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"direct (loopback upstream):", "through ferry:", "latency ratio (p50)", "cpu "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchNeedsAURL(t *testing.T) {
	if _, _, err := run(t, nil, "bench"); err == nil || !strings.Contains(err.Error(), "give a URL") {
		t.Errorf("err = %v", err)
	}
	if _, _, err := run(t, nil, "bench", "--simulate", "http://127.0.0.1:1"); err == nil {
		t.Error("--simulate with a URL: no error")
	}
}
