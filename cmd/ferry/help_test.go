package main

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasExamples walks the command tree: --help on every
// command shows examples.
func TestEveryCommandHasExamples(t *testing.T) {
	root := newRoot(io.Discard, io.Discard, func(string) (string, bool) { return "", false })
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		t.Run(c.CommandPath(), func(t *testing.T) {
			if strings.TrimSpace(c.Example) == "" {
				t.Errorf("%q has no Example", c.CommandPath())
			}
			if !strings.Contains(c.Example, "ferry ") {
				t.Errorf("%q's examples run no ferry command: %q", c.CommandPath(), c.Example)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	stdout, _, err := run(t, nil, "config", "validate", "--help")
	if err != nil || !strings.Contains(stdout, "Examples:") {
		t.Errorf("config validate --help: err %v, output lacks Examples:\n%s", err, stdout)
	}
}
