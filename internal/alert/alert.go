// Package alert sends Ferry's budget and rate alerts to webhooks: DingTalk
// and Feishu/Lark custom robots (signed), Slack incoming webhooks and a
// generic JSON POST. A Notifier sends each alert once per threshold per
// period, retries with backoff, and keeps the recent deliveries for
// /admin/alerts; every delivery is logged and counted.
package alert

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ferrygw/ferry/internal/usage"
)

// Kinds of alert.
const (
	KindBudget    = "budget"     // a budget's spend reached a threshold
	KindCalls     = "calls"      // calls in a period above a threshold
	KindSpendRate = "spend_rate" // spend per minute above a threshold
)

// Alert is one thing worth telling someone. Subject names what it is about
// (a key's or team's name, a tag, a model), never a secret.
type Alert struct {
	Kind     string       `json:"kind"`
	Scope    string       `json:"scope"`   // key, team, provider, model, tag
	Subject  string       `json:"subject"` // the scope's value
	Budget   string       `json:"budget,omitempty"`
	Percent  int          `json:"percent,omitempty"` // the threshold reached, for budget alerts
	Period   usage.Period `json:"period,omitempty"`
	Window   usage.Window `json:"-"`
	Spent    usage.Micros `json:"spent_micros"`
	Limit    usage.Micros `json:"limit_micros"` // the budget, or the threshold of calls or spend per minute
	Currency string       `json:"currency,omitempty"`
	Tokens   int64        `json:"tokens"`
	Calls    int64        `json:"calls,omitempty"`
	At       time.Time    `json:"at"`
}

// Key names the alert for deduplication: one alert per kind, subject,
// budget, threshold and period window.
func (a Alert) Key() string {
	return strings.Join([]string{a.Kind, a.Scope, a.Subject, a.Budget, strconv.Itoa(a.Percent), a.Window.Key}, "|")
}

// Languages of messages.
const (
	LangZH = "zh"
	LangEN = "en"
)

func money(m usage.Micros, currency string) string {
	switch currency {
	case usage.CNY:
		return "¥" + m.String()
	case usage.USD:
		return "$" + m.String()
	}
	return m.String() + " " + currency
}

func periodZH(p usage.Period) string {
	switch p {
	case usage.Daily:
		return "日"
	case usage.Weekly:
		return "周"
	case usage.Monthly:
		return "月"
	}
	return string(p)
}

func scopeZH(s string) string {
	switch s {
	case "key":
		return "密钥"
	case "team":
		return "团队"
	case "provider":
		return "供应商"
	case "model":
		return "模型"
	case "tag":
		return "业务标签"
	}
	return s
}

// Title is the message's headline, which DingTalk shows in notifications.
func (a Alert) Title(lang string) string {
	if lang == LangZH {
		switch a.Kind {
		case KindBudget:
			return fmt.Sprintf("Ferry 预算告警：%s %s 已用 %d%%", scopeZH(a.Scope), a.Subject, a.Percent)
		case KindCalls:
			return fmt.Sprintf("Ferry 调用量告警：%s %s", scopeZH(a.Scope), a.Subject)
		default:
			return fmt.Sprintf("Ferry 花费速度告警：%s %s", scopeZH(a.Scope), a.Subject)
		}
	}
	switch a.Kind {
	case KindBudget:
		return fmt.Sprintf("Ferry budget alert: %s %s at %d%%", a.Scope, a.Subject, a.Percent)
	case KindCalls:
		return fmt.Sprintf("Ferry call-volume alert: %s %s", a.Scope, a.Subject)
	default:
		return fmt.Sprintf("Ferry spend-rate alert: %s %s", a.Scope, a.Subject)
	}
}

// Text is the message body in lang (zh or en; anything else is en), with
// cost, tokens, budget and period. It is plain text that also reads as
// Markdown.
func (a Alert) Text(lang string) string {
	from := a.Window.Start.Format(time.DateOnly)
	if lang == LangZH {
		switch a.Kind {
		case KindBudget:
			return fmt.Sprintf("%s\n预算 %s（%s预算，%s 起）：已花费 %s / %s，令牌 %d。",
				a.Title(lang), a.Budget, periodZH(a.Period), from, money(a.Spent, a.Currency), money(a.Limit, a.Currency), a.Tokens)
		case KindCalls:
			return fmt.Sprintf("%s\n本%s（%s 起）调用 %d 次，超过阈值 %d；花费 %s，令牌 %d。",
				a.Title(lang), periodZH(a.Period), from, a.Calls, int64(a.Limit), money(a.Spent, a.Currency), a.Tokens)
		default:
			return fmt.Sprintf("%s\n最近一分钟花费 %s，超过每分钟 %s；令牌 %d。",
				a.Title(lang), money(a.Spent, a.Currency), money(a.Limit, a.Currency), a.Tokens)
		}
	}
	switch a.Kind {
	case KindBudget:
		return fmt.Sprintf("%s\nBudget %s (%s, period from %s): spent %s of %s, %d tokens.",
			a.Title(lang), a.Budget, a.Period, from, money(a.Spent, a.Currency), money(a.Limit, a.Currency), a.Tokens)
	case KindCalls:
		return fmt.Sprintf("%s\n%d calls this %s period (from %s), above the threshold of %d; spent %s, %d tokens.",
			a.Title(lang), a.Calls, a.Period, from, int64(a.Limit), money(a.Spent, a.Currency), a.Tokens)
	default:
		return fmt.Sprintf("%s\nSpent %s in the last minute, above %s per minute; %d tokens.",
			a.Title(lang), money(a.Spent, a.Currency), money(a.Limit, a.Currency), a.Tokens)
	}
}
