package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestApplyDefaults(t *testing.T) {
	c := Config{
		Providers: []Provider{
			{Name: "a", Type: TypeAnthropic},
			{Name: "b", Type: TypeAnthropic, BaseURLs: []string{"https://relay.example.com"}, Auth: AuthBearer, Timeouts: Timeouts{Connect: time.Second}},
			{Name: "s", Type: TypeSimulator},
		},
	}
	c.ApplyDefaults()
	def := DefaultTimeouts()
	want := Config{
		Listen: "127.0.0.1:8080",
		Admin:  Admin{Listen: "127.0.0.1:8081"},
		Providers: []Provider{
			{Name: "a", Type: TypeAnthropic, BaseURLs: []string{"https://api.anthropic.com"}, Auth: AuthXAPIKey, Timeouts: def},
			{Name: "b", Type: TypeAnthropic, BaseURLs: []string{"https://relay.example.com"}, Auth: AuthBearer, Timeouts: Timeouts{
				Connect:        time.Second,
				TLSHandshake:   10 * time.Second,
				ResponseHeader: 10 * time.Minute,
				StreamIdle:     5 * time.Minute,
				NodeDown:       10 * time.Second,
				Total:          10 * time.Minute,
			}},
			{Name: "s", Type: TypeSimulator, Timeouts: def}, // no base URL or auth for a simulator
		},
		Limits:          Limits{MaxRequestBytes: 32 << 20, BodyTimeout: 30 * time.Second},
		Log:             Log{Level: "info", Format: "json"},
		ShutdownTimeout: 30 * time.Second,
		DataDir:         DefaultDataDir,
		KeysRefresh:     DefaultKeysRefresh,
	}
	withFeatureDefaults(&want)
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("ApplyDefaults (-want +got):\n%s", diff)
	}

	t.Run("idempotent", func(t *testing.T) {
		again := c
		again.ApplyDefaults()
		if diff := cmp.Diff(c, again); diff != "" {
			t.Errorf("second ApplyDefaults changed (-first +second):\n%s", diff)
		}
	})
	t.Run("admin off is kept", func(t *testing.T) {
		c := Config{Admin: Admin{Listen: AdminOff}}
		c.ApplyDefaults()
		if c.Admin.Listen != "off" || c.Admin.Enabled() {
			t.Errorf("admin.listen = %q, Enabled() = %v", c.Admin.Listen, c.Admin.Enabled())
		}
	})
}

