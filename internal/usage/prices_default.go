package usage

// The shipped price list. Figures are per million tokens, read 2026-12-06
// from the sources named on each entry (stored copies of public pages, which
// may lag the live page; see docs/config.md, "Prices"). A config's
// usage.prices replaces any of them. Models a vendor prices but no trusted
// figure was found for (qwen3-coder-plus, qwen-max, kimi-k2.6, ERNIE 4.5 and
// "5.1", o3, o4-mini, Zhipu's own glm-4.5/4.6) are left out: unpriced models
// are reported as such, never guessed.

const taken = "2026-12-06"

// Sources.
const (
	srcAnthropic      = "platform.claude.com/docs/en/about-claude/pricing"
	srcAnthropicLong  = "docs.anthropic.com/en/docs/about-claude/pricing (long context >200K; cache rates derived with Anthropic's 1.25x/0.1x multipliers)"
	srcAnthropicNew   = "third-party release notes citing Anthropic (kurofune/claudit v1.9.2, TheKrush/PromptFuel v1.0.23); uncertain"
	srcOpenAI41       = "Sraleik/undetermini PRICING.md via aipricing.guru (2026-05-07); cached 25%"
	srcOpenAI4o       = "CommitBrief/commitbrief wiki Provider-OpenAI; docs.newapi.pro ratio table"
	srcOpenAIo1       = "community.openai.com/t/1099176"
	srcDeepSeek       = "api-docs.deepseek.com/zh-cn/quick_start/pricing (peak; off-peak half)"
	srcDeepSeekLegacy = "api-docs.deepseek.com/quick_start/pricing (2025-09-05 prices; whether the names still work is not stated)"
	srcQwen3Max       = "qxytah/qwen-api-pricing (May 2026, citing Aliyun; uncertain)"
	srcQwenOfficial   = "help.aliyun.com/zh/model-studio (per-thousand figures x1000)"
	srcZhipu          = "docs.bigmodel.cn/cn/guide/models/text/glm-4.md"
	srcBailianGLM     = "help.aliyun.com/zh/model-studio/glm-4-5-air (Bailian's price, not Zhipu's)"
	srcZai            = "getmaxim.ai bifrost llm-cost-calculator zai/glm-4.6 (uncertain)"
	srcKimi           = "platform.kimi.ai/docs/pricing/chat-k3 via docs.apiyi.com/en/models/kimi-k3.md"
	srcErnie          = "blog.csdn.net/m0_37559973/article/details/137888324 (2024 prices; historical)"
)

// m is a figure in Micros from a decimal number of units per million
// tokens: m("0.0028"). Only the constants below reach it, and
// TestDefaultPrices builds the whole list, so a typo fails there.
func m(units string) Micros {
	v, err := ParseMicros(units)
	if err != nil {
		panic(err)
	}
	return v
}

func flat(model, currency string, in, out, read, write string, src string) Price {
	return Price{Model: model, Currency: currency, Rates: Rates{Input: m(in), Output: m(out), CacheRead: m(read), CacheWrite: m(write)}, Taken: taken, Source: src}
}

