package config_test

import (
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/routing"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// TestDefaultsClaudeNamesToVendor: with only a vendor's key, Claude Code's
// model names reach that vendor as its own models, never as claude-*.
func TestDefaultsClaudeNamesToVendor(t *testing.T) {
	for _, vp := range config.VendorProfiles() {
		if vp.EnvKey == "" {
			continue
		}
		t.Run(vp.Name, func(t *testing.T) {
			c, notice := config.Defaults(envOf(map[string]string{vp.EnvKey: "k"}))
			if vp.Claude.Flagship == "" || vp.Claude.Main == "" || vp.Claude.Fast == "" {
				t.Fatalf("profile %s has no Claude models: %+v", vp.Name, vp.Claude)
			}
			table, err := routing.New(c.Routes)
			if err != nil {
				t.Fatal(err)
			}
			for model, want := range map[string]string{
				"claude-opus-4-8":            vp.Claude.Flagship,
				"claude-opus-4-1-20250805":   vp.Claude.Flagship,
				"claude-3-opus-20240229":     vp.Claude.Flagship,
				"claude-sonnet-4-5-20250929": vp.Claude.Main,
				"claude-3-7-sonnet-latest":   vp.Claude.Main,
				"claude-3-5-sonnet-20241022": vp.Claude.Main,
				"claude-haiku-4-5":           vp.Claude.Fast,
				"claude-3-5-haiku-20241022":  vp.Claude.Fast,
				"claude-3-haiku-20240307":    vp.Claude.Fast,
				"claude-next":                vp.Claude.Main,
			} {
				r, ok := table.Lookup(model)
				if !ok || r.Targets[0].Provider != vp.Name || r.Targets[0].UpstreamModel(model) != want {
					t.Errorf("%s: route %+v, want %s/%s", model, r, vp.Name, want)
				}
			}
			// The vendor's own names are kept as they are.
			own := vp.ModelPrefixes[0] + "x"
			if r, _ := table.Lookup(own); r.Targets[0].UpstreamModel(own) != own {
				t.Errorf("%s became %s", own, r.Targets[0].UpstreamModel(own))
			}
			want := "claude-opus-* -> " + vp.Claude.Flagship + ", claude-sonnet-* -> " + vp.Claude.Main + ", claude-haiku-* -> " + vp.Claude.Fast
			if !strings.Contains(notice, want) {
				t.Errorf("notice %q does not say %q", notice, want)
			}
			if err := c.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
	// With Anthropic's key, claude-* names go to Anthropic as they are.
	c, _ := config.Defaults(envOf(map[string]string{"ANTHROPIC_API_KEY": "a", "ZHIPUAI_API_KEY": "z"}))
	table, _ := routing.New(c.Routes)
	if r, _ := table.Lookup("claude-opus-4-8"); r.Targets[0].Provider != "anthropic" || r.Targets[0].UpstreamModel("claude-opus-4-8") != "claude-opus-4-8" {
		t.Errorf("with ANTHROPIC_API_KEY: %+v", r)
	}
}
