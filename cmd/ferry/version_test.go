package main

import (
	"runtime/debug"
	"testing"
)

func TestStampOf(t *testing.T) {
	vcs := &debug.BuildInfo{
		Main: debug.Module{Version: "v0.0.0-20261206050000-abcdefabcdef+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abcdefabcdef0123456789"},
			{Key: "vcs.time", Value: "2026-12-06T05:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	tests := []struct {
		name                    string
		ldVersion, ldCommit, ld string
		bi                      *debug.BuildInfo
		want                    string
	}{
		{"nothing known", "", "", "", nil, "devel"},
		{"devel module, no vcs", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
		{"go build in a checkout", "", "", "", vcs,
			"v0.0.0-20261206050000-abcdefabcdef+dirty commit abcdefabcdef-dirty built 2026-12-06T05:00:00Z"},
		{"release stamp wins over vcs", "v1.2.3", "0011223344556677", "2026-12-01T00:00:00Z", vcs,
			"v1.2.3 commit 001122334455 built 2026-12-01T00:00:00Z"},
		{"short commit kept whole", "v1.2.3", "abc", "", nil, "v1.2.3 commit abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stampOf(tt.ldVersion, tt.ldCommit, tt.ld, tt.bi).String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
