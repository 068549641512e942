package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrygw/ferry/internal/bench"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/usage"
)

func replayCmd(stdout, stderr io.Writer, env func(string) (string, bool)) *cobra.Command {
	var (
		o       bench.ReplayOptions
		csvPath string
		timeout time.Duration
	)
	c := &cobra.Command{
		Use:   "replay FILE",
		Short: "Replay prompts against two or more models and compare latency, cost and answers",
		Long: `Send every prompt of FILE (JSON Lines: one Anthropic Messages request body per
line, or {"prompt": "..."}) to each model of --models through a Ferry URL,
and report side by side: answers, latency p50/p95, tokens, cost (from the
shipped price list, by the model each answer names) and agreement with the
first model's answers (text similarity and tool calls, as shadow traffic
compares them). --csv writes one row per prompt and model.

Choose a vendor before moving traffic: configure a route per candidate, then
replay a sample of real prompts against them.`,
		Example: `  ferry replay prompts.jsonl --models claude-sonnet-4-5,glm-4.6,deepseek-chat
  ferry replay prompts.jsonl --url http://127.0.0.1:8080 --models claude-sonnet-4-5,qwen-plus --csv out.csv
  ferry replay prompts.jsonl --models a,b --csv - > answers.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(o.Models) < 2 {
				return errors.New("replay: --models needs two or more models")
			}
			if o.Key == "" {
				o.Key, _ = env(benchKeyEnv)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("replay: %w", err)
			}
			prompts, err := bench.ReadPrompts(f)
			f.Close()
			if err != nil {
				return fmt.Errorf("replay: %s: %w", args[0], err)
			}
			o.Prices = usage.NewTable(usage.DefaultPrices(), nil)
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			reps, answers, err := bench.Replay(ctx, o, prompts)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "%d prompts × %d models\n", len(prompts), len(o.Models))
			if csvPath == "-" {
				return bench.WriteReplayCSV(stdout, answers)
			}
			bench.PrintReplay(stdout, reps)
			if csvPath == "" {
				return nil
			}
			return writeFileWith(csvPath, func(w io.Writer) error { return bench.WriteReplayCSV(w, answers) })
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.URL, "url", "http://"+config.DefaultListen, "Ferry's base URL")
	fl.StringSliceVar(&o.Models, "models", nil, "the models (routes) to compare, comma-separated; the first is the baseline")
	fl.StringVar(&o.Key, "key", "", "API key, sent as x-api-key (default $"+benchKeyEnv+")")
	fl.IntVar(&o.Concurrency, "concurrency", 4, "prompts in flight")
	fl.Float64Var(&o.Threshold, "threshold", 0, "text similarity at which two answers agree (default shadow's, 0.8)")
	fl.StringVar(&csvPath, "csv", "", `also write a CSV row per prompt and model to this file ("-": only the CSV, on stdout)`)
	fl.DurationVar(&timeout, "timeout", 0, "give up after this long (0: no limit)")
	return c
}

// writeFileWith creates path and writes it with fn.
func writeFileWith(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("replay: %s: %w", path, err)
	}
	return f.Close()
}
