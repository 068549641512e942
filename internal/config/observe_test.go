package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestObserveDefaults(t *testing.T) {
	c := Config{Tracing: Tracing{OTLPEndpoint: "http://127.0.0.1:4318"}}
	c.observeDefaults()
	if c.RateLimits.TagHeader != "X-Biz-Type" {
		t.Errorf("tag header = %q, want X-Biz-Type", c.RateLimits.TagHeader)
	}
	if c.Tracing.Sample == nil || *c.Tracing.Sample != 1 {
		t.Errorf("sample = %v, want 1 with an endpoint", c.Tracing.Sample)
	}
	off := Config{RateLimits: RateLimits{TagHeader: "X-Team"}}
	off.observeDefaults()
	if off.RateLimits.TagHeader != "X-Team" || off.Tracing.Sample != nil {
		t.Errorf("defaults overrode the config or set a sample without an endpoint: %+v", off)
	}
}

func TestObserveValidation(t *testing.T) {
	src := `metrics:
  tags: [batch, "", other, batch]
tracing:
  otlp_endpoint: "localhost:4318"
  sample: 1.5
` + simTail
	want := []string{
		`ferry.yaml:2: metrics.tags[1] is empty`,
		`ferry.yaml:2: metrics.tags[2] "other" is reserved: it labels unknown tags and requests without one`,
		`ferry.yaml:2: metrics.tags[3] "batch" is listed twice`,
		`ferry.yaml:4: tracing.otlp_endpoint "localhost:4318" is not an http(s) URL, e.g. http://127.0.0.1:4318`,
		`ferry.yaml:5: tracing.sample 1.5 is not between 0 and 1`,
	}
	if diff := cmp.Diff(want, parseProblems(t, src, nil)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	ok := "metrics:\n  tags: [batch, chat]\ntracing:\n  otlp_endpoint: http://127.0.0.1:4318\n  sample: 0.1\n" + simTail
	if got := parseProblems(t, ok, nil); len(got) != 0 {
		t.Errorf("valid config: %v", got)
	}
}
