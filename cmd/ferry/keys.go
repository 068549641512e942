package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrygw/ferry/internal/config"
)

// keysCmd manages gateway keys through a running gateway's admin API, so
// that every instance sharing its store sees the change and the audit log
// records it.
func keysCmd(stdout io.Writer, env func(string) (string, bool)) *cobra.Command {
	k := &keysCLI{out: stdout}
	c := &cobra.Command{Use: "keys", Short: "Manage gateway keys (through the admin API: /admin/keys)", Example: `  ferry keys list
  ferry keys create alice --team search --model 'claude-*'
  ferry keys rotate alice --grace 1h`}
	pf := c.PersistentFlags()
	pf.StringVar(&k.cl.admin, "admin", "http://"+config.DefaultAdminListen, "the gateway's admin listener (URL or host:port)")
	pf.StringVar(&k.cl.token, "token", "", "admin token or admin key (default $"+adminTokenEnv+", then $"+config.EnvAdminKey+")")
	pf.DurationVar(&k.cl.timeout, "timeout", 10*time.Second, "give up on the admin API after this long")
	pf.BoolVar(&k.cl.json, "json", false, "print the admin API's JSON")
	c.PersistentPreRun = func(*cobra.Command, []string) {
		for _, name := range []string{adminTokenEnv, config.EnvAdminKey} {
			if k.cl.token == "" {
				k.cl.token, _ = env(name)
			}
		}
	}
	create := &cobra.Command{Use: "create NAME", Short: "Create a key; it is printed once, store it", Args: cobra.ExactArgs(1), RunE: k.create,
		Example: "  ferry keys create ci --role user --team platform --tag batch\n  ferry keys create ops --role viewer --admin 10.0.0.5:8081\n" +
			"  ferry keys create billing-svc --signing   # also a signing secret (needs hmac.master_secret)"}
	k.createSpec.add(create)
	update := &cobra.Command{Use: "update ID|NAME", Short: "Change a key's fields (only the flags given)", Args: cobra.ExactArgs(1), RunE: k.update,
		Example: "  ferry keys update alice --team research\n  ferry keys update alice --name alice-laptop"}
	k.updateSpec.add(update)
	update.Flags().StringVar(&k.updateSpec.rename, "name", "", "a new name")
	rotate := &cobra.Command{Use: "rotate ID|NAME", Short: "Give a key a new secret (and signing secret), printed once; the old ones work for --grace", Args: cobra.ExactArgs(1), RunE: k.rotate,
		Example: "  ferry keys rotate alice\n  ferry keys rotate alice --grace 0s   # the old secret stops at once\n" +
			"  ferry keys rotate alice --signing    # and give it a first signing secret"}
	rotate.Flags().DurationVar(&k.grace, "grace", 24*time.Hour, "how long the old secret keeps working (0s: not at all)")
	rotate.Flags().BoolVar(&k.signing, "signing", false, "give a key without one a signing secret (a key that signs always gets a new one)")
	c.AddCommand(create, update, rotate,
		&cobra.Command{Use: "list", Short: "List every key", Args: cobra.NoArgs, RunE: k.list,
			Example: "  ferry keys list\n  ferry keys list --json"},
		&cobra.Command{Use: "show ID|NAME", Short: "Show one key", Args: cobra.ExactArgs(1), RunE: k.show,
			Example: "  ferry keys show alice --json"},
		&cobra.Command{Use: "revoke ID|NAME", Short: "Revoke a key for good, on every instance within keys_refresh", Args: cobra.ExactArgs(1), RunE: k.revoke,
			Example: "  ferry keys revoke alice"},
	)
	return c
}

// keysCLI is what the subcommands of ferry keys share: the admin API
// client (the persistent flags) and each subcommand's own flags. Its
// methods are the subcommands' RunE; an ID|NAME argument is args[0].
type keysCLI struct {
	cl                     adminClient
	out                    io.Writer
	createSpec, updateSpec keySpecFlags  // create, update
	grace                  time.Duration // rotate
	signing                bool          // rotate
}

func (k *keysCLI) create(cmd *cobra.Command, args []string) error {
	return k.createSpec.send(cmd, &k.cl, k.out, http.MethodPost, "/admin/keys", args[0])
}

func (k *keysCLI) update(cmd *cobra.Command, args []string) error {
	return k.updateSpec.send(cmd, &k.cl, k.out, http.MethodPatch, keyPath(args[0], ""), "")
}

func (k *keysCLI) rotate(cmd *cobra.Command, args []string) error {
	body := map[string]any{"grace": k.grace.String(), "signing": k.signing}
	return k.cl.print(cmd.Context(), k.out, http.MethodPost, keyPath(args[0], "/rotate"), body)
}

