package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A nil Tracer is tracing off: no spans, requests and transports as they were.
func TestOff(t *testing.T) {
	tr, err := New(Options{})
	if err != nil || tr != nil {
		t.Fatalf("New without endpoint = %v, %v; want nil, nil", tr, err)
	}
	r := httptest.NewRequest(http.MethodPost, "/v1/messages", nil)
	r2, sp := tr.Inbound(r, "x")
	if r2 != r || sp.Recording() {
		t.Error("Inbound changed the request or recorded with tracing off")
	}
	ctx := context.Background()
	if c, sp := tr.Start(ctx, "x"); c != ctx || sp.Recording() {
		t.Error("Start changed the context or recorded with tracing off")
	}
	sp.Set()
	sp.Fail(context.Canceled)
	sp.End()
	rt := http.DefaultTransport
	if tr.Transport(rt) != rt {
		t.Error("Transport wrapped with tracing off")
	}
	if err := tr.Shutdown(ctx); err != nil {
		t.Error(err)
	}
}

// BenchmarkOff is what tracing costs a request when off: the spans of the
// request, limiter, cache, translation and one attempt.
func BenchmarkOff(b *testing.B) {
	var tr *Tracer
	r := httptest.NewRequest(http.MethodPost, "/v1/messages", nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, sp := tr.Inbound(r, "ferry.request")
		for range 4 {
			_, c := tr.Start(ctx, "child")
			c.End()
		}
		sp.End()
	}
}

// BenchmarkOn is the same with tracing on, sampling every request, for
// comparison (the exporter points at a closed port: batches fail, quietly).
func BenchmarkOn(b *testing.B) {
	tr, err := New(Options{Endpoint: "http://127.0.0.1:9", Sample: 1, OnError: func(error) {}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		tr.Shutdown(ctx)
	})
	r := httptest.NewRequest(http.MethodPost, "/v1/messages", nil)
	b.ReportAllocs()
	for b.Loop() {
		r2, sp := tr.Inbound(r, "ferry.request")
		for range 4 {
			_, c := tr.Start(r2.Context(), "child")
			c.End()
		}
		sp.End()
	}
}

// TestExportFailureGoesToOnError: a collector that is down is reported to
// OnError, not printed by the SDK.
func TestExportFailureGoesToOnError(t *testing.T) {
	got := make(chan error, 16)
	tr, err := New(Options{Endpoint: "http://127.0.0.1:9", Sample: 1, OnError: func(err error) { got <- err }})
	if err != nil {
		t.Fatal(err)
	}
	_, sp := tr.Start(context.Background(), "x")
	sp.End()
	if err := tr.ForceFlush(context.Background()); err != nil {
		t.Fatalf("ForceFlush = %v: the failure should go to OnError", err)
	}
	select {
	case err := <-got:
		if err == nil {
			t.Fatal("nil error")
		}
	default:
		t.Fatal("OnError not called")
	}
	tr.Shutdown(context.Background())
}
