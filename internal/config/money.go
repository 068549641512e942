package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Usage configures the usage ledger, prices, budgets and rate alerts.
// Amounts of money are decimal strings ("10", "0.5", "0.0028"), parsed
// exactly into integer millionths by ParseMoney: never floats.
type Usage struct {
	TimeZone   string        `yaml:"time_zone"` // budget periods and report days, IANA name, default Asia/Shanghai
	Retention  time.Duration `yaml:"retention"` // ledger rows kept, default 2160h (90 days)
	Buffer     int           `yaml:"buffer"`    // ledger rows waiting to be written, default 20000; beyond it rows are dropped and counted
	USDToCNY   string        `yaml:"usd_to_cny"`
	Prices     []Price       `yaml:"prices"`      // over the shipped price list
	Budgets    []Budget      `yaml:"budgets"`     // spending limits
	RateAlerts []RateAlert   `yaml:"rate_alerts"` // call-volume and spend-rate alerts
}

// Price is one provider model's price per million tokens, overriding the
// shipped one.
type Price struct {
	Provider   string `yaml:"provider"` // a provider name; empty: any provider serving model
	Model      string `yaml:"model"`    // the upstream model name (dated variants included)
	Currency   string `yaml:"currency"` // CNY or USD
	Input      string `yaml:"input"`
	Output     string `yaml:"output"`
	CacheRead  string `yaml:"cache_read"`
	CacheWrite string `yaml:"cache_write"`
	Taken      string `yaml:"taken"`  // the date the figures were read, YYYY-MM-DD
	Source     string `yaml:"source"` // where they were read
}

// Budget is one spending limit per period.
type Budget struct {
	Name          string `yaml:"name"`
	Scope         string `yaml:"scope"`  // key | team | provider | model | tag
	Match         string `yaml:"match"`  // one value of the scope; empty: every value has its own budget
	Period        string `yaml:"period"` // daily | weekly | monthly, default monthly
	Currency      string `yaml:"currency"`
	Limit         string `yaml:"limit"`          // in currency units, e.g. "500"
	AllowOverrun  bool   `yaml:"allow_overrun"`  // admit past the limit (alerts still go out)
	AlertPercents []int  `yaml:"alert_percents"` // default [80, 100]
}

// RateAlert fires when calls in a period, or spend per minute, pass a
// threshold.
type RateAlert struct {
	Name           string `yaml:"name"`
	Scope          string `yaml:"scope"` // key | tag
	Match          string `yaml:"match"` // empty: each value
	Period         string `yaml:"period"`
	Calls          int64  `yaml:"calls"`            // calls per period; 0: none
	SpendPerMinute string `yaml:"spend_per_minute"` // in currency; empty: none
	Currency       string `yaml:"currency"`
}

// Alerts configures where alerts go.
type Alerts struct {
	Webhooks []Webhook `yaml:"webhooks"`
}

// Webhook is one alert receiver.
type Webhook struct {
	Name   string `yaml:"name"`
	Type   string `yaml:"type"`   // dingtalk | feishu | slack | generic
	URL    Secret `yaml:"url"`    // carries the robot's token: a secret
	Secret Secret `yaml:"secret"` // dingtalk, feishu: the signing secret
	Lang   string `yaml:"lang"`   // zh | en, default zh
}

// DefaultTimeZone is usage.time_zone's default: most Ferry users bill in
// Beijing time, and their vendors' days are Beijing days.
const DefaultTimeZone = "Asia/Shanghai"

// DefaultUSDToCNY is usage.usd_to_cny's default, so that a CNY budget also
// counts USD-priced models; set it to your own rate.
const DefaultUSDToCNY = "7.2"

func (c *Config) moneyDefaults() {
	u := &c.Usage
	setDefault(&u.TimeZone, DefaultTimeZone)
	setDefault(&u.Retention, 90*24*time.Hour)
	setDefault(&u.Buffer, 20000)
	setDefault(&u.USDToCNY, DefaultUSDToCNY)
	for i := range u.Budgets {
		setDefault(&u.Budgets[i].Period, "monthly")
	}
	for i := range u.RateAlerts {
		setDefault(&u.RateAlerts[i].Period, "daily")
	}
	for i := range c.Alerts.Webhooks {
		setDefault(&c.Alerts.Webhooks[i].Lang, "zh")
	}
}

// errMoney is the cause ParseMoney wraps.
var errMoney = errors.New("not an amount: write a decimal number such as 10, 0.5 or 0.0028, with at most 6 decimal places")

// ParseMoney parses a non-negative decimal amount ("3", "0.50", "0.0028")
// exactly into millionths of a unit, without floating point. It refuses
// more than six decimal places (they would be lost), signs, exponents and
// amounts above 9,000,000,000,000 units.
func ParseMoney(s string) (int64, error) {
	whole, frac, hasDot := strings.Cut(s, ".")
	if (whole == "" && frac == "") || (hasDot && frac == "") || len(frac) > 6 || len(whole) > 13 {
		return 0, fmt.Errorf("%q: %w", s, errMoney)
	}
	var n int64
	for _, r := range whole {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q: %w", s, errMoney)
		}
		n = n*10 + int64(r-'0')
	}
	if n > 9_000_000_000_000 {
		return 0, fmt.Errorf("%q: %w", s, errMoney)
	}
	n *= 1_000_000
	scale := int64(100_000)
	for _, r := range frac {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q: %w", s, errMoney)
		}
		n += int64(r-'0') * scale
		scale /= 10
	}
	return n, nil
}