func (k *keysCLI) list(cmd *cobra.Command, _ []string) error {
	return k.cl.print(cmd.Context(), k.out, http.MethodGet, "/admin/keys", nil)
}

func (k *keysCLI) show(cmd *cobra.Command, args []string) error {
	return k.cl.print(cmd.Context(), k.out, http.MethodGet, keyPath(args[0], ""), nil)
}

func (k *keysCLI) revoke(cmd *cobra.Command, args []string) error {
	return k.cl.print(cmd.Context(), k.out, http.MethodPost, keyPath(args[0], "/revoke"), nil)
}

// keyPath is the admin API path of one key, by ID or name, and an action
// on it ("" for the key itself, "/rotate", "/revoke").
func keyPath(key, action string) string {
	return "/admin/keys/" + url.PathEscape(key) + action
}

// keySpecFlags are the flags of create and update.
type keySpecFlags struct {
	rename, role, team, tag, expires string
	models, routes, meta, budgets    []string
	rpm, tpm, concurrency            int
	disabled, signing                bool
}

func (s *keySpecFlags) add(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&s.role, "role", "", "admin, user (model APIs; the default) or viewer (usage and status)")
	f.StringVar(&s.team, "team", "", "team, for usage and budgets")
	f.StringVar(&s.tag, "tag", "", "traffic tag, for usage and budgets")
	f.StringSliceVar(&s.models, "model", nil, `allowed model ("claude-*" for a prefix); repeat; none allows all`)
	f.StringSliceVar(&s.routes, "route", nil, "allowed API route (messages, count_tokens, chat_completions, complete, models); repeat; none allows all")
	f.IntVar(&s.rpm, "rpm", 0, "the key's own requests per minute")
	f.IntVar(&s.tpm, "tpm", 0, "the key's own tokens per minute")
	f.IntVar(&s.concurrency, "concurrency", 0, "the key's own concurrent requests")
	f.StringSliceVar(&s.budgets, "budget", nil, "PERIOD:AMOUNT:CURRENCY, e.g. daily:10:CNY or monthly:250.50:USD; repeat")
	f.StringVar(&s.expires, "expires", "", `expiry: an RFC 3339 time, or a duration from now ("720h"); "" with update clears it`)
	f.StringSliceVar(&s.meta, "meta", nil, "metadata KEY=VALUE; repeat")
	f.BoolVar(&s.disabled, "disabled", false, "disabled (update: --disabled=false enables)")
	f.BoolVar(&s.signing, "signing", false, "create: also a signing secret for signed requests (needs hmac.master_secret); update: --signing=false ends signing")
}

// send sends the flags' body (named name; "" leaves the name alone) to the
// admin API and prints the answer.
func (s *keySpecFlags) send(cmd *cobra.Command, cl *adminClient, w io.Writer, method, path, name string) error {
	body, err := s.body(cmd, name)
	if err != nil {
		return err
	}
	return cl.print(cmd.Context(), w, method, path, body)
}

// body is the JSON of the flags the user gave (and the name on create).
func (s *keySpecFlags) body(cmd *cobra.Command, name string) (map[string]any, error) {
	b := map[string]any{}
	set := cmd.Flags().Changed
	if name != "" {
		b["name"] = name
	}
	if set("name") {
		b["name"] = s.rename
	}
	for _, f := range []struct {
		flag, field string
		v           any
	}{{"role", "role", s.role}, {"team", "team", s.team}, {"tag", "tag", s.tag}, {"model", "models", s.models}, {"route", "routes", s.routes}} {
		if set(f.flag) {
			b[f.field] = f.v
		}
	}
	if set("rpm") || set("tpm") || set("concurrency") {
		b["limits"] = map[string]int{"requests_per_minute": s.rpm, "tokens_per_minute": s.tpm, "concurrency": s.concurrency}
	}
	if set("budget") {
		var list []map[string]any
		for _, v := range s.budgets {
			bu, err := parseBudget(v)
			if err != nil {
				return nil, err
			}
			list = append(list, bu)
		}
		b["budgets"] = list
	}
	if set("expires") {
		exp, err := parseExpiry(s.expires, time.Now())
		if err != nil {
			return nil, err
		}
		b["expires_at"] = exp
	}
	if set("meta") {
		m := map[string]string{}
		for _, kv := range s.meta {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("--meta %q: want KEY=VALUE", kv)
			}
			m[k] = v
		}
		b["metadata"] = m
	}
	if set("disabled") {
		b["enabled"] = !s.disabled
	}
	if set("signing") {
		b["signing"] = s.signing
	}
	return b, nil
}

