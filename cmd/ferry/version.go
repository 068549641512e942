package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Stamped at build time by scripts/release.sh:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=<sha> -X main.date=<RFC 3339>"
//
// They are only ever written by the linker.
var version, commit, date string

// buildStamp is what `ferry version` reports.
type buildStamp struct {
	Version  string
	Commit   string
	Date     string
	Modified bool // built from a work tree with uncommitted changes
}

// stampOf combines the linker-stamped values with the module and VCS
// information the go command records (go build inside a git checkout), so a
// plain `go build` still says which commit it is. The linker values win.
func stampOf(ldVersion, ldCommit, ldDate string, bi *debug.BuildInfo) buildStamp {
	s := buildStamp{Version: ldVersion, Commit: ldCommit, Date: ldDate}
	if bi != nil {
		if s.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			s.Version = bi.Main.Version
		}
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				if s.Commit == "" {
					s.Commit = kv.Value
				}
			case "vcs.time":
				if s.Date == "" {
					s.Date = kv.Value
				}
			case "vcs.modified":
				s.Modified = ldCommit == "" && kv.Value == "true"
			}
		}
	}
	if s.Version == "" {
		s.Version = "devel"
	}
	return s
}

// String is one line: "v1.2.3 commit 0123456789ab built 2026-12-06T05:00:00Z".
func (s buildStamp) String() string {
	var b strings.Builder
	b.WriteString(s.Version)
	if s.Commit != "" {
		c := s.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		b.WriteString(" commit " + c)
		if s.Modified {
			b.WriteString("-dirty")
		}
	}
	if s.Date != "" {
		b.WriteString(" built " + s.Date)
	}
	return b.String()
}

func versionString() string {
	bi, _ := debug.ReadBuildInfo()
	return stampOf(version, commit, date, bi).String()
}

func versionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Example: `  ferry version
  # ferry v1.4.0 commit 3f2a9c1d0b7e built 2026-12-01T10:00:00Z`,
		Args: cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(stdout, "ferry", versionString())
		},
	}
}
