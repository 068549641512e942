package config

// VendorProfile is what the config needs to know about an OpenAI-compatible
// vendor: where it lives, whether it needs a key, and how the embedded
// defaults find it. The translation quirks of each vendor live with the
// provider (internal/provider/openaicompat), which has a profile of the same
// name for every entry here.
type VendorProfile struct {
	Name           string
	DefaultBaseURL string   // "" for generic: base_urls is required
	KeyRequired    bool     // local servers (vLLM, Ollama) usually run without one
	EnvKey         string   // the environment variable the embedded defaults read
	ModelPrefixes  []string // model name prefixes the embedded defaults route to it
	// Claude is what Claude Code's model names become when the embedded
	// defaults find this vendor's key and no Anthropic key (see
	// ClaudeRoutes).
	Claude ClaudeModels
}

// ClaudeModels are a vendor's models for Claude Code's three classes.
type ClaudeModels struct {
	Flagship string // for claude-opus-*
	Main     string // for claude-sonnet-* and every other claude-*
	Fast     string // for claude-haiku-*: Claude Code's background calls
}

// VendorProfiles lists the known profiles, in documentation order.
func VendorProfiles() []VendorProfile {
	return []VendorProfile{
		// https://platform.openai.com/docs/api-reference/chat
		{Name: "openai", DefaultBaseURL: "https://api.openai.com/v1", KeyRequired: true, EnvKey: "OPENAI_API_KEY", ModelPrefixes: []string{"gpt-", "o1", "o3", "o4"},
			// https://platform.openai.com/docs/models (gpt-4.1 family, shared/MONEY-FACTS.md)
			Claude: ClaudeModels{Flagship: "gpt-4.1", Main: "gpt-4.1", Fast: "gpt-4.1-mini"}},
		// https://docs.bigmodel.cn/cn/api/introduction
		{Name: "zhipu", DefaultBaseURL: "https://open.bigmodel.cn/api/paas/v4", KeyRequired: true, EnvKey: "ZHIPUAI_API_KEY", ModelPrefixes: []string{"glm-"},
			// GLM-5.3 flagship (https://docs.bigmodel.cn/cn/guide/start/pricing.md), GLM-4.7 and its
			// flash variant (https://docs.bigmodel.cn/cn/guide/capabilities/thinking.md)
			Claude: ClaudeModels{Flagship: "glm-5.3", Main: "glm-4.7", Fast: "glm-4.7-flash"}},
		// https://help.aliyun.com/document_detail/2713154.html
		{Name: "dashscope", DefaultBaseURL: "https://dashscope.aliyuncs.com/compatible-mode/v1", KeyRequired: true, EnvKey: "DASHSCOPE_API_KEY", ModelPrefixes: []string{"qwen"},
			// qwen3-max, qwen-plus, qwen-turbo (https://help.aliyun.com/zh/model-studio/models)
			Claude: ClaudeModels{Flagship: "qwen3-max", Main: "qwen-plus", Fast: "qwen-turbo"}},
		// https://cloud.baidu.com/doc/qianfan-docs/s/qm8qxemze
		{Name: "qianfan", DefaultBaseURL: "https://qianfan.baidubce.com/v2", KeyRequired: true, EnvKey: "QIANFAN_API_KEY", ModelPrefixes: []string{"ernie-"},
			// ernie-5.1 flagship, ERNIE 4.5 Turbo (https://cloud.baidu.com/doc/qianfan-docs/s/Wm95lyynv) (uncertain)
			Claude: ClaudeModels{Flagship: "ernie-5.1", Main: "ernie-4.5-turbo-128k", Fast: "ernie-4.5-turbo-32k"}},
		// https://api-docs.deepseek.com/quick_start/pricing
		{Name: "deepseek", DefaultBaseURL: "https://api.deepseek.com", KeyRequired: true, EnvKey: "DEEPSEEK_API_KEY", ModelPrefixes: []string{"deepseek-"},
			// DeepSeek's own Anthropic endpoint maps claude-opus* to v4-pro and
			// every other claude* to v4-flash — https://api-docs.deepseek.com/zh-cn/guides/anthropic_api.md
			Claude: ClaudeModels{Flagship: "deepseek-v4-pro", Main: "deepseek-v4-flash", Fast: "deepseek-v4-flash"}},
		// https://platform.moonshot.cn/docs/api/chat
		{Name: "moonshot", DefaultBaseURL: "https://api.moonshot.cn/v1", KeyRequired: true, EnvKey: "MOONSHOT_API_KEY", ModelPrefixes: []string{"kimi-", "moonshot-"},
			// kimi-k3, kimi-k2.6 (https://platform.kimi.com/docs/pricing/chat-k26) (uncertain)
			Claude: ClaudeModels{Flagship: "kimi-k3", Main: "kimi-k2.6", Fast: "kimi-k2.6"}},
		// https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html
		{Name: "vllm", DefaultBaseURL: "http://127.0.0.1:8000/v1"},
		// https://github.com/ollama/ollama/blob/main/docs/api/openai-compatibility.mdx
		{Name: "ollama", DefaultBaseURL: "http://127.0.0.1:11434/v1"},
		{Name: "generic"},
	}
}

// VendorProfileByName finds a profile.
func VendorProfileByName(name string) (VendorProfile, bool) {
	for _, p := range VendorProfiles() {
		if p.Name == name {
			return p, true
		}
	}
	return VendorProfile{}, false
}

func vendorProfileNames() string {
	s := ""
	for i, p := range VendorProfiles() {
		if i > 0 {
			s += ", "
		}
		s += p.Name
	}
	return s
}
