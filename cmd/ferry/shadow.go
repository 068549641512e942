package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/shadow"
)

// adminTokenEnv holds the admin token when --token is not given, so that it
// stays out of shell history and process listings.
const adminTokenEnv = "FERRY_ADMIN_TOKEN"

func shadowCmd(stdout io.Writer, env func(string) (string, bool)) *cobra.Command {
	c := &cobra.Command{
		Use:   "shadow",
		Short: "Shadow traffic: how a candidate target compares on live requests",
		Example: `  ferry shadow report
  ferry shadow report --admin 10.0.0.5:8081 --route 'claude-*' --json`,
	}
	c.AddCommand(shadowReportCmd(stdout, env))
	return c
}

func shadowReportCmd(stdout io.Writer, env func(string) (string, bool)) *cobra.Command {
	var (
		admin, token, route string
		asJSON              bool
		recent              int
		timeout             time.Duration
	)
	c := &cobra.Command{
		Use:   "report",
		Short: "Summarise the shadow comparisons of a running gateway (GET /admin/shadow)",
		Example: `  # the table for every route, from the local admin listener
  ferry shadow report
  # one route, with the 50 most recent pairs, as JSON
  FERRY_ADMIN_TOKEN=... ferry shadow report --route 'claude-*' --json --recent 50`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if token == "" {
				token, _ = env(adminTokenEnv)
			}
			q := url.Values{}
			if route != "" {
				q.Set("route", route)
			}
			if cmd.Flags().Changed("recent") {
				q.Set("recent", strconv.Itoa(recent))
			} else if !asJSON {
				q.Set("recent", "0") // the table does not show pairs
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			raw, err := fetchShadow(ctx, admin, token, q)
			if err != nil {
				return err
			}
			if asJSON {
				var out bytes.Buffer
				json.Indent(&out, raw, "", "  ") // raw was decoded already: valid
				out.WriteByte('\n')
				_, err := stdout.Write(out.Bytes())
				return err
			}
			var s shadow.Summary
			json.Unmarshal(raw, &s)
			return printShadowReport(stdout, &s)
		},
	}
	f := c.Flags()
	f.StringVar(&admin, "admin", "http://"+config.DefaultAdminListen, "the gateway's admin listener (URL or host:port)")
	f.StringVar(&token, "token", "", "admin bearer token (default $"+adminTokenEnv+")")
	f.BoolVar(&asJSON, "json", false, "print the admin API's JSON instead of a table")
	f.StringVar(&route, "route", "", "only this route (its match pattern)")
	f.IntVar(&recent, "recent", 0, "with --json, how many recent pairs to include (the API's default: 20)")
	f.DurationVar(&timeout, "timeout", 10*time.Second, "give up on the admin API after this long")
	return c
}

// fetchShadow gets the summary's JSON and checks that it is one.
func fetchShadow(ctx context.Context, admin, token string, q url.Values) ([]byte, error) {
	body, err := fetchAdmin(ctx, admin, token, "/admin/shadow", "a Ferry admin listener with shadow traffic", q)
	if err != nil {
		return nil, err
	}
	var s shadow.Summary
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("admin API at %s answered something other than a shadow summary: %w", adminBase(admin), err)
	}
	return body, nil
}

// printShadowReport prints one line per route and shadow target.
func printShadowReport(w io.Writer, s *shadow.Summary) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Shadow traffic: %d comparisons kept (at most %d), queue %d/%d, agreement threshold %s.\n\n",
		s.Kept, s.Keep, s.Queue.Length, s.Queue.Capacity, strconv.FormatFloat(s.Threshold, 'f', -1, 64))
	if len(s.Targets) == 0 {
		b.WriteString("No shadow traffic yet: no route mirrors requests, or none has been sampled.\n")
		_, err := w.Write(b.Bytes())
		return err
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUTE\tSHADOW\tPAIRS\tAGREE\tSTATUS\tSIMILARITY\tTOOLS\tLATENCY p50/p95\tTOKENS in/out\tERRORS\tDROPPED")
	for _, t := range s.Targets {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n",
			t.Route, t.Shadow, t.Pairs,
			pct(t.Agreement), pct(t.StatusMatch), num(t.Similarity), pct(t.ToolAgreement),
			ratios(t.LatencyRatio), signedPct(t.InputDelta)+" / "+signedPct(t.OutputDelta),
			errorsCell(t.Errors, t.ErrorRate), t.Dropped)
	}
	tw.Flush()
	b.WriteString(`
AGREE and STATUS count answered pairs; SIMILARITY (mean, 0-1), TOOLS, LATENCY
(shadow/primary per pair) and TOKENS count pairs where both answered 2xx.
TOKENS (shadow vs primary, same requests) stands in for cost: no prices yet.
`)
	_, err := w.Write(b.Bytes())
	return err
}

func pct(f *float64) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatFloat(*f*100, 'f', 1, 64) + "%"
}

func signedPct(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", *f)
}

func num(f *float64) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatFloat(*f, 'f', 2, 64)
}

func ratios(q *shadow.Quantiles) string {
	if q == nil {
		return "-"
	}
	return fmt.Sprintf("%.2fx / %.2fx", q.P50, q.P95)
}

func errorsCell(n int, rate *float64) string {
	if rate == nil {
		return strconv.Itoa(n)
	}
	return strconv.Itoa(n) + " (" + pct(rate) + ")"
}