func (v *validator) money(path, s string, required bool) {
	if s == "" {
		if required {
			v.add(path, "is required: an amount such as 10 or 0.5")
		}
		return
	}
	if _, err := ParseMoney(s); err != nil {
		v.addf(path, "%s", strings.TrimPrefix(err.Error(), fmt.Sprintf("%q: ", s)))
	}
}

func (v *validator) currency(path, c string) { v.oneOf(path, c, "CNY", "USD") }

func (v *validator) period(path, p string) {
	if p != "" {
		v.oneOf(path, p, "daily", "weekly", "monthly")
	}
}

func (v *validator) percents(path string, ps []int) {
	for i, p := range ps {
		if p <= 0 || p > 1000 {
			v.addf(fmt.Sprintf("%s[%d]", path, i), "%d is out of range: a percent of the budget from 1 to 1000", p)
		}
	}
}

// uniqueName reports a missing or repeated name; why says what needs it.
func (v *validator) uniqueName(path, name string, seen map[string]bool, why string) {
	switch {
	case name == "":
		v.add(path, "is required: "+why)
	case seen[name]:
		v.addf(path, "%q is used twice", name)
	}
	seen[name] = true
}

// usage validates usage and alerts.
func (v *validator) usage(c *Config) {
	u := &c.Usage
	if u.TimeZone != "" {
		if _, err := time.LoadLocation(u.TimeZone); err != nil {
			v.addf("usage.time_zone", "%q is not a known time zone: use an IANA name such as Asia/Shanghai or UTC", u.TimeZone)
		}
	}
	v.nonNegative("usage.retention", u.Retention)
	if u.Buffer < 0 {
		v.addf("usage.buffer", "%d must not be negative", u.Buffer)
	}
	v.money("usage.usd_to_cny", u.USDToCNY, false)
	v.prices(u.Prices)
	v.budgets(u.Budgets)
	v.rateAlerts(u.RateAlerts)
	v.webhooks(c.Alerts.Webhooks)
}

func (v *validator) prices(ps []Price) {
	seen := map[string]bool{}
	for i, p := range ps {
		path := fmt.Sprintf("usage.prices[%d]", i)
		if p.Model == "" {
			v.add(path+".model", "is required")
		}
		if k := p.Provider + "\x00" + strings.ToLower(p.Model); seen[k] {
			v.addf(path+".model", "%q is priced twice for this provider", p.Model)
		} else {
			seen[k] = true
		}
		v.currency(path+".currency", p.Currency)
		v.money(path+".input", p.Input, true)
		v.money(path+".output", p.Output, true)
		v.money(path+".cache_read", p.CacheRead, false)
		v.money(path+".cache_write", p.CacheWrite, false)
		if p.Taken != "" {
			if _, err := time.Parse(time.DateOnly, p.Taken); err != nil {
				v.addf(path+".taken", "%q is not a date: write YYYY-MM-DD", p.Taken)
			}
		}
	}
}

func (v *validator) budgets(bs []Budget) {
	names := map[string]bool{}
	for i, b := range bs {
		path := fmt.Sprintf("usage.budgets[%d]", i)
		v.uniqueName(path+".name", b.Name, names, "alerts and refusals name the budget")
		v.oneOf(path+".scope", b.Scope, "key", "team", "provider", "model", "tag")
		v.period(path+".period", b.Period)
		v.currency(path+".currency", b.Currency)
		v.money(path+".limit", b.Limit, true)
		if n, err := ParseMoney(b.Limit); err == nil && n == 0 {
			v.add(path+".limit", "must be more than 0")
		}
		v.percents(path+".alert_percents", b.AlertPercents)
	}
}

func (v *validator) rateAlerts(rs []RateAlert) {
	for i, r := range rs {
		path := fmt.Sprintf("usage.rate_alerts[%d]", i)
		if r.Name == "" {
			v.add(path+".name", "is required")
		}
		v.oneOf(path+".scope", r.Scope, "key", "tag")
		v.period(path+".period", r.Period)
		if r.Calls < 0 {
			v.addf(path+".calls", "%d must not be negative", r.Calls)
		}
		v.money(path+".spend_per_minute", r.SpendPerMinute, false)
		if r.SpendPerMinute != "" {
			v.currency(path+".currency", r.Currency)
		}
		if r.Calls == 0 && r.SpendPerMinute == "" {
			v.add(path, ": set calls, spend_per_minute or both")
		}
	}
}

func (v *validator) webhooks(ws []Webhook) {
	names := map[string]bool{}
	for i, w := range ws {
		path := fmt.Sprintf("alerts.webhooks[%d]", i)
		v.uniqueName(path+".name", w.Name, names, "deliveries are shown by name, never by URL")
		v.oneOf(path+".type", w.Type, "dingtalk", "feishu", "slack", "generic")
		if w.URL == "" {
			v.missing(path+".url", "is required")
		} else if u := string(w.URL); !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			v.add(path+".url", "must be an http:// or https:// URL")
		}
		if w.Lang != "" {
			v.oneOf(path+".lang", w.Lang, "zh", "en")
		}
	}
}
