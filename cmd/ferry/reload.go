package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferrygw/ferry/internal/app"
)

// reloadOnHangup reloads the config file on every SIGHUP until ctx ends or
// the returned stop is called. A refused reload is logged by the app and
// the old config stays.
func reloadOnHangup(ctx context.Context, a *app.App) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				a.ReloadFile() // logged either way
			}
		}
	}()
	return func() { signal.Stop(hup); cancel(); <-done }
}
