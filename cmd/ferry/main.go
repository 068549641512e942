// Command ferry is an Anthropic-compatible LLM gateway.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ferrygw/ferry/internal/app"
	"github.com/ferrygw/ferry/internal/config"
)

func main() {
	if err := newRoot(os.Stdout, os.Stderr, os.LookupEnv).Execute(); err != nil {
		var pe config.Problems
		if !errors.As(err, &pe) {
			fmt.Fprintln(os.Stderr, "ferry:", err)
		}
		os.Exit(1)
	}
}

func newRoot(stdout, stderr io.Writer, env func(string) (string, bool)) *cobra.Command {
	root := &cobra.Command{
		Use:   "ferry",
		Short: "Ferry: an Anthropic-compatible LLM gateway",
		Example: `  ferry serve                              # simulator, or the vendor whose key is set
  ferry config validate ferry.yaml
  ferry check --config ferry.yaml         # can Ferry reach and use every upstream?
  ferry serve --config ferry.yaml`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(serveCmd(stderr, env), configCmd(stdout, stderr, env), versionCmd(stdout), shadowCmd(stdout, env), keysCmd(stdout, env), usageCmd(stdout, env), checkCmd(stdout, stderr, env), benchCmd(stdout, stderr, env), replayCmd(stdout, stderr, env))
	return root
}

func serveCmd(stderr io.Writer, env func(string) (string, bool)) *cobra.Command {
	var path, listen string
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway (embedded defaults when no --config is given)",
		Example: `  # embedded defaults: the simulator, or the vendor whose key is in the environment
  ferry serve
  ANTHROPIC_API_KEY=sk-ant-... ferry serve --listen 127.0.0.1:9000
  ferry serve --config /etc/ferry/ferry.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var (
				cfg    *config.Config
				notice string
				err    error
			)
			if path == "" {
				cfg, notice = config.Defaults(env)
			} else if cfg, err = config.Load(path, env); err != nil {
				printProblems(stderr, err)
				return err
			}
			if listen != "" {
				cfg.Listen = listen
			}
			if err := cfg.Validate(); err != nil { // before the store is opened (or its directory made)
				printProblems(stderr, err)
				return err
			}
			st, err := openStore(cmd.Context(), cfg)
			if err != nil {
				fmt.Fprintln(stderr, "ferry: store:", err)
				return err
			}
			defer st.Close()
			log, logBuf := app.NewBufferedLogger(cfg.Log, stderr)
			defer logBuf.Close() // after Run: the shutdown's lines are written
			a, err := app.New(cfg, app.Options{Logger: log, Notice: notice, Store: st, ConfigPath: path, Env: env})
			if err != nil {
				printProblems(stderr, err)
				return err
			}
			tuneServeGC() // gc.go
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			defer reloadOnHangup(ctx, a)()
			return a.Run(ctx)
		},
	}
	c.Flags().StringVarP(&path, "config", "c", "", "config file (YAML); without it, embedded defaults")
	c.Flags().StringVar(&listen, "listen", "", "override the listen address (host:port)")
	return c
}

func configCmd(stdout, stderr io.Writer, env func(string) (string, bool)) *cobra.Command {
	c := &cobra.Command{
		Use:     "config",
		Short:   "Work with config files",
		Example: "  ferry config validate ferry.yaml",
	}
	c.AddCommand(&cobra.Command{
		Use:   "validate FILE",
		Short: "Check a config file and print every problem with its location",
		Example: `  ferry config validate ferry.yaml
  # ferry.yaml:8: providers[0].api_key is empty: ${ANTHROPIC_API_KEY} is not set`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := config.Load(args[0], env); err != nil {
				printProblems(stderr, err)
				return err
			}
			fmt.Fprintf(stdout, "%s: ok\n", args[0])
			return nil
		},
	})
	return c
}

// printProblems prints config problems one per line; main then skips its
// own generic line for them.
func printProblems(w io.Writer, err error) {
	var pe config.Problems
	if errors.As(err, &pe) {
		for _, p := range pe {
			fmt.Fprintln(w, p.Error())
		}
	}
}