// parseBudget reads PERIOD:AMOUNT:CURRENCY; the amount becomes integer
// micro-units without passing through a float.
func parseBudget(s string) (map[string]any, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("--budget %q: want PERIOD:AMOUNT:CURRENCY (daily:10:CNY)", s)
	}
	micros, err := parseMicros(parts[1])
	if err != nil {
		return nil, fmt.Errorf("--budget %q: %w", s, err)
	}
	return map[string]any{"period": parts[0], "limit_micros": micros, "currency": strings.ToUpper(parts[2])}, nil
}

func parseMicros(s string) (int64, error) {
	if strings.ContainsAny(s, "+-") {
		return 0, fmt.Errorf("amount %q is not a positive number", s)
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 6 {
		return 0, errors.New("amount has more than 6 decimals")
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 || w > 1<<40 {
		return 0, fmt.Errorf("amount %q is not a positive number", s)
	}
	var f int64
	if frac != "" {
		if f, err = strconv.ParseInt((frac + "000000")[:6], 10, 64); err != nil || f < 0 {
			return 0, fmt.Errorf("amount %q is not a positive number", s)
		}
	}
	return w*1_000_000 + f, nil
}

func parseExpiry(s string, now time.Time) (string, error) {
	if s == "" {
		return "", nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d).UTC().Format(time.RFC3339), nil
	}
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		return "", fmt.Errorf("--expires %q: want an RFC 3339 time or a duration such as 720h", s)
	}
	return s, nil
}

// do calls the admin API and returns the answer's body, or an error
// carrying the API's message.
func (c *adminClient) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	status, raw, err := c.call(ctx, method, path, nil, body)
	if err != nil || status/100 == 2 {
		return raw, err
	}
	var e struct {
		Error struct{ Type, Message string }
	}
	if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
		hint := ""
		if status == http.StatusUnauthorized {
			hint = fmt.Sprintf(" (give an admin token or key with --token, $%s or $%s)", adminTokenEnv, config.EnvAdminKey)
		}
		return nil, fmt.Errorf("admin API: %d %s: %s%s", status, e.Error.Type, e.Error.Message, hint)
	}
	return nil, fmt.Errorf("admin API at %s answered %d: %s", adminBase(c.admin), status, snippet(raw))
}

// keyRow is what the table shows of a key.
type keyRow struct {
	ID, Name, Prefix, Role, Team, Tag, Status string
	Key                                       string     `json:"key"`
	SigningSecret                             string     `json:"signing_secret"`
	ExpiresAt                                 *time.Time `json:"expires_at"`
	Models, Routes                            []string
	Signing                                   bool `json:"signing"` // may sign requests (X-Ferry-Key-Id: its ID)
}

func (c *adminClient) print(ctx context.Context, w io.Writer, method, path string, body any) error {
	raw, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	if c.json {
		var out bytes.Buffer
		if json.Indent(&out, raw, "", "  ") != nil {
			out.Write(raw)
		}
		out.WriteByte('\n')
		_, err := w.Write(out.Bytes())
		return err
	}
	var rows []keyRow
	var list struct{ Keys []keyRow }
	if json.Unmarshal(raw, &list) == nil && list.Keys != nil {
		rows = list.Keys
	} else {
		var one keyRow
		if err := json.Unmarshal(raw, &one); err != nil {
			return fmt.Errorf("admin API answered something other than keys: %w", err)
		}
		rows = []keyRow{one}
	}
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tPREFIX\tROLE\tTEAM\tTAG\tSTATUS\tSIGNING\tEXPIRES\tMODELS\tROUTES")
	for _, r := range rows {
		exp := "never"
		if r.ExpiresAt != nil {
			exp = r.ExpiresAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.ID, r.Prefix, r.Role, dash(r.Team), dash(r.Tag), r.Status, yesNo(r.Signing), exp,
			dash(strings.Join(r.Models, ",")), dash(strings.Join(r.Routes, ",")))
	}
	tw.Flush()
	if len(rows) == 1 && rows[0].Key != "" {
		fmt.Fprintf(&b, "\nKey (shown once; only its hash is kept): %s\n", rows[0].Key)
	}
	if len(rows) == 1 && rows[0].SigningSecret != "" {
		fmt.Fprintf(&b, "Signing secret for X-Ferry-Key-Id %s (shown once; never stored): %s\n", rows[0].ID, rows[0].SigningSecret)
	}
	_, err = w.Write(b.Bytes())
	return err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
