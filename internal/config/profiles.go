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
}

// VendorProfiles lists the known profiles, in documentation order.
func VendorProfiles() []VendorProfile {
	return []VendorProfile{
		// https://platform.openai.com/docs/api-reference/chat
		{Name: "openai", DefaultBaseURL: "https://api.openai.com/v1", KeyRequired: true, EnvKey: "OPENAI_API_KEY", ModelPrefixes: []string{"gpt-", "o1", "o3", "o4"}},
		// https://docs.bigmodel.cn/cn/api/introduction
		{Name: "zhipu", DefaultBaseURL: "https://open.bigmodel.cn/api/paas/v4", KeyRequired: true, EnvKey: "ZHIPUAI_API_KEY", ModelPrefixes: []string{"glm-"}},
		// https://help.aliyun.com/document_detail/2713154.html
		{Name: "dashscope", DefaultBaseURL: "https://dashscope.aliyuncs.com/compatible-mode/v1", KeyRequired: true, EnvKey: "DASHSCOPE_API_KEY", ModelPrefixes: []string{"qwen"}},
		// https://cloud.baidu.com/doc/qianfan-docs/s/qm8qxemze
		{Name: "qianfan", DefaultBaseURL: "https://qianfan.baidubce.com/v2", KeyRequired: true, EnvKey: "QIANFAN_API_KEY", ModelPrefixes: []string{"ernie-"}},
		// https://api-docs.deepseek.com/quick_start/pricing
		{Name: "deepseek", DefaultBaseURL: "https://api.deepseek.com", KeyRequired: true, EnvKey: "DEEPSEEK_API_KEY", ModelPrefixes: []string{"deepseek-"}},
		// https://platform.moonshot.cn/docs/api/chat
		{Name: "moonshot", DefaultBaseURL: "https://api.moonshot.cn/v1", KeyRequired: true, EnvKey: "MOONSHOT_API_KEY", ModelPrefixes: []string{"kimi-", "moonshot-"}},
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
