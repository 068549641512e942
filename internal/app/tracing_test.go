package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ferrygw/ferry/internal/config"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// otlpReceiver is an in-process OTLP/HTTP trace receiver on loopback.
type otlpReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	rc := &otlpReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "unexpected "+r.URL.Path+" "+r.Header.Get("Content-Type"), http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				rc.spans = append(rc.spans, ss.GetSpans()...)
			}
		}
		rc.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Write(out)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *otlpReceiver) byName() map[string]*tracepb.Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	m := map[string]*tracepb.Span{}
	for _, s := range rc.spans {
		if m[s.GetName()] != nil {
			// Each name once: a second request span would be the
			// health probe's.
			m[s.GetName()+"#2"] = s
			continue
		}
		m[s.GetName()] = s
	}
	return m
}

// TestTracingSpansAndPropagation: with tracing.otlp_endpoint set, a
// request continues the client's traceparent; the request, limiter,
// cache, translation and upstream-attempt spans reach the OTLP receiver
// in one trace; the upstream gets a traceparent naming the attempt span.
func TestTracingSpansAndPropagation(t *testing.T) {
	rc := newOTLPReceiver(t)
	g := newGateway(t, func(c *config.Config) { c.Tracing.OTLPEndpoint = rc.URL })
	g.reply(t, "message_tool_use")
	if resp, err := g.HTTP.Get(g.URL + "/healthz"); err == nil {
		resp.Body.Close()
	}
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	resp, _ := g.rawPost(t, "/v1/messages", plainBody, map[string]string{"traceparent": "00-" + traceID + "-" + parentID + "-01"})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// The client may read the answer before the handler has returned and
	// ended the request's span: flush until it is there.
	var spans map[string]*tracepb.Span
	for range 200 {
		if err := g.App.tracer.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if spans = rc.byName(); spans["ferry.request"] != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(spans) != 5 {
		t.Errorf("spans %v, want the five of one API request (none for /healthz)", spanNames(spans))
	}
	root := spans["ferry.request"]
	if root == nil {
		t.Fatalf("no ferry.request span; got %v", spanNames(spans))
	}
	if got := hex.EncodeToString(root.GetTraceId()); got != traceID {
		t.Errorf("request span trace %s, want the client's %s", got, traceID)
	}
	if got := hex.EncodeToString(root.GetParentSpanId()); got != parentID {
		t.Errorf("request span parent %s, want the client's span %s", got, parentID)
	}
	if root.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("request span kind %v", root.GetKind())
	}
	for _, name := range []string{"ferry.ratelimit", "ferry.cache", "ferry.translate", "ferry.upstream.attempt"} {
		s := spans[name]
		if s == nil {
			t.Errorf("no %s span; got %v", name, spanNames(spans))
			continue
		}
		if !bytes.Equal(s.GetTraceId(), root.GetTraceId()) || !bytes.Equal(s.GetParentSpanId(), root.GetSpanId()) {
			t.Errorf("%s is not a child of the request span", name)
		}
	}
	attempt := spans["ferry.upstream.attempt"]
	reqs := g.Fake.Requests()
	if attempt == nil || len(reqs) != 1 {
		t.Fatalf("attempt span %v, upstream requests %d", attempt != nil, len(reqs))
	}
	want := "00-" + traceID + "-" + hex.EncodeToString(attempt.GetSpanId()) + "-01"
	if got := reqs[0].Header.Get("Traceparent"); got != want {
		t.Errorf("upstream traceparent %q, want %q", got, want)
	}
}

// TestTracingOffSendsNoTraceparent: without an endpoint nothing is traced
// and a client's traceparent does not reach the upstream (headers are an
// allowlist).
func TestTracingOffSendsNoTraceparent(t *testing.T) {
	g := newGateway(t)
	if g.App.tracer != nil {
		t.Fatal("tracer built without an endpoint")
	}
	g.reply(t, "message_tool_use")
	g.rawPost(t, "/v1/messages", plainBody, map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
	for _, r := range g.Fake.Requests() {
		if tp := r.Header.Get("Traceparent"); tp != "" {
			t.Errorf("upstream got traceparent %q with tracing off", tp)
		}
	}
}

func spanNames(m map[string]*tracepb.Span) string {
	var b strings.Builder
	for k := range m {
		b.WriteString(k + " ")
	}
	return b.String()
}
