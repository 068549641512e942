package guard

import "strings"

// LogRedactor redacts every built-in category from text bound for a log
// (debug body logging, error causes), whatever the request's policy: logs
// never hold a key or a detected value. Build one with NewLogRedactor and
// keep it; it is safe for concurrent use.
type LogRedactor struct{ det *Detector }

// NewLogRedactor returns a redactor for every built-in category.
func NewLogRedactor() *LogRedactor {
	d, err := NewDetector(Builtins(), nil)
	if err != nil {
		panic(err) // the built-in categories always build
	}
	return &LogRedactor{det: d}
}

// Redact returns s with every detected value replaced by [REDACTED:LABEL];
// s itself when nothing was found.
func (r *LogRedactor) Redact(s string) string {
	ms := r.det.Scan(s, nil)
	if len(ms) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, m := range ms {
		b.WriteString(s[last:m.Start])
		b.WriteString("[REDACTED:" + m.Category.Label() + "]")
		last = m.End
	}
	b.WriteString(s[last:])
	return b.String()
}
