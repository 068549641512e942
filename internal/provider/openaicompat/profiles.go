package openaicompat

// Vendor quirks, as data. Every value that differs from plain OpenAI
// behaviour cites where it comes from: a vendor doc URL (as collected in
// shared/VENDORS.md section B), or, where the vendors' docs say nothing,
// why the value is the safe side. Values marked (uncertain) rest on one or
// third-party sources, as VENDORS.md marks them.

import (
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/openai"
)

// Profile is what the provider knows about one OpenAI-compatible vendor:
// the translator's Profile plus where the vendor lives and how to read its
// errors.
type Profile struct {
	openai.Profile

	// DefaultBaseURL is used when no base_urls are configured ("" for
	// generic); KeyRequired says whether an API key must be configured.
	// Both come from config.VendorProfiles, the one list the config also
	// validates against.
	DefaultBaseURL string
	KeyRequired    bool

	// ErrorCodes maps a vendor's error code or type (the error object's
	// "code" or "type", Baidu v1's "error_code"), compared as text, to the
	// Anthropic error it means. It is consulted before the HTTP status,
	// which vendors use loosely (VENDORS.md C19: Zhipu answers 429 for an
	// empty balance, Moonshot 429 for an exhausted quota).
	ErrorCodes map[string]apierr.Kind
	// ErrorCodeRanges map ranges of numeric business codes (Zhipu's
	// 1000-1004, 1110-1121, ...), after ErrorCodes.
	ErrorCodeRanges []CodeRange
	// ContextWindows are documented context windows, for vendors whose
	// context-length error gives no limit (Zhipu's 1261): the client's
	// error then names the model's window (context.go).
	ContextWindows []ContextWindow
}

// CodeRange maps the numeric error codes From..To (inclusive) to Kind.
type CodeRange struct {
	From, To int
	Kind     apierr.Kind
}

