package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/store"
	"github.com/ferrygw/ferry/internal/usage"
)

// usageCmd prints a usage report of a running gateway (GET /admin/usage).
func usageCmd(stdout io.Writer, env func(string) (string, bool)) *cobra.Command {
	var (
		admin, token, from, to, groupBy, format, currency string
		since, watch, timeout                             time.Duration
	)
	c := &cobra.Command{
		Use:   "usage",
		Short: "Requests, tokens and cost from the usage ledger, grouped (GET /admin/usage)",
		Example: `  ferry usage --group-by team,day --since 168h
  ferry usage --group-by key,model --from 2026-12-01 --to 2026-12-07 --format csv
  ferry usage --group-by session --watch 5s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if token == "" {
				token, _ = env(adminTokenEnv)
			}
			for {
				q := url.Values{"format": {format}}
				q.Set("from", from)
				if from == "" {
					q.Set("from", time.Now().Add(-since).Format(time.RFC3339))
				}
				for k, v := range map[string]string{"to": to, "group_by": groupBy, "currency": currency} {
					if v != "" {
						q.Set(k, v)
					}
				}
				ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
				body, err := fetchAdmin(ctx, admin, token, "/admin/usage", "a Ferry admin listener with a store", q)
				cancel()
				if err != nil {
					return err
				}
				var out bytes.Buffer
				if watch > 0 {
					out.WriteString("\033[H\033[2J") // clear the terminal, as watch(1) does
					fmt.Fprintf(&out, "ferry usage, every %s, at %s\n\n", watch, time.Now().Format(time.TimeOnly))
				}
				out.Write(body)
				if _, err := stdout.Write(out.Bytes()); err != nil || watch <= 0 {
					return err
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(watch):
				}
			}
		},
	}
	f := c.Flags()
	f.StringVar(&admin, "admin", "http://"+config.DefaultAdminListen, "the gateway's admin listener (URL or host:port)")
	f.StringVar(&token, "token", "", "admin bearer token (default $"+adminTokenEnv+")")
	f.StringVar(&from, "from", "", "start, RFC 3339 or YYYY-MM-DD in usage.time_zone (default: now minus --since)")
	f.StringVar(&to, "to", "", "end (exclusive), RFC 3339 or YYYY-MM-DD (default: now)")
	f.DurationVar(&since, "since", 24*time.Hour, "without --from, how far back")
	f.StringVar(&groupBy, "group-by", "", "comma-separated: "+fmt.Sprint(usage.Dimensions()))
	f.StringVar(&format, "format", "table", "table, json or csv")
	f.StringVar(&currency, "currency", "", "convert every cost to CNY or USD at usage.usd_to_cny (default: a total per currency)")
	f.DurationVar(&watch, "watch", 0, "refresh every this long (e.g. 5s) until interrupted")
	f.DurationVar(&timeout, "timeout", 10*time.Second, "give up on the admin API after this long")
	return c
}

// openStore opens the configured store (data_dir, or store for
// PostgreSQL) and brings the usage tables up to date, for `ferry serve`.
func openStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	st, err := store.Open(ctx, store.Options{URL: cfg.Store.Reveal(), DataDir: cfg.DataDir})
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx, usage.Schema); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}