func TestDefaults(t *testing.T) {
	models := []string{"claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5"}
	base := func(p Provider) *Config {
		c := &Config{
			Providers: []Provider{p},
			Routes:    []Route{{Match: "*", Models: models, Targets: []Target{{Provider: p.Name}}}},
		}
		c.ApplyDefaults()
		return c
	}
	tests := []struct {
		name       string
		env        map[string]string
		want       *Config
		wantNotice string
	}{
		{
			name: "ANTHROPIC_API_KEY set",
			// ANTHROPIC_BASE_URL points clients at Ferry: Ferry must not use it.
			env:        map[string]string{"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": "http://127.0.0.1:8080"},
			want:       base(Provider{Name: "anthropic", Type: TypeAnthropic, BaseURLs: []string{"https://api.anthropic.com"}, APIKey: "sk-ant-test"}),
			wantNotice: "no config file: embedded defaults with ANTHROPIC_API_KEY; every model not claimed by another vendor goes to Anthropic",
		},
		{
			name: "Anthropic and two vendors",
			env:  map[string]string{"ANTHROPIC_API_KEY": "sk-ant-test", "DEEPSEEK_API_KEY": "sk-ds", "ZHIPUAI_API_KEY": "zp.key"},
			want: func() *Config {
				c := &Config{
					Providers: []Provider{
						{Name: "anthropic", Type: TypeAnthropic, BaseURLs: []string{"https://api.anthropic.com"}, APIKey: "sk-ant-test"},
						{Name: "zhipu", Type: TypeOpenAI, Profile: "zhipu", APIKey: "zp.key"},
						{Name: "deepseek", Type: TypeOpenAI, Profile: "deepseek", APIKey: "sk-ds"},
					},
					Routes: []Route{
						{Match: "glm-*", Targets: []Target{{Provider: "zhipu"}}},
						{Match: "deepseek-*", Targets: []Target{{Provider: "deepseek"}}},
						{Match: "*", Models: models, Targets: []Target{{Provider: "anthropic"}}},
					},
				}
				c.ApplyDefaults()
				return c
			}(),
			wantNotice: "no config file: embedded defaults with ANTHROPIC_API_KEY, ZHIPUAI_API_KEY, DEEPSEEK_API_KEY; every model not claimed by another vendor goes to Anthropic",
		},
		{
			name: "one vendor only takes the catch-all too",
			env:  map[string]string{"MOONSHOT_API_KEY": "sk-moon"},
			want: func() *Config {
				c := &Config{
					Providers: []Provider{{Name: "moonshot", Type: TypeOpenAI, Profile: "moonshot", APIKey: "sk-moon"}},
					Routes: []Route{
						{Match: "kimi-*", Targets: []Target{{Provider: "moonshot"}}},
						{Match: "moonshot-*", Targets: []Target{{Provider: "moonshot"}}},
						{Match: "claude-opus*", Targets: []Target{{Provider: "moonshot", Model: "kimi-k3"}}},
						{Match: "claude-3-opus*", Targets: []Target{{Provider: "moonshot", Model: "kimi-k3"}}},
						{Match: "claude-haiku*", Targets: []Target{{Provider: "moonshot", Model: "kimi-k2.6"}}},
						{Match: "claude-3-haiku*", Targets: []Target{{Provider: "moonshot", Model: "kimi-k2.6"}}},
						{Match: "claude-3-5-haiku*", Targets: []Target{{Provider: "moonshot", Model: "kimi-k2.6"}}},
						{Match: "claude-*", Targets: []Target{{Provider: "moonshot", Model: "kimi-k2.6"}}},
						{Match: "*", Models: models, Targets: []Target{{Provider: "moonshot"}}},
					},
				}
				c.ApplyDefaults()
				return c
			}(),
			wantNotice: "no config file: embedded defaults with MOONSHOT_API_KEY; models without a vendor prefix go to moonshot, Claude model names mapped: claude-opus-* -> kimi-k3, claude-sonnet-* -> kimi-k2.6, claude-haiku-* -> kimi-k2.6",
		},
		{
			name:       "no credential",
			env:        map[string]string{"ANTHROPIC_BASE_URL": "http://127.0.0.1:8080"},
			want:       base(Provider{Name: "simulator", Type: TypeSimulator}),
			wantNotice: "no config file and no upstream credential in the environment: every model is answered by the built-in simulator",
		},
		{
			name:       "ANTHROPIC_API_KEY empty",
			env:        map[string]string{"ANTHROPIC_API_KEY": ""},
			want:       base(Provider{Name: "simulator", Type: TypeSimulator}),
			wantNotice: "no config file and no upstream credential in the environment: every model is answered by the built-in simulator",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, notice := Defaults(envOf(tt.env))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if notice != tt.wantNotice {
				t.Errorf("notice = %q, want %q", notice, tt.wantNotice)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if got.Providers[0].Type == TypeAnthropic && got.Providers[0].APIKey.Reveal() != tt.env["ANTHROPIC_API_KEY"] {
				t.Error("api_key is not ANTHROPIC_API_KEY")
			}
		})
	}
	t.Run("fresh each call", func(t *testing.T) {
		a, _ := Defaults(noEnv)
		a.Routes[0].Models[0] = "changed"
		b, _ := Defaults(noEnv)
		if b.Routes[0].Models[0] != "claude-opus-4-5" {
			t.Error("Defaults shares state between calls")
		}
	})
}
