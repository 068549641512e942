package check

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints results as an aligned table, then one line per failure
// with its likely cause.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tPROVIDER\tNODE\tROUTE\tMODEL\tTIME\tVERDICT")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Step, r.Provider, dash(r.Node), dash(r.Route), dash(r.Model), timing(r), verdict(r))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	var b strings.Builder
	for _, r := range rs {
		switch {
		case r.Skipped:
			fmt.Fprintf(&b, "\n%s %s %s: skipped: %s", r.Step, r.Provider, r.Route, r.Detail)
		case !r.OK:
			fmt.Fprintf(&b, "\n%s %s %s: %s\n    seen: %s", r.Step, r.Provider, r.Node, r.Cause, r.Detail)
		}
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func verdict(r Result) string {
	switch {
	case r.Skipped:
		return "skip"
	case r.OK:
		return "ok"
	}
	return "FAIL"
}

func timing(r Result) string {
	if r.Skipped {
		return "-"
	}
	return fmt.Sprintf("%.1fms", r.Millis)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
