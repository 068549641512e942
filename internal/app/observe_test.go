package app

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
	"github.com/ferrygw/ferry/internal/store/storetest"
	"github.com/ferrygw/ferry/internal/usage"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"
)

// scriptedTraffic sends a tagged JSON request, an unknown-tag stream and a
// malformed request through a gateway that knows the tag "batch".
func scriptedTraffic(t *testing.T) *gateway {
	t.Helper()
	g := newGateway(t, func(c *config.Config) { c.Metrics.Tags = []string{"batch"} })
	g.reply(t, "message_tool_use")
	if resp, _ := g.rawPost(t, "/v1/messages", plainBody, map[string]string{"X-Biz-Type": "batch"}); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: fakeupstream.MustLoad(t, fixtures+"stream_text.txtar")})
	if resp, _ := g.rawPost(t, "/v1/messages", streamBody, map[string]string{"X-Biz-Type": "attacker-chosen-123"}); resp.StatusCode != 200 {
		t.Fatalf("stream status %d", resp.StatusCode)
	}
	g.rawPost(t, "/v1/messages", `{"model":`, nil)
	return g
}

// TestTrafficTagsAndLatencySplit: known tags label requests and tokens as
// themselves, unknown ones fold into other; a stream observes time to
// first token; every request observes the gateway's own overhead.
func TestTrafficTagsAndLatencySplit(t *testing.T) {
	g := scriptedTraffic(t)
	m := g.App.metrics
	byTag := map[string]float64{}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var firstToken, overhead uint64
	for _, mf := range families {
		for _, s := range mf.GetMetric() {
			switch mf.GetName() {
			case "ferry_requests_total":
				for _, l := range s.GetLabel() {
					if l.GetName() == "tag" {
						byTag[l.GetValue()] += s.GetCounter().GetValue()
					}
				}
			case "ferry_time_to_first_token_seconds":
				firstToken += s.GetHistogram().GetSampleCount()
			case "ferry_gateway_overhead_seconds":
				overhead += s.GetHistogram().GetSampleCount()
			}
		}
	}
	if want := map[string]float64{"batch": 1, "other": 1, "none": 1}; !mapsEqual(byTag, want) {
		t.Errorf("requests by tag = %v, want %v", byTag, want)
	}
	if got := counterValue(m.Tokens.WithLabelValues("anthropic-hk", "claude-sonnet-4-5", "batch", "input")); got != 402 {
		t.Errorf("batch input tokens = %g, want 402", got)
	}
	if firstToken != 1 {
		t.Errorf("time-to-first-token samples = %d, want 1 (the stream)", firstToken)
	}
	if overhead != 3 {
		t.Errorf("gateway overhead samples = %d, want 3", overhead)
	}
	checkAccessLog(t, g.Logs.String())
}

// checkAccessLog: the tag is logged as sent, and a refused request's
// error text appears once on its line.
func checkAccessLog(t *testing.T, logs string) {
	t.Helper()
	var tagged, refused bool
	for _, line := range strings.Split(logs, "\n") {
		var l struct {
			Msg, Tag, Error string
			Status          int
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "request" {
			continue
		}
		tagged = tagged || l.Tag == "attacker-chosen-123"
		if l.Status == 400 {
			refused = true
			parts := strings.Split(l.Error, ": ")
			if cause := parts[len(parts)-1]; l.Error == "" || strings.Count(l.Error, cause) != 1 || strings.HasPrefix(l.Error, "invalid_request") {
				t.Errorf("error text %q says its cause or kind twice (error_kind has the kind)", l.Error)
			}
		}
	}
	if !tagged || !refused {
		t.Errorf("access log lacks the tagged stream (%v) or the refused request (%v):\n%s", tagged, refused, logs)
	}
}

func mapsEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

var metricName = regexp.MustCompile(`\b(?:ferry|go|process)_[a-z0-9_]+\b`)

// TestDeployFilesUseExistingMetrics: every metric the Grafana dashboard
// and the Prometheus alert rules query is one the gateway registers.
func TestDeployFilesUseExistingMetrics(t *testing.T) {
	g := scriptedTraffic(t)
	known := registered(g.App.metrics.Registry)
	// The ledger's metrics exist where there is a store (ferry serve
	// always opens one).
	withStore := newGatewayOpts(t, Options{Store: storetest.SQLite(t, usage.Schema)})
	for name := range registered(withStore.App.metrics.Registry) {
		known[name] = true
	}
	var exprs []string
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Query any `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	b, err := os.ReadFile("../../deploy/grafana/ferry-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(string); ok {
			exprs = append(exprs, q)
		}
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if b, err = os.ReadFile("../../deploy/prometheus/alerts.yml"); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("alerts: %v", err)
	}
	var alerts []string
	for _, gr := range rules.Groups {
		for _, r := range gr.Rules {
			exprs = append(exprs, r.Expr)
			alerts = append(alerts, r.Alert)
		}
	}
	for _, want := range []string{"FerryHighErrorRate", "FerryHighLatencyP95", "FerryBudgetRefusals", "FerryBreakerOpen"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("alert rules lack %s", want)
		}
	}
	if len(exprs) < 20 {
		t.Fatalf("only %d expressions found: the files' shape changed?", len(exprs))
	}
	for _, e := range exprs {
		for _, name := range metricName.FindAllString(e, -1) {
			if !known[name] {
				t.Errorf("%q uses %s, which the gateway does not register", e, name)
			}
		}
	}
}

// registered is every metric name the registry describes, histograms'
// series names included.
func registered(r *prometheus.Registry) map[string]bool {
	ch := make(chan *prometheus.Desc)
	go func() { r.Describe(ch); close(ch) }()
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	known := map[string]bool{}
	for d := range ch {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			for _, s := range []string{"", "_bucket", "_sum", "_count"} {
				known[m[1]+s] = true
			}
		}
	}
	// The Go collector describes its metrics lazily: take what it gathers.
	families, _ := r.Gather()
	for _, mf := range families {
		known[strings.TrimSpace(mf.GetName())] = true
	}
	return known
}
