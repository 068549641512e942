package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCacheValidation checks every cache rule through Parse, with the
// exact problem text and line.
func TestCacheValidation(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{name: "defaults are valid", src: simTail},
		{
			name: "a full valid section",
			src: `cache:
  backend: redis
  max_entry_bytes: 1048576
  coalesce: true
  dedup_window: 10s
  idempotency_ttl: 1h
redis:
  addr: 127.0.0.1:6379
providers:
  - name: sim
    type: simulator
routes:
  - match: "*"
    targets: [{provider: sim}]
    cache: {ttl: 10m}
`,
		},
		{
			name: "unknown backend",
			src:  "cache:\n  backend: disk\n" + simTail,
			want: []string{`ferry.yaml:2: cache.backend "disk" is unknown: use memory or redis`},
		},
		{
			name: "redis backend without redis",
			src:  "cache:\n  backend: redis\n" + simTail,
			want: []string{`ferry.yaml:2: cache.backend "redis" needs redis.addr`},
		},
		{
			name: "sizes and durations",
			src:  "cache:\n  max_bytes: -1\n  max_entry_bytes: -2\n  dedup_window: -1s\n  idempotency_ttl: -1h\n" + simTail,
			want: []string{
				`ferry.yaml:2: cache.max_bytes -1 must be more than 0`,
				`ferry.yaml:3: cache.max_entry_bytes -2 must be more than 0`,
				`ferry.yaml:4: cache.dedup_window must not be negative`,
				`ferry.yaml:5: cache.idempotency_ttl must be more than 0`,
			},
		},
		{
			name: "entry larger than the memory budget",
			src:  "cache:\n  max_bytes: 1000\n  max_entry_bytes: 2000\n" + simTail,
			want: []string{`ferry.yaml:3: cache.max_entry_bytes 2000 is more than cache.max_bytes (1000): no answer that large could be kept`},
		},
		{
			name: "entry larger than max_bytes is fine in redis",
			src:  "cache:\n  backend: redis\n  max_bytes: 1000\n  max_entry_bytes: 2000\nredis:\n  addr: 127.0.0.1:6379\n" + simTail,
		},
		{
			name: "route ttl",
			src: `providers:
  - name: sim
    type: simulator
routes:
  - match: "a"
    targets: [{provider: sim}]
    cache: {ttl: -1m}
  - match: "*"
    targets: [{provider: sim}]
    cache:
      ttl: 0s
`,
			want: []string{`ferry.yaml:7: routes[0].cache.ttl must not be negative`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProblems(t, tt.src, envOf(nil))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCacheValidationInCode: a Config built in code without defaults is
// valid (zero values mean the defaults); a negative value is not.
func TestCacheValidationInCode(t *testing.T) {
	c := &Config{}
	c.ApplyDefaults()
	c.Cache = Cache{}
	c.Routes = []Route{{Match: "*", Targets: []Target{{Provider: "sim"}}}}
	c.Providers = []Provider{{Name: "sim", Type: TypeSimulator}}
	if err := c.Validate(); err != nil {
		t.Fatalf("zero cache section: %v", err)
	}
	c.Cache.MaxEntryBytes = -1
	got := problemLines(t, c.Validate())
	want := []string{"cache.max_entry_bytes -1 must be more than 0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
