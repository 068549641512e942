package app

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/tracing"
)

// tracerFlush bounds the export of the last spans at shutdown.
const tracerFlush = 5 * time.Second

// newTracer builds the OTLP tracer, or nil when tracing is off.
func newTracer(c config.Tracing, log *slog.Logger) (*tracing.Tracer, error) {
	if !c.Enabled() {
		return nil, nil
	}
	sample := 1.0
	if c.Sample != nil {
		sample = *c.Sample
	}
	var last atomic.Int64 // unix seconds of the last warning
	onError := func(err error) {
		// A collector down fails every batch: one warning a minute.
		now := time.Now().Unix()
		if prev := last.Load(); now-prev >= 60 && last.CompareAndSwap(prev, now) {
			log.Warn("tracing: spans not exported", slog.Any("error", err))
		}
	}
	return tracing.New(tracing.Options{Endpoint: c.OTLPEndpoint, Sample: sample, OnError: onError})
}

// tracedTransport is the provider's transport writing traceparent on
// upstream requests when tracing is on; rt (tests) or nil (the provider
// builds its own) otherwise.
func (a *App) tracedTransport(pc config.Provider, rt http.RoundTripper) http.RoundTripper {
	if a.tracer == nil || pc.Type == config.TypeSimulator {
		return rt
	}
	if rt == nil {
		rt = provider.NewTransport(pc.Timeouts)
	}
	return a.tracer.Transport(rt)
}

// closeTracer exports the spans still queued.
func (a *App) closeTracer() {
	ctx, cancel := context.WithTimeout(context.Background(), tracerFlush)
	defer cancel()
	if err := a.tracer.Shutdown(ctx); err != nil {
		a.log.Warn("tracing: spans not exported", slog.Any("error", err))
	}
}
