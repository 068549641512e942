package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUsageValidation checks usage and alerts through Parse, with the exact
// problem text and line.
func TestUsageValidation(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{name: "defaults are valid", src: simTail},
		{
			name: "a full valid section",
			src: `usage:
  time_zone: UTC
  retention: 720h
  usd_to_cny: "7.1"
  prices:
    - {provider: relay, model: claude-sonnet-4-5, currency: CNY, input: "21", output: "105", cache_read: "2.1", taken: 2026-12-06, source: invoice}
  budgets:
    - {name: search-monthly, scope: team, match: search, currency: CNY, limit: "5000", alert_percents: [50, 80, 100]}
    - {name: per-key-daily, scope: key, period: daily, currency: USD, limit: "20", allow_overrun: true}
  rate_alerts:
    - {name: batch-calls, scope: tag, match: batch, period: daily, calls: 100000}
    - {name: burn, scope: key, spend_per_minute: "5", currency: CNY}
alerts:
  webhooks:
    - {name: ops, type: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=x", secret: SECx}
    - {name: lark, type: feishu, url: "https://open.larksuite.com/open-apis/bot/v2/hook/x", lang: en}
` + simTail,
		},
		{
			name: "every mistake",
			src: `usage:
  time_zone: Beijing
  usd_to_cny: "7,2"
  prices:
    - {model: m, currency: RMB, input: "-1", output: "0.0000001", taken: 6/12/2026}
    - {model: M, currency: USD, input: "1", output: "1"}
  budgets:
    - {name: b, scope: user, period: yearly, currency: CNY, limit: "0", alert_percents: [0]}
    - {name: b, scope: key, currency: USD}
  rate_alerts:
    - {name: r, scope: team}
alerts:
  webhooks:
    - {name: x, type: teams, url: "ftp://x", lang: fr}
    - {name: x, type: slack}
` + simTail,
			want: []string{
				`ferry.yaml:2: usage.time_zone "Beijing" is not a known time zone: use an IANA name such as Asia/Shanghai or UTC`,
				`ferry.yaml:3: usage.usd_to_cny not an amount: write a decimal number such as 10, 0.5 or 0.0028, with at most 6 decimal places`,
				`ferry.yaml:5: usage.prices[0].currency "RMB" is unknown: use CNY or USD`,
				`ferry.yaml:5: usage.prices[0].input not an amount: write a decimal number such as 10, 0.5 or 0.0028, with at most 6 decimal places`,
				`ferry.yaml:5: usage.prices[0].output not an amount: write a decimal number such as 10, 0.5 or 0.0028, with at most 6 decimal places`,
				`ferry.yaml:5: usage.prices[0].taken "6/12/2026" is not a date: write YYYY-MM-DD`,
				`ferry.yaml:6: usage.prices[1].model "M" is priced twice for this provider`,
				`ferry.yaml:8: usage.budgets[0].scope "user" is unknown: use key, team, provider, model or tag`,
				`ferry.yaml:8: usage.budgets[0].period "yearly" is unknown: use daily, weekly or monthly`,
				`ferry.yaml:8: usage.budgets[0].limit must be more than 0`,
				`ferry.yaml:8: usage.budgets[0].alert_percents[0] 0 is out of range: a percent of the budget from 1 to 1000`,
				`ferry.yaml:9: usage.budgets[1].name "b" is used twice`,
				`ferry.yaml:9: usage.budgets[1].limit is required: an amount such as 10 or 0.5`,
				`ferry.yaml:11: usage.rate_alerts[0].scope "team" is unknown: use key or tag`,
				`ferry.yaml:11: usage.rate_alerts[0]: set calls, spend_per_minute or both`,
				`ferry.yaml:14: alerts.webhooks[0].type "teams" is unknown: use dingtalk, feishu, slack or generic`,
				`ferry.yaml:14: alerts.webhooks[0].url must be an http:// or https:// URL`,
				`ferry.yaml:14: alerts.webhooks[0].lang "fr" is unknown: use zh or en`,
				`ferry.yaml:15: alerts.webhooks[1].name "x" is used twice`,
				`ferry.yaml:15: alerts.webhooks[1].url is required`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProblems(t, tt.src, envOf(nil))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUsageDefaults(t *testing.T) {
	c, err := Parse([]byte("usage:\n  budgets: [{name: b, scope: key, currency: CNY, limit: '1'}]\nalerts:\n  webhooks: [{name: w, type: slack, url: 'https://hooks.slack.com/x'}]\n"+simTail), "ferry.yaml", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	u := c.Usage
	if u.TimeZone != "Asia/Shanghai" || u.Retention.Hours() != 2160 || u.Buffer != 20000 || u.USDToCNY != "7.2" || u.Budgets[0].Period != "monthly" || c.Alerts.Webhooks[0].Lang != "zh" {
		t.Errorf("defaults: %+v %+v", u, c.Alerts)
	}
}

func TestParseMoney(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"3", 3_000_000, false},
		{"0.5", 500_000, false},
		{"0.0028", 2_800, false},
		{"0.003625", 3_625, false},
		{".5", 500_000, false},
		{"12.500000", 12_500_000, false},
		{"9000000000000", 9_000_000_000_000_000_000, false},
		{"9000000000001", 0, true},
		{"0.0000001", 0, true},
		{"", 0, true},
		{".", 0, true},
		{"1.", 0, true},
		{"-1", 0, true},
		{"+1", 0, true},
		{"1e3", 0, true},
		{"1,5", 0, true},
		{" 1", 0, true},
	} {
		got, err := ParseMoney(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d, err %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"3", "0.0028", ".5", "1.", "9000000000000", "-1", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMoney(s)
		if err != nil {
			return
		}
		if m < 0 || m > 9_000_000_000_000_000_000 {
			t.Fatalf("ParseMoney(%q) = %d out of range", s, m)
		}
	})
}
