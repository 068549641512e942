package guard

import (
	"github.com/ferrygw/ferry/internal/config"
)

// FromConfig builds the Guard for a resolved config section (the caller
// applies route, key or tag overrides first with config.Guard.Override).
// words is the list loaded from the section's files (LoadWordFiles), nil
// when it has none; the caller keeps the WordFiles watching and rebuilds
// the Guard when the list changes.
func FromConfig(c config.Guard, words *WordList) (*Guard, error) {
	p := Policy{
		Actions:     make(map[Category]Action, len(c.PII)),
		Words:       words,
		WordsInput:  WordAction(c.Words.Input),
		WordsOutput: WordAction(c.Words.Output),
	}
	for k, a := range c.PII {
		p.Actions[Category(k)] = Action(a)
	}
	for _, cu := range c.Custom {
		p.Custom = append(p.Custom, CustomRule{Name: Category(cu.Name), Pattern: cu.Pattern, Words: cu.Words})
	}
	return New(p)
}