// DefaultPrices returns the shipped price list.
func DefaultPrices() []Price {
	var ps []Price
	anth := func(src string, in, out, read, write string, models ...string) {
		for _, name := range models {
			ps = append(ps, flat(name, USD, in, out, read, write, src))
		}
	}
	anth(srcAnthropic, "5", "25", "0.5", "6.25", "claude-opus-4-5", "claude-opus-4-6", "claude-opus-4-7", "claude-opus-4-8", "claude-opus-5")
	anth(srcAnthropic, "15", "75", "1.5", "18.75", "claude-opus-4", "claude-opus-4-1", "claude-3-opus")
	anth(srcAnthropic, "10", "50", "0.25", "12.5", "claude-fable-5-1", "claude-mythos-5-1")
	anth(srcAnthropic, "10", "50", "1", "12.5", "claude-fable-5", "claude-mythos-5")
	anth(srcAnthropic, "1", "5", "0.1", "1.25", "claude-haiku-4-5")
	anth(srcAnthropicNew, "2", "10", "0.2", "2.5", "claude-sonnet-5")
	anth(srcAnthropicNew, "2", "10", "0.1", "2.5", "claude-sonnet-5-5")
	for _, name := range []string{"claude-sonnet-4", "claude-sonnet-4-5"} {
		p := flat(name, USD, "3", "15", "0.3", "3.75", srcAnthropic)
		p.Tiers = []Tier{{Above: 200_000, Rates: Rates{Input: m("6"), Output: m("22.5"), CacheRead: m("0.6"), CacheWrite: m("7.5")}}}
		p.Source += "; " + srcAnthropicLong
		ps = append(ps, p)
	}
	haiku55 := flat("claude-haiku-5-5", USD, "0.10", "0.50", "0.01", "0.125", srcAnthropicNew)
	haiku55.Tiers = []Tier{{Above: 100_000, Rates: Rates{Input: m("0.5"), Output: m("2.5"), CacheRead: m("0.05"), CacheWrite: m("0.625")}}}
	ps = append(ps, haiku55,
		flat("gpt-4.1", USD, "2", "8", "0.5", "0", srcOpenAI41),
		flat("gpt-4.1-mini", USD, "0.4", "1.6", "0.1", "0", srcOpenAI41),
		flat("gpt-4.1-nano", USD, "0.1", "0.4", "0.025", "0", srcOpenAI41),
		flat("gpt-4o", USD, "2.5", "10", "1.25", "0", srcOpenAI4o),
		flat("gpt-4o-mini", USD, "0.15", "0.6", "0.075", "0", srcOpenAI4o),
		flat("o1", USD, "15", "60", "7.5", "0", srcOpenAIo1),
	)
	for _, name := range []string{"deepseek-flash", "deepseek-v4-flash"} {
		p := flat(name, CNY, "2", "8", "0.04", "0", srcDeepSeek)
		p.OffPeak = &Rates{Input: m("1"), Output: m("4"), CacheRead: m("0.02")}
		ps = append(ps, p)
	}
	pro := flat("deepseek-v4-pro", CNY, "9", "27", "0.3", "0", srcDeepSeek)
	pro.OffPeak = &Rates{Input: m("4.5"), Output: m("13.5"), CacheRead: m("0.15")}
	ps = append(ps, pro,
		flat("deepseek-chat", USD, "0.56", "1.68", "0.07", "0", srcDeepSeekLegacy),
		flat("deepseek-reasoner", USD, "0.56", "1.68", "0.07", "0", srcDeepSeekLegacy),
	)
	qmax := flat("qwen3-max", CNY, "2.5", "10", "0", "0", srcQwen3Max)
	qmax.Tiers = []Tier{
		{Above: 32_000, Rates: Rates{Input: m("4"), Output: m("16")}},
		{Above: 128_000, Rates: Rates{Input: m("7"), Output: m("28")}},
	}
	q35 := flat("qwen3.5-plus", CNY, "0.8", "4.8", "0", "0", srcQwen3Max)
	q35.Tiers = []Tier{{Above: 128_000, Rates: Rates{Input: m("2"), Output: m("12")}}}
	air := flat("glm-4.5-air", CNY, "0.8", "6", "0", "0", srcBailianGLM)
	air.Tiers = []Tier{{Above: 32_000, Rates: Rates{Input: m("1.2"), Output: m("8")}}}
	ps = append(ps, qmax, q35, air,
		flat("qwen3.6-plus", CNY, "2", "12", "0", "0", srcQwen3Max),
		flat("qwen-plus", CNY, "0.8", "2", "0", "0", srcQwenOfficial),
		flat("qwen-turbo", CNY, "0.3", "0.6", "0", "0", srcQwenOfficial),
		flat("qwen-doc-turbo", CNY, "0.6", "1", "0.12", "0.75", srcQwenOfficial),
		flat("glm-4-plus", CNY, "5", "5", "0", "0", srcZhipu),
		flat("glm-4-flash", CNY, "0", "0", "0", "0", srcZhipu),
		flat("glm-4.6", USD, "0.6", "2.2", "0", "0", srcZai),
		flat("kimi-k3", USD, "3", "15", "0.3", "0", srcKimi),
		flat("ernie-4.0-8k", CNY, "120", "120", "0", "0", srcErnie),
		flat("ernie-3.5-8k", CNY, "120", "120", "0", "0", srcErnie),
	)
	return ps
}
