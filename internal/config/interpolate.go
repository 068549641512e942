package config

import (
	"errors"
	"strings"
)

// expand replaces ${VAR} and ${VAR:-default} in s with values from env, and
// $${ with a literal ${. A $ not followed by { (or by ${) is kept as is.
//
// Like the shell's ${VAR:-default}, the default applies when VAR is unset or
// empty. Each variable without a default that is unset or empty is returned
// in blanks, so that Parse can report an unset one and validation can say
// why a required value is empty instead of just that it is.
//
// Errors never quote s: the value may be a secret.
func expand(s string, env func(string) (string, bool)) (out string, blanks []blankVar, err error) {
	if !strings.Contains(s, "${") {
		return s, nil, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), blanks, nil
		}
		if i > 0 && s[i-1] == '$' { // $${ is an escaped, literal ${
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return "", nil, errors.New("unterminated ${: close it with }, or write $${ for a literal ${")
		}
		name, def, hasDef := strings.Cut(rest[:end], ":-")
		s = rest[end+1:]
		if !isEnvName(name) {
			return "", nil, errors.New("${...} must hold a variable name (letters, digits and _, not starting with a digit), optionally followed by :-default; write $${ for a literal ${")
		}
		if hasDef && strings.Contains(def, "${") {
			return "", nil, errors.New("${" + name + ":-...}: a default cannot contain another ${")
		}
		val, ok := env(name)
		switch {
		case hasDef && val == "":
			val = def
		case val == "":
			blanks = append(blanks, blankVar{name, ok})
		}
		b.WriteString(val)
	}
}

// blankVar is a variable without a default that expanded to nothing.
type blankVar struct {
	Name string
	Set  bool // set but empty, rather than unset
}

func (b blankVar) String() string {
	if b.Set {
		return "${" + b.Name + "} is empty"
	}
	return "${" + b.Name + "} is not set"
}

// describeBlanks says why a value is empty: "${A} is not set, ${B} is empty".
func describeBlanks(blanks []blankVar) string {
	parts := make([]string, len(blanks))
	for i, b := range blanks {
		parts[i] = b.String()
	}
	return strings.Join(parts, ", ")
}

// isEnvName reports whether s is a portable environment variable name.
func isEnvName(s string) bool {
	if s == "" || ('0' <= s[0] && s[0] <= '9') {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
