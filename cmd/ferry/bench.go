package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrygw/ferry/internal/app"
	"github.com/ferrygw/ferry/internal/bench"
	"github.com/ferrygw/ferry/internal/config"
)

// benchKeyEnv holds the API key ferry bench sends when --key is not given.
const benchKeyEnv = "FERRY_BENCH_KEY"

func benchCmd(stdout, stderr io.Writer, env func(string) (string, bool)) *cobra.Command {
	var (
		o                bench.Options
		simulate, asJSON bool
		progress         bool
	)
	c := &cobra.Command{
		Use:   "bench [URL]",
		Short: "Load-test Ferry or any Anthropic/OpenAI-compatible URL",
		Long: `Send requests at a fixed rate (--rate) or a fixed concurrency (--concurrency)
and report requests/s, p50/p95/p99 latency, time to first token and the gaps
between stream events, and the errors by kind. A live progress line goes to
stderr when it is a terminal (or with --progress).

With --simulate, no URL: Ferry starts a loopback upstream and a gateway in
front of it in this process, sends the same load straight to the upstream
and then through the gateway, and prints Ferry's added latency and CPU and
their ratios.`,
		Example: `  ferry bench http://127.0.0.1:8080 --model claude-sonnet-4-5 --concurrency 32 --duration 30s
  ferry bench http://127.0.0.1:8080 --format openai --stream --rate 200 --requests 5000
  FERRY_BENCH_KEY=sk-... ferry bench https://gw.example.com --json
  ferry bench --simulate --stream --concurrency 16 --duration 10s`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Key == "" {
				o.Key, _ = env(benchKeyEnv)
			}
			if progress || isTerminal(stderr) {
				o.Progress = stderr
			}
			ctx := cmd.Context()
			if simulate {
				if len(args) > 0 {
					return errors.New("bench: --simulate takes no URL")
				}
				c, err := benchSimulate(ctx, o)
				if err != nil {
					return err
				}
				return printBench(stdout, asJSON, c, c.Print)
			}
			if len(args) == 0 {
				return errors.New("bench: give a URL, or --simulate")
			}
			o.URL = args[0]
			r, err := bench.Run(ctx, o)
			if err != nil {
				return err
			}
			if err := printBench(stdout, asJSON, r, r.Print); err != nil {
				return err
			}
			if r.Succeeded == 0 {
				return errors.New("bench: no request succeeded")
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.Format, "format", bench.FormatAnthropic, "request bodies: anthropic (/v1/messages) or openai (/v1/chat/completions)")
	f.StringVar(&o.Model, "model", "claude-sonnet-4-5", "the model asked for")
	f.StringVar(&o.Key, "key", "", "API key, sent as x-api-key and bearer (default $"+benchKeyEnv+")")
	f.BoolVar(&o.Stream, "stream", false, "ask for event streams (measures time to first token and chunk gaps)")
	f.StringVar(&o.Prompt, "prompt", "", "the user message (default a short question)")
	f.IntVar(&o.MaxTokens, "max-tokens", 256, "max_tokens of every request")
	f.Float64Var(&o.Rate, "rate", 0, "requests per second (open loop); 0: use --concurrency")
	f.IntVar(&o.Concurrency, "concurrency", 8, "requests in flight (closed loop), when --rate is 0")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to send (0: until --requests)")
	f.IntVar(&o.Requests, "requests", 0, "stop after this many requests (0: until --duration)")
	f.BoolVar(&simulate, "simulate", false, "measure Ferry's overhead against a loopback upstream, in this process")
	f.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	f.BoolVar(&progress, "progress", false, "print the progress line even when stderr is not a terminal")
	return c
}

func printBench(w io.Writer, asJSON bool, v any, table func(io.Writer)) error {
	if !asJSON {
		table(w)
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// benchSimulate starts the loopback upstream and a gateway in front of it,
// and compares the load sent to each.
func benchSimulate(ctx context.Context, o bench.Options) (*bench.Comparison, error) {
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: upstream listener: %w", err)
	}
	up := &http.Server{Handler: bench.Upstream(), ReadHeaderTimeout: 10 * time.Second}
	go up.Serve(upLn)
	defer up.Close()
	upURL := "http://" + upLn.Addr().String()
	// The upstream speaks the client's format: Ferry forwards, as with a
	// same-format vendor.
	pc := config.Provider{Name: "sim-upstream", Type: config.TypeAnthropic, BaseURLs: []string{upURL}, APIKey: "bench-upstream-key"}
	if o.Format == bench.FormatOpenAI {
		pc.Type, pc.Profile, pc.BaseURLs = config.TypeOpenAI, "generic", []string{upURL + "/v1"}
	}
	cfg := &config.Config{
		Listen:    "127.0.0.1:0",
		Admin:     config.Admin{Listen: "off"},
		Providers: []config.Provider{pc},
		Routes:    []config.Route{{Match: "*", Targets: []config.Target{{Provider: "sim-upstream"}}}},
	}
	cfg.ApplyDefaults()
	cfg.Log.Level = "error"
	a, err := app.New(cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("bench: gateway: %w", err)
	}
	defer a.Close()
	if err := a.Listen(); err != nil {
		return nil, fmt.Errorf("bench: gateway listener: %w", err)
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- a.Run(rctx) }()
	defer func() { stop(); <-done }()
	return bench.Compare(ctx, o, upURL, "http://"+a.Addr())
}
