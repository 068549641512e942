package config

import (
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration, located as precisely as
// is known.
//
// Msg continues the sentence that Path begins: a predicate follows the path
// after a space (`routes[0].targets[1].provider "glmm" is not defined`), and a
// remark starting with ": " follows it directly
// (`providers[1].base_url: unknown field (did you mean base_urls?)`).
type Problem struct {
	File string // the file's name as given to Parse or Load; empty for a Config built in code
	Line int    // 1-based; 0 when unknown
	Path string // where in the tree, e.g. routes[0].targets[1].provider; empty for the whole file
	Msg  string
}

// Error formats the problem as `file:line: path msg`, leaving out the parts
// that are unknown.
func (p Problem) Error() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0:
		b.WriteString(p.File + ":" + strconv.Itoa(p.Line) + ": ")
	case p.File != "":
		b.WriteString(p.File + ": ")
	case p.Line > 0:
		b.WriteString("line " + strconv.Itoa(p.Line) + ": ")
	}
	msg := p.Msg
	if p.Path == "" {
		msg = strings.TrimPrefix(msg, ": ")
	} else {
		b.WriteString(p.Path)
		if msg != "" && !strings.HasPrefix(msg, ":") {
			b.WriteByte(' ')
		}
	}
	b.WriteString(msg)
	return b.String()
}

// Problems is every problem found in a configuration. Parse, Load and
// Validate return it as their error, so a caller can errors.As it and print
// each problem on a line of its own.
type Problems []Problem

// Error lists the problems, one a line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// err returns ps as an error, or nil when there are none: a nil Problems in
// an error interface would not compare equal to nil.
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}
