package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrygw/ferry/internal/check"
	"github.com/ferrygw/ferry/internal/config"
)

// errCheckFailed makes the exit status non-zero after the table says why.
var errCheckFailed = errors.New("some checks failed")

func checkCmd(stdout, stderr io.Writer, env func(string) (string, bool)) *cobra.Command {
	var (
		path    string
		asJSON  bool
		timeout time.Duration
	)
	c := &cobra.Command{
		Use:   "check",
		Short: "Check every upstream: DNS, TCP, TLS, authentication and a one-token request per route",
		Long: `Check connects to every node of every configured provider (DNS, TCP,
TLS handshake) and sends one request for at most one token per route target.
It prints a table of timings and verdicts and, for each failure, the likely
cause: wrong key prefix, wrong auth header, wrong base path, model not found,
region blocked, proxy needed. It talks only to the configured upstreams,
through HTTPS_PROXY when set. The exit status is 1 when anything failed.`,
		Example: `  ferry check --config ferry.yaml
  ferry check                      # the embedded defaults: the vendors whose keys are set
  ferry check -c ferry.yaml --json | jq '.[] | select(.ok == false)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg *config.Config
			if path == "" {
				cfg, _ = config.Defaults(env)
			} else {
				var err error
				if cfg, err = config.Load(path, env); err != nil {
					printProblems(stderr, err)
					return err
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			rs := check.Run(ctx, cfg, check.Options{Timeout: timeout})
			if err := writeCheck(stdout, rs, asJSON); err != nil {
				return err
			}
			if check.Failed(rs) {
				return errCheckFailed
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&path, "config", "c", "", "config file (YAML); without it, embedded defaults")
	f.BoolVar(&asJSON, "json", false, "print the results as a JSON array")
	f.DurationVar(&timeout, "timeout", 10*time.Second, "limit on each step")
	return c
}

func writeCheck(w io.Writer, rs []check.Result, asJSON bool) error {
	if !asJSON && len(rs) == 0 {
		_, err := fmt.Fprintln(w, "nothing to check: no upstream but the built-in simulator is configured")
		return err
	}
	if !asJSON {
		return check.WriteTable(w, rs)
	}
	if rs == nil {
		rs = []check.Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rs); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}