// Lookup returns the profile called name.
func Lookup(name string) (Profile, bool) {
	for _, p := range table() {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}

// Names lists the profiles, in the config's documentation order.
func Names() []string {
	t := table()
	names := make([]string, len(t))
	for i, p := range t {
		names[i] = p.Name
	}
	return names
}

// table builds the profiles afresh on every call, so that no caller can
// change another's (no package-level mutable state).
func table() []Profile {
	ps := []Profile{openaiProfile(), zhipuProfile(), dashscopeProfile(), qianfanProfile(), deepseekProfile(), moonshotProfile(), vllmProfile(), ollamaProfile(), genericProfile()}
	for i := range ps {
		if vp, ok := config.VendorProfileByName(ps[i].Name); ok {
			ps[i].DefaultBaseURL, ps[i].KeyRequired = vp.DefaultBaseURL, vp.KeyRequired
		}
	}
	return ps
}

// Both reasoning field names, for upstreams whose name is not documented
// or changed over versions (VENDORS.md C20).
func bothReasoningFields() []string { return []string{"reasoning_content", "reasoning"} }

// Claude Code puts "$schema" in every tool's input_schema (PROTOCOL.md
// §10.6); strict validators reject it (VENDORS.md C16). Only OpenAI is
// known to accept it; everyone else gets it stripped, which loses nothing.
func stripSchema() []string { return []string{"$schema"} }

// Conventions of the table below:
//   - TopPMax is 1 everywhere: Anthropic's top_p range is [0,1] and every
//     vendor takes that range, so it only passes values through.
//   - TemperatureMax ≥ 1 never clamps an Anthropic value (its range is
//     [0,1]); it is 1 where the vendor documents [0,1], 2 where OpenAI's
//     [0,2] applies.
//   - MaxTokensCap is 0 (no clamp) everywhere: output limits are per model
//     (gpt-4o 16K, deepseek-v4 384K, old deepseek-chat 8K), so a
//     profile-wide cap would be wrong for most of a vendor's models.
//   - A feature a vendor does not document is off (not sent): an unknown
//     field can be a 400 on a strict server, a missing one never is.

func openaiProfile() Profile {
	return Profile{
		Profile: openai.Profile{
			Name:                  "openai",
			MaxTokensField:        "max_completion_tokens", // max_tokens is deprecated, rejected by o-series/GPT-5 — https://platform.openai.com/docs/api-reference/chat/create
			MaxTokensCap:          0,                       // per model — https://platform.openai.com/docs/models
			TemperatureMax:        2,                       // 0–2 — https://platform.openai.com/docs/api-reference/chat/create
			TopPMax:               1,                       // 0–1 — same page
			TopK:                  false,                   // no top_k in Chat Completions — same page
			StreamUsage:           true,                    // usage only with stream_options.include_usage, in a last choices:[] chunk (PROTOCOL.md §9) — same page
			ReasoningFields:       bothReasoningFields(),   // Chat Completions returns no reasoning text; read both in case a proxy adds one (VENDORS.md C20)
			ReasoningReplay:       false,                   // no reasoning field in requests — same page
			Thinking:              "reasoning_effort",      // none|minimal|low|medium|high|xhigh|max (PROTOCOL.md §9) — same page
			ThinkingOffExplicit:   false,                   // reasoning models pick their default effort — same page
			ToolChoice:            true,                    // none|auto|required|named — same page
			ParallelToolCalls:     true,                    // parallel_tool_calls — same page
			StripSchemaKeys:       nil,                     // accepts JSON Schema as sent (strict mode aside) — https://platform.openai.com/docs/guides/function-calling
			ImageURLs:             true,                    // image_url with http(s) or data URLs — same chat page
			Documents:             true,                    // "file" content parts with file_data — same chat page
			SystemMidConversation: true,                    // system/developer messages anywhere — same chat page
			User:                  true,                    // "user" — same chat page
			MaxStop:               4,                       // "up to 4 sequences" (PROTOCOL.md §9) — same chat page
		},
		ErrorCodes: map[string]apierr.Kind{
			// 429 "You exceeded your current quota, please check your plan
			// and billing details": no credits, not a rate —
			// https://platform.openai.com/docs/guides/error-codes
			"insufficient_quota": apierr.Billing,
		},
	}
}

func zhipuProfile() Profile {
	return Profile{
		Profile: openai.Profile{
			Name:                  "zhipu",
			MaxTokensField:        "max_tokens",                  // recorded requests (vendor-samples.md 1b) — https://docs.bigmodel.cn/cn/api/introduction
			MaxTokensCap:          0,                             // per model (see the conventions above)
			TemperatureMax:        1,                             // [0,1]; older docs (0,1), one-api clamps to [0,1] (uncertain for newest models) — https://docs.bigmodel.cn/cn/api/introduction
			TopPMax:               1,                             // see the conventions above
			TopK:                  false,                         // not a documented parameter — https://docs.bigmodel.cn/cn/api/introduction
			StreamUsage:           false,                         // usage "仅在最后一个chunk中出现" without stream_options — https://docs.bigmodel.cn/cn/guide/capabilities/streaming
			ReasoningFields:       []string{"reasoning_content"}, // vendor-samples.md 1b, 1c — https://docs.bigmodel.cn/cn/guide/capabilities/thinking.md
			ReasoningReplay:       false,                         // no replay requirement documented — https://docs.bigmodel.cn/cn/guide/capabilities/thinking.md
			Thinking:              "thinking_type",               // thinking.type enabled|disabled — https://docs.bigmodel.cn/cn/guide/capabilities/thinking.md
			ThinkingOffExplicit:   true,                          // "enabled" is the DEFAULT: send "disabled" when the client asked for none — same page
			ToolChoice:            true,                          // "auto" accepted in recorded traffic (vendor-samples.md 1c); other values (uncertain) — https://docs.bigmodel.cn/cn/guide/capabilities/stream-tool.md
			ParallelToolCalls:     false,                         // not documented: not sent — https://docs.bigmodel.cn/cn/api/introduction
			StripSchemaKeys:       stripSchema(),                 // VENDORS.md C16
			ImageURLs:             true,                          // GLM-V models take image_url URLs, OpenAI format — https://docs.bigmodel.cn/cn/api/introduction
			Documents:             false,                         // no "file" content part documented — https://docs.bigmodel.cn/cn/api/introduction
			SystemMidConversation: false,                         // one leading system message (VENDORS.md C1)
			User:                  false,                         // Zhipu's field is user_id, not user — https://docs.bigmodel.cn/cn/api/introduction
			MaxStop:               0,                             // no documented limit
		},
		// Business codes — https://docs.bigmodel.cn/cn/api/api-code; HTTP
		// statuses (429 also for an empty balance) —
		// https://docs.bigmodel.cn/cn/faq
		ErrorCodes: map[string]apierr.Kind{
			"1113": apierr.Billing,        // 欠费: account in arrears
			"1210": apierr.InvalidRequest, // bad parameters
			"1211": apierr.NotFound,       // model not found
			"1213": apierr.InvalidRequest, // missing field
			"1214": apierr.InvalidRequest, // illegal field
			"1261": apierr.ContextLength,  // prompt too long
			"1301": apierr.InvalidRequest, // unsafe content
			"1302": apierr.RateLimit,      // concurrency
			"1303": apierr.RateLimit,      // frequency
			"1304": apierr.RateLimit,      // daily cap
			"1305": apierr.RateLimit,      // traffic limit
			"1308": apierr.RateLimit,      // usage cap, resets at a time given in the message
			"1309": apierr.Billing,        // Coding Plan expired
			"1310": apierr.RateLimit,      // usage cap, resets at a time given in the message
			"1311": apierr.Permission,     // model not in the plan
			"1312": apierr.Overloaded,     // model overloaded
			"1313": apierr.RateLimit,      // fair-use throttling
		},
		ErrorCodeRanges: []CodeRange{
			{1000, 1004, apierr.Authentication}, // auth failures — https://docs.bigmodel.cn/cn/api/api-code
			{1110, 1121, apierr.Permission},     // account problems (1113 is billing, above) — same page
		},
		// 1261's message carries no numbers. "128K"/"200K" are read as
		// thousands, the lower reading: a limit stated too low only makes
		// Claude Code compact a little early.
		ContextWindows: []ContextWindow{
			{"glm-4.5", 128000, "GLM-4.6 page: window grown \"128K→200K\" from GLM-4.5 — https://docs.bigmodel.cn/cn/guide/models/text/glm-4.6.md"},
			{"glm-4.6", 200000, "\"上下文窗口由 128K→200K\" — https://docs.bigmodel.cn/cn/guide/models/text/glm-4.6.md"},
			{"glm-4.7", 200000, "(uncertain) successor of GLM-4.6 with the same 200K window per third-party listings; no first-party page in the stored docs"},
			{"glm-5", 202752, "上下文长度 202752 on Alibaba Bailian's GLM-5 page (a host of the same model) — https://help.aliyun.com/zh/model-studio/glm-9"},
			{"glm-5.2", 1000000, "(uncertain) \"1M-token context window\" — https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/maas/zaiorg/glm-52"},
		},
	}
}

func dashscopeProfile() Profile {
	return Profile{
		Profile: openai.Profile{
			Name:                  "dashscope",
			MaxTokensField:        "max_tokens",                  // compatible mode — https://help.aliyun.com/document_detail/2713154.html
			MaxTokensCap:          0,                             // per model (see the conventions above)
			TemperatureMax:        2,                             // OpenAI's range in compatible mode — https://help.aliyun.com/document_detail/2713154.html
			TopPMax:               1,                             // see the conventions above
			TopK:                  false,                         // not an OpenAI field; not sent — https://help.aliyun.com/document_detail/2713154.html
			StreamUsage:           true,                          // no usage without include_usage; then a last chunk with choices:[] — https://help.aliyun.com/zh/model-studio/user-guide/streaming-output-1
			ReasoningFields:       []string{"reasoning_content"}, // https://help.aliyun.com/en/model-studio/deep-thinking
			ReasoningReplay:       false,                         // no replay requirement documented — same page
			Thinking:              "enable_thinking",             // hybrid models; commercial default off, open-source default on — same page
			ThinkingOffExplicit:   true,                          // open-source Qwen3 think by default and then reject non-streaming calls ("enable_thinking must be set to false for non-streaming calls") — https://help.aliyun.com/zh/model-studio/error-code
			ThinkingStreamOnly:    true,                          // thinking models are stream-only: "parameter.enable_thinking must be set to false for non-streaming calls" (VENDORS.md B.2); Claude Code's non-streaming fallback gets thinking off — https://help.aliyun.com/zh/model-studio/error-code
			ToolChoice:            true,                          // compatible mode — https://help.aliyun.com/document_detail/2713154.html
			ParallelToolCalls:     false,                         // not in VENDORS.md: not sent
			StripSchemaKeys:       stripSchema(),                 // VENDORS.md C16
			ImageURLs:             true,                          // Qwen-VL image_url URLs — https://help.aliyun.com/document_detail/2713154.html
			Documents:             false,                         // no "file" content part in compatible mode — same page
			SystemMidConversation: false,                         // Qwen chat templates want one leading system message (VENDORS.md C1)
			User:                  false,                         // not documented: not sent
			MaxStop:               0,                             // no documented limit
		},
		// https://help.aliyun.com/zh/model-studio/error-code
		ErrorCodes: map[string]apierr.Kind{
			"Arrearage":        apierr.Billing,        // account overdue (vendor-samples.md 3c)
			"InvalidParameter": apierr.InvalidRequest, // incl. "Range of input length should be [1, xxx]"
			// Throttling codes at 429 appear on an Alibaba AI-Search page;
			// applicability to Bailian (uncertain) —
			// https://help.aliyun.com/zh/model-studio/user-guide/rate-limit
			"Throttling":                 apierr.RateLimit,
			"Throttling.RateQuota":       apierr.RateLimit,
			"Throttling.AllocationQuota": apierr.RateLimit,
		},
	}
}

func qianfanProfile() Profile {
	return Profile{
		Profile: openai.Profile{
			Name:                  "qianfan",
			MaxTokensField:        "max_tokens",                  // v2 OpenAI-compatible — https://cloud.baidu.com/doc/qianfan-docs/s/qm8qxemze
			MaxTokensCap:          0,                             // per model (see the conventions above)
			TemperatureMax:        1,                             // (0, 1.0] in the v1 docs — https://cloud.baidu.com/doc/WENXINWORKSHOP/s/Flxyg93xi
			TopPMax:               1,                             // see the conventions above
			TopK:                  false,                         // not an OpenAI field; not sent — https://cloud.baidu.com/doc/qianfan-docs/s/qm8qxemze
			StreamUsage:           true,                          // always ask (VENDORS.md C11); v2 is OpenAI-compatible — https://cloud.baidu.com/doc/qianfan-docs/s/qm8qxemze
			ReasoningFields:       []string{"reasoning_content"}, // https://cloud.baidu.com/doc/qianfan-docs/s/Wm95lyynv
			ReasoningReplay:       false,                         // no replay requirement documented — same page
			Thinking:              "enable_thinking",             // qwen3/ernie-4.5 models; the deepseek/kimi/glm models Qianfan hosts use thinking.type (model-dependent: Baidu's own ERNIE wins) — https://cloud.baidu.com/doc/qianfan-docs/s/Wm95lyynv
			ThinkingOffExplicit:   false,                         // no thinking-by-default documented for ERNIE — same page
			ToolChoice:            true,                          // OpenAI-compatible v2 — https://cloud.baidu.com/doc/qianfan-docs/s/qm8qxemze
			ParallelToolCalls:     false,                         // not documented: not sent
			StripSchemaKeys:       stripSchema(),                 // VENDORS.md C16
			ImageURLs:             true,                          // OpenAI-compatible image_url — https://cloud.baidu.com/doc/qianfan-docs/s/qm8qxemze
			Documents:             false,                         // no "file" content part documented — same page
			SystemMidConversation: false,                         // v1 demanded strictly alternating turns — https://cloud.baidu.com/doc/WENXINWORKSHOP/s/Flxyg93xi
			User:                  false,                         // not documented: not sent
			MaxStop:               0,                             // no documented limit
		},
		// v1 error_code values (still seen in bodies; one-api checks them
		// on 2xx answers) — https://cloud.baidu.com/doc/WENXINWORKSHOP/s/Flxyg93xi
		ErrorCodes: map[string]apierr.Kind{
			"110":    apierr.Authentication, // access token invalid
			"111":    apierr.Authentication, // access token expired
			"336000": apierr.Internal,       // internal error
			"336001": apierr.InvalidRequest, // invalid argument
		},
	}
}

func deepseekProfile() Profile {
	return Profile{
		Profile: openai.Profile{
			Name:                  "deepseek",
			MaxTokensField:        "max_tokens",                  // https://api-docs.deepseek.com/quick_start/pricing
			MaxTokensCap:          0,                             // v4: 384K output, old deepseek-chat 8K ("valid range of max_tokens is [1, 8192]", vendor-samples.md 2b): per model — https://api-docs.deepseek.com/quick_start/pricing
			TemperatureMax:        2,                             // OpenAI's range; thinking mode ignores it — https://api-docs.deepseek.com/guides/thinking_mode.md
			TopPMax:               1,                             // see the conventions above
			TopK:                  false,                         // not an OpenAI field; not sent
			StreamUsage:           true,                          // always ask (VENDORS.md C11)
			ReasoningFields:       []string{"reasoning_content"}, // https://api-docs.deepseek.com/guides/thinking_mode.md
			ReasoningReplay:       true,                          // tool turns in thinking mode must carry reasoning_content back, or 400 (vendor-samples.md 2b) — same page
			Thinking:              "thinking_type",               // {"thinking":{"type":"enabled|disabled"}} — same page
			ThinkingOffExplicit:   true,                          // "enabled" is the default per the doc (a third-party note disagrees: uncertain) — same page
			ToolChoice:            true,                          // OpenAI-compatible — https://api-docs.deepseek.com/quick_start/pricing
			ParallelToolCalls:     false,                         // not documented: not sent
			StripSchemaKeys:       stripSchema(),                 // VENDORS.md C16
			ImageURLs:             false,                         // text-only models — https://api-docs.deepseek.com/quick_start/pricing
			NoImages:              true,                          // text-only chat models: an image_url part, even base64, is a 400 "unknown variant `image_url`, expected `text`" (e.g. https://github.com/rikkahub/rikkahub/issues/1433) — https://api-docs.deepseek.com/
			Documents:             false,                         // text-only models — same page
			SystemMidConversation: false,                         // one leading system message (VENDORS.md C1)
			User:                  false,                         // not documented: not sent
			MaxStop:               0,                             // no documented limit
		},
		// The status carries the meaning (400, 401, 402 Insufficient
		// Balance, 422, 429, 500, 503 Server Overloaded); the body's
		// type/code says invalid_request_error whatever happened, so the
		// status table (statusKind) decides —
		// https://api-docs.deepseek.com/quick_start/error_codes
		ErrorCodes: nil,
	}
}

func moonshotProfile() Profile {
	return Profile{
		Profile: openai.Profile{
			Name:                  "moonshot",
			MaxTokensField:        "max_tokens",                  // https://platform.moonshot.cn/docs/api/chat
			MaxTokensCap:          0,                             // per model (see the conventions above)
			TemperatureMax:        1,                             // [0,1] (old docs, LangChain ChatMoonshot) — https://platform.moonshot.cn/docs/api/chat
			TopPMax:               1,                             // see the conventions above
			TopK:                  false,                         // not an OpenAI field; not sent
			StreamUsage:           true,                          // always ask (VENDORS.md C11)
			ReasoningFields:       []string{"reasoning_content"}, // thinking models (third-party, uncertain) — https://platform.moonshot.cn/docs/api/chat
			ReasoningReplay:       true,                          // thinking models expect reasoning_content replay (neurolink guide, uncertain) — same page
			Thinking:              "",                            // no switch documented in VENDORS.md: thinking is chosen by model name
			ThinkingOffExplicit:   false,                         // nothing to send
			ToolChoice:            true,                          // forced choice with thinking may 400 (uncertain); the upstream's error is then the client's — https://platform.moonshot.cn/docs/api/chat
			ParallelToolCalls:     false,                         // not documented: not sent
			StripSchemaKeys:       stripSchema(),                 // VENDORS.md C16
			ImageURLs:             true,                          // OpenAI-compatible image_url — https://platform.moonshot.cn/docs/api/chat
			Documents:             false,                         // files go through Moonshot's file API, not content parts — same page
			SystemMidConversation: false,                         // one leading system message (VENDORS.md C1)
			User:                  false,                         // not documented: not sent
			MaxStop:               0,                             // no documented limit
		},
		ErrorCodes: map[string]apierr.Kind{
			// An exhausted balance comes as HTTP 429 with this type —
			// https://forum.moonshot.ai/t/429-insufficient-balance/244
			"exceeded_current_quota_error": apierr.Billing,
		},
	}
}

func vllmProfile() Profile {
	return Profile{
		Profile: openai.Profile{
			Name:                  "vllm",
			MaxTokensField:        "max_tokens",                               // https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html
			MaxTokensCap:          0,                                          // max_model_len is per deployment; overflow comes back as a context-length error, rewritten for Claude Code
			TemperatureMax:        2,                                          // OpenAI's range — same page
			TopPMax:               1,                                          // see the conventions above
			TopK:                  true,                                       // a vLLM extra sampling parameter — same page
			StreamUsage:           true,                                       // stream_options.include_usage (standard; not re-verified in the docs) — same page
			ReasoningFields:       []string{"reasoning", "reasoning_content"}, // renamed (vllm#27752), old name removed (vllm#33402): new first — https://github.com/vllm-project/vllm/pull/27752
			ReasoningReplay:       false,                                      // chat templates drop earlier reasoning
			Thinking:              "",                                         // switched through chat_template_kwargs, per model: nothing portable (VENDORS.md C17)
			ThinkingOffExplicit:   false,                                      // nothing to send
			ToolChoice:            true,                                       // needs --enable-auto-tool-choice; named, auto, required, none — https://docs.vllm.ai/en/latest/features/tool_calling/
			ParallelToolCalls:     true,                                       // an OpenAI request field the server accepts — https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html
			StripSchemaKeys:       stripSchema(),                              // VENDORS.md C16
			ImageURLs:             true,                                       // multimodal models fetch image_url URLs — https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html
			Documents:             false,                                      // no "file" content part — same page
			SystemMidConversation: false,                                      // "System message must be at the beginning" (vendor-samples.md 6) — https://github.com/QuantumNous/new-api/issues/5407
			User:                  false,                                      // ignored by the server: not sent
			MaxStop:               0,                                          // no limit
		},
	}
}

func ollamaProfile() Profile {
	return Profile{
		Profile: openai.Profile{
			Name:                  "ollama",
			MaxTokensField:        "max_tokens",          // https://github.com/ollama/ollama/blob/main/docs/api/openai-compatibility.mdx
			MaxTokensCap:          0,                     // per model (see the conventions above)
			TemperatureMax:        2,                     // OpenAI's range — same page
			TopPMax:               1,                     // see the conventions above
			TopK:                  false,                 // not listed as supported — same page
			StreamUsage:           true,                  // stream_options.include_usage supported — same page
			ReasoningFields:       bothReasoningFields(), // field name not documented there: read both (VENDORS.md C20)
			ReasoningReplay:       false,                 // not documented: not sent
			Thinking:              "reasoning_effort",    // reasoning_effort / reasoning.effort high|medium|low|none — same page
			ThinkingOffExplicit:   false,                 // models decide; "none" only when asked
			ToolChoice:            false,                 // NOT supported: tool_choice — same page
			ParallelToolCalls:     false,                 // not listed as supported — same page
			StripSchemaKeys:       stripSchema(),         // VENDORS.md C16
			ImageURLs:             false,                 // base64 images only, no http(s) URLs — same page
			Documents:             false,                 // no "file" content part — same page
			SystemMidConversation: false,                 // model chat templates (VENDORS.md C1)
			User:                  false,                 // NOT supported: user — same page
			MaxStop:               0,                     // no documented limit
		},
	}
}

// genericProfile is for any other OpenAI-compatible server (llama.cpp,
// LM Studio, SGLang, proxies): standard fields only, and the conservative
// choice wherever servers differ.
func genericProfile() Profile {
	return Profile{
		Profile: openai.Profile{
			Name:                  "generic",
			MaxTokensField:        "max_tokens",          // what nearly every compatible server reads (max_completion_tokens is newer)
			MaxTokensCap:          0,                     // unknown model
			TemperatureMax:        1,                     // Anthropic's own range (see the conventions above)
			TopPMax:               1,                     // see the conventions above
			TopK:                  false,                 // an extension some servers reject
			StreamUsage:           true,                  // always ask (VENDORS.md C11); servers that ignore it send no usage
			ReasoningFields:       bothReasoningFields(), // VENDORS.md C20
			ReasoningReplay:       false,                 // a non-standard request field
			Thinking:              "",                    // no portable switch (VENDORS.md C17)
			ThinkingOffExplicit:   false,                 // nothing to send
			ToolChoice:            true,                  // standard OpenAI field
			ParallelToolCalls:     false,                 // not every server accepts it
			StripSchemaKeys:       stripSchema(),         // VENDORS.md C16
			ImageURLs:             true,                  // standard OpenAI content part
			Documents:             false,                 // "file" parts are rare outside OpenAI
			SystemMidConversation: false,                 // many chat templates reject it (VENDORS.md C1)
			User:                  false,                 // not needed, sometimes rejected
			MaxStop:               0,                     // unknown
		},
	}
}

// commonErrorCode maps OpenAI's own codes, which compatible servers copy;
// a profile's ErrorCodes take precedence.
func commonErrorCode(code string) (apierr.Kind, bool) {
	switch code {
	case "insufficient_quota":
		// https://platform.openai.com/docs/guides/error-codes
		return apierr.Billing, true
	case "context_length_exceeded":
		// OpenAI's code for a prompt over the context window (seen in
		// error bodies; the error-codes guide does not list codes).
		return apierr.ContextLength, true
	}
	return 0, false
}
