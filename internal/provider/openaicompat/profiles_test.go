package openaicompat_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider/openaicompat"
)

// TestProfilesMatchConfig: the config validates profile names against its
// own list; every name there must have a translation profile here, and
// the other way round.
func TestProfilesMatchConfig(t *testing.T) {
	var cfg []string
	for _, vp := range config.VendorProfiles() {
		cfg = append(cfg, vp.Name)
		p, ok := openaicompat.Lookup(vp.Name)
		if !ok {
			t.Errorf("config profile %s has no openaicompat profile", vp.Name)
			continue
		}
		if p.DefaultBaseURL != vp.DefaultBaseURL || p.KeyRequired != vp.KeyRequired {
			t.Errorf("%s: base %q key %v, config says %q %v", vp.Name, p.DefaultBaseURL, p.KeyRequired, vp.DefaultBaseURL, vp.KeyRequired)
		}
	}
	if got := openaicompat.Names(); !slices.Equal(got, cfg) {
		t.Errorf("Names() = %v, config = %v", got, cfg)
	}
	if _, ok := openaicompat.Lookup("anthropic"); ok {
		t.Error("Lookup of an unknown name succeeded")
	}
}

// TestProfileQuirks pins the values the brief and VENDORS.md call out, so
// that a change to one is a visible decision.
func TestProfileQuirks(t *testing.T) {
	get := func(name string) openaicompat.Profile {
		p, ok := openaicompat.Lookup(name)
		if !ok {
			t.Fatalf("no profile %s", name)
		}
		return p
	}
	for _, name := range openaicompat.Names() {
		p := get(name)
		if p.Name != name || p.TopPMax != 1 || p.TemperatureMax < 1 {
			t.Errorf("%s: name %q top_p max %v temperature max %v", name, p.Name, p.TopPMax, p.TemperatureMax)
		}
		if strip := slices.Contains(p.StripSchemaKeys, "$schema"); strip == (name == "openai") {
			t.Errorf("%s: strips $schema: %v", name, strip)
		}
		if len(p.ReasoningFields) == 0 {
			t.Errorf("%s: no reasoning fields", name)
		}
		if p.SystemMidConversation != (name == "openai") {
			t.Errorf("%s: SystemMidConversation %v", name, p.SystemMidConversation)
		}
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"openai max_completion_tokens", get("openai").MaxTokensField == "max_completion_tokens"},
		{"others max_tokens", get("zhipu").MaxTokensField == "max_tokens" && get("deepseek").MaxTokensField == "max_tokens"},
		{"openai temperature 2", get("openai").TemperatureMax == 2},
		{"zhipu, moonshot, qianfan temperature 1", get("zhipu").TemperatureMax == 1 && get("moonshot").TemperatureMax == 1 && get("qianfan").TemperatureMax == 1},
		{"stream usage needs stream_options", get("openai").StreamUsage && get("dashscope").StreamUsage && get("vllm").StreamUsage && get("ollama").StreamUsage},
		{"zhipu sends usage anyway", !get("zhipu").StreamUsage},
		{"zhipu thinking", get("zhipu").Thinking == "thinking_type" && get("zhipu").ThinkingOffExplicit},
		{"deepseek thinking + replay", get("deepseek").Thinking == "thinking_type" && get("deepseek").ReasoningReplay},
		{"dashscope, qianfan enable_thinking", get("dashscope").Thinking == "enable_thinking" && get("qianfan").Thinking == "enable_thinking"},
		{"openai, ollama reasoning_effort", get("openai").Thinking == "reasoning_effort" && get("ollama").Thinking == "reasoning_effort"},
		{"vllm no thinking switch", get("vllm").Thinking == ""},
		{"vllm reads reasoning first", slices.Equal(get("vllm").ReasoningFields, []string{"reasoning", "reasoning_content"})},
		{"ollama has no tool_choice, no image URLs", !get("ollama").ToolChoice && !get("ollama").ImageURLs},
		{"deepseek takes no images; the others do", get("deepseek").NoImages && !get("openai").NoImages && !get("dashscope").NoImages && !get("ollama").NoImages},
		{"dashscope thinks only when streaming", get("dashscope").ThinkingStreamOnly && !get("qianfan").ThinkingStreamOnly && !get("zhipu").ThinkingStreamOnly},
		{"vllm top_k", get("vllm").TopK},
		{"openai stop ≤ 4", get("openai").MaxStop == 4},
		{"zhipu 1113 is billing", get("zhipu").ErrorCodes["1113"] == apierr.Billing},
		{"zhipu 1312 is overloaded", get("zhipu").ErrorCodes["1312"] == apierr.Overloaded},
		{"moonshot quota is billing", get("moonshot").ErrorCodes["exceeded_current_quota_error"] == apierr.Billing},
		{"dashscope arrearage is billing", get("dashscope").ErrorCodes["Arrearage"] == apierr.Billing},
		{"local servers need no key", !get("vllm").KeyRequired && !get("ollama").KeyRequired && !get("generic").KeyRequired},
		{"generic has no base URL", get("generic").DefaultBaseURL == ""},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("quirk: %s", c.name)
		}
	}
	// Lookup hands out copies: changing one does not change the next.
	p := get("zhipu")
	p.ErrorCodes["1113"] = apierr.Internal
	p.StripSchemaKeys[0] = "x"
	if q := get("zhipu"); q.ErrorCodes["1113"] != apierr.Billing || q.StripSchemaKeys[0] != "$schema" {
		t.Error("Lookup shares its table")
	}
}

func TestErrorKinds(t *testing.T) {
	for k, want := range map[apierr.Kind]string{
		apierr.InvalidRequest:  "400 invalid_request_error",
		apierr.ContextLength:   "400 invalid_request_error",
		apierr.Authentication:  "401 authentication_error",
		apierr.Billing:         "402 billing_error",
		apierr.Permission:      "403 permission_error",
		apierr.NotFound:        "404 not_found_error",
		apierr.RequestTooLarge: "413 request_too_large",
		apierr.RateLimit:       "429 rate_limit_error",
		apierr.Internal:        "500 api_error",
		apierr.BadGateway:      "502 api_error",
		apierr.Overloaded:      "529 overloaded_error",
		apierr.UpstreamTimeout: "504 timeout_error",
	} {
		if got := strconv.Itoa(k.Status()) + " " + k.Type(); got != want {
			t.Errorf("kind %d: %s, want %s", k, got, want)
		}
	}
}
