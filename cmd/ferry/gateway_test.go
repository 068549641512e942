package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/ferrygw/ferry/internal/app"
	"github.com/ferrygw/ferry/internal/config"
)

// runGateway builds an app from cfg (logging nowhere unless o says), binds
// it and runs it until the test ends.
func runGateway(t *testing.T, cfg *config.Config, o app.Options) *app.App {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	a, err := app.New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })
	return a
}
