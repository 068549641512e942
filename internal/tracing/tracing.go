// Package tracing is Ferry's OpenTelemetry wiring: spans exported over
// OTLP/HTTP when tracing.otlp_endpoint is set, W3C trace context read from
// clients and written to upstreams. A nil *Tracer is tracing off: every
// method is then a nil check and nothing more.
package tracing

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Options configure a Tracer.
type Options struct {
	Endpoint string  // OTLP/HTTP base URL (http://host:4318); spans go to its /v1/traces unless it names a path
	Sample   float64 // share of new traces kept, 0 to 1; a client's sampled traceparent is followed
	Service  string  // service.name, default "ferry"
	Version  string  // service.version
	// OnError hears of spans that could not be exported (a collector
	// down); nil drops them silently. Without it the OpenTelemetry SDK
	// would print every failed batch to the process's standard logger.
	OnError func(error)
}

// Tracer starts spans and propagates trace context.
type Tracer struct {
	tp   *sdktrace.TracerProvider
	tr   trace.Tracer
	prop propagation.TraceContext
}

// New builds a Tracer exporting to o.Endpoint; an empty endpoint is
// tracing off: New returns nil, nil.
func New(o Options) (*Tracer, error) {
	if o.Endpoint == "" {
		return nil, nil
	}
	u, err := url.Parse(o.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("tracing: endpoint: %w", err)
	}
	if strings.Trim(u.Path, "/") == "" {
		u.Path = "/v1/traces"
	}
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(u.String()))
	if err != nil {
		return nil, fmt.Errorf("tracing: exporter: %w", err)
	}
	if o.Service == "" {
		o.Service = "ferry"
	}
	res := resource.NewSchemaless(semconv.ServiceName(o.Service), semconv.ServiceVersion(o.Version))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(quiet{exp, o.OnError}),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.Sample))),
	)
	return &Tracer{tp: tp, tr: tp.Tracer("github.com/ferrygw/ferry")}, nil
}

// quiet hands export failures to its own handler instead of the SDK's
// global one.
type quiet struct {
	sdktrace.SpanExporter
	onError func(error)
}

func (q quiet) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := q.SpanExporter.ExportSpans(ctx, spans); err != nil && q.onError != nil {
		q.onError(fmt.Errorf("tracing: export of %d spans: %w", len(spans), err))
	}
	return nil
}

// Shutdown flushes the spans not yet exported.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// ForceFlush exports the spans ended so far (tests, reload).
func (t *Tracer) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.ForceFlush(ctx)
}

// Span is a started span; its zero value (tracing off) does nothing.
type Span struct{ s trace.Span }

// End ends the span.
func (s Span) End() {
	if s.s != nil {
		s.s.End()
	}
}

// Recording reports whether attributes set now are kept: callers build
// attributes only then.
func (s Span) Recording() bool { return s.s != nil && s.s.IsRecording() }

// Set adds attributes.
func (s Span) Set(kv ...attribute.KeyValue) {
	if s.s != nil {
		s.s.SetAttributes(kv...)
	}
}

// Fail marks the span failed with err's text (the cause, for the
// operator's trace backend: never shown to a client).
func (s Span) Fail(err error) {
	if s.s != nil && err != nil {
		s.s.SetStatus(codes.Error, err.Error())
	}
}

// Inbound starts the span of a request from a client, continuing the
// client's traceparent when it sent one, and returns r with it.
func (t *Tracer) Inbound(r *http.Request, name string) (*http.Request, Span) {
	if t == nil {
		return r, Span{}
	}
	ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, s := t.tr.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer))
	return r.WithContext(ctx), Span{s}
}

// Start starts a child span of ctx's span.
func (t *Tracer) Start(ctx context.Context, name string) (context.Context, Span) {
	if t == nil {
		return ctx, Span{}
	}
	ctx, s := t.tr.Start(ctx, name)
	return ctx, Span{s}
}

// StartClient starts a span for a call to an upstream.
func (t *Tracer) StartClient(ctx context.Context, name string) (context.Context, Span) {
	if t == nil {
		return ctx, Span{}
	}
	ctx, s := t.tr.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient))
	return ctx, Span{s}
}

// Transport writes the request context's trace (traceparent, tracestate)
// on every upstream request rt sends.
func (t *Tracer) Transport(rt http.RoundTripper) http.RoundTripper {
	if t == nil {
		return rt
	}
	return &transport{rt: rt, prop: t.prop}
}

type transport struct {
	rt   http.RoundTripper
	prop propagation.TraceContext
}

func (p *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !trace.SpanContextFromContext(req.Context()).IsValid() {
		return p.rt.RoundTrip(req)
	}
	// A RoundTripper must not change the caller's request: a copy.
	r2 := req.Clone(req.Context())
	p.prop.Inject(req.Context(), propagation.HeaderCarrier(r2.Header))
	return p.rt.RoundTrip(r2)
}

// CloseIdleConnections reaches the wrapped transport's.
func (p *transport) CloseIdleConnections() {
	if c, ok := p.rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
