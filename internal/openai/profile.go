package openai

// Profile is what a translator needs to know about an OpenAI-compatible
// upstream's dialect. The openaicompat provider fills one per vendor from
// its data file (hence the yaml keys), citing the vendor's docs beside each
// value; package translate only obeys it.
type Profile struct {
	Name string `yaml:"name"`

	// MaxTokensField is the request field for the output limit:
	// "max_tokens" or "max_completion_tokens".
	MaxTokensField string `yaml:"max_tokens_field"`
	// MaxTokensCap clamps max_tokens (0: no clamp). Claude Code asks for
	// 32000-64000 whatever the model.
	MaxTokensCap int `yaml:"max_tokens_cap"`

	// Sampling ranges; a value outside is clamped. Max 0 means "drop the
	// parameter" (the vendor rejects or ignores it).
	TemperatureMax float64 `yaml:"temperature_max"` // Anthropic's range is [0,1]; OpenAI's [0,2]
	TopPMax        float64 `yaml:"top_p_max"`
	TopK           bool    `yaml:"top_k"` // forward top_k (vLLM, Ollama accept it as an extension)

	// StreamUsage: send stream_options.include_usage so the last chunk
	// carries usage.
	StreamUsage bool `yaml:"stream_usage"`

	// ReasoningFields are the delta/message fields that carry reasoning
	// text, in order of preference ("reasoning_content", "reasoning").
	ReasoningFields []string `yaml:"reasoning_fields"`
	// ReasoningReplay: send thinking blocks from history back as the
	// assistant message's reasoning_content (DeepSeek requires it for tool
	// turns in thinking mode).
	ReasoningReplay bool `yaml:"reasoning_replay"`
	// Thinking is how to ask for (or turn off) reasoning:
	// "" (not supported: drop), "reasoning_effort" (OpenAI style),
	// "thinking_type" (Zhipu, DeepSeek: {"thinking":{"type":"enabled|disabled"}}),
	// "enable_thinking" (DashScope, Qianfan for qwen/ernie).
	Thinking string `yaml:"thinking"`
	// ThinkingOffExplicit: when the Anthropic request has no thinking, send
	// the "off" form (Zhipu thinks by default).
	ThinkingOffExplicit bool `yaml:"thinking_off_explicit"`
	// ThinkingStreamOnly: the upstream thinks only in streaming calls and
	// rejects the "on" form otherwise (DashScope: "enable_thinking must be
	// set to false for non-streaming calls"). A non-streaming request that
	// asks for thinking then gets the "off" form, without effort or budget:
	// Claude Code retries a broken stream without streaming, thinking still
	// on, and an answer without reasoning beats a 400.
	ThinkingStreamOnly bool `yaml:"thinking_stream_only"`

	// ToolChoice: forward tool_choice (Ollama has none).
	ToolChoice bool `yaml:"tool_choice"`
	// ParallelToolCalls: forward parallel_tool_calls.
	ParallelToolCalls bool `yaml:"parallel_tool_calls"`
	// StripSchemaKeys are JSON-schema keywords removed from tool parameters
	// (e.g. "$schema" for strict validators).
	StripSchemaKeys []string `yaml:"strip_schema_keys"`
	// ImageURLs: the upstream accepts http(s) image URLs (Ollama: base64 only).
	ImageURLs bool `yaml:"image_urls"`
	// NoImages: the upstream takes no images at all (text-only models, such
	// as DeepSeek's). An image anywhere in the request is then a 400: dropped,
	// the model would answer about a picture it never saw. The zero value
	// (images accepted) keeps profiles that predate the field as they were.
	NoImages bool `yaml:"no_images"`
	// Documents: the upstream accepts PDF files as "file" content parts.
	Documents bool `yaml:"documents"`
	// SystemMidConversation: the upstream accepts a system message that is
	// not first (many chat templates do not). When false, such messages are
	// appended to the leading system message.
	SystemMidConversation bool `yaml:"system_mid_conversation"`
	// User: forward metadata.user_id as "user".
	User bool `yaml:"user"`
	// MaxStop is how many stop sequences the upstream accepts (0: no limit).
	MaxStop int `yaml:"max_stop"`
}
