package app

import (
	"log/slog"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider/openaicompat"
)

// warmTokenizer loads the count_tokens tokenizer in the background when
// an OpenAI-format provider will need it, so that the first count_tokens
// request (Claude Code sends one at start) does not wait the few hundred
// milliseconds its loading takes. The returned func waits for the load:
// Run calls it before returning, so no goroutine outlives it.
func (a *App) warmTokenizer() (wait func()) {
	need := false
	for _, p := range a.cfg.Providers {
		need = need || p.Type == config.TypeOpenAI
	}
	if !need {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		if err := openaicompat.WarmTokenizer(); err != nil {
			a.log.Warn("count_tokens tokenizer failed to load", slog.Any("error", err))
			return
		}
		a.log.Debug("count_tokens tokenizer loaded", slog.Duration("took", time.Since(start)))
	}()
	return func() { <-done }
}
