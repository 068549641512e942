package guard

import (
	"fmt"
	"strings"
)

// WordAction is what is done with a listed word.
type WordAction string

// Word actions, as named in config (guard.words.input, guard.words.output).
const (
	WordsBlock  WordAction = "block"  // input: refuse the request
	WordsMask   WordAction = "mask"   // input or output: replace each character with *
	WordsRefuse WordAction = "refuse" // output: end the answer with stop_reason "refusal"
)

// Policy is the guard configuration in force for one request: the action
// per category and the word list with its input and output actions. The
// caller resolves overrides (route, key, traffic tag) before building it.
type Policy struct {
	Actions     map[Category]Action // built-in and custom categories; absent means off
	Custom      []CustomRule
	Words       *WordList // nil for none
	WordsInput  WordAction
	WordsOutput WordAction
}

// Guard applies a Policy. It is immutable and safe for concurrent use;
// build one per distinct policy and keep it.
type Guard struct {
	det         *Detector
	actions     map[Category]Action
	words       *WordList
	wordsInput  WordAction
	wordsOutput WordAction
}

// New builds a Guard, checking the policy.
func New(p Policy) (*Guard, error) {
	var builtins []Category
	custom := map[Category]bool{}
	for _, r := range p.Custom {
		custom[r.Name] = true
	}
	for c, a := range p.Actions {
		switch a {
		case ActionOff, ActionLogOnly, ActionRedact, ActionPseudonymize, ActionBlock:
		default:
			return nil, fmt.Errorf("guard: category %q: unknown action %q", c, a)
		}
		if !IsBuiltin(c) && !custom[c] {
			return nil, fmt.Errorf("guard: category %q is neither built in nor defined", c)
		}
		if IsBuiltin(c) && a != ActionOff {
			builtins = append(builtins, c)
		}
	}
	det, err := NewDetector(builtins, p.Custom)
	if err != nil {
		return nil, err
	}
	g := &Guard{det: det, actions: p.Actions, words: p.Words, wordsInput: p.WordsInput, wordsOutput: p.WordsOutput}
	if g.words != nil {
		if g.wordsInput, err = wordAction("input", p.WordsInput, WordsBlock, WordsMask); err != nil {
			return nil, err
		}
		if g.wordsOutput, err = wordAction("output", p.WordsOutput, WordsMask, WordsRefuse); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// wordAction checks the word action a of one direction: empty means def,
// and def and other are the ones allowed.
func wordAction(dir string, a, def, other WordAction) (WordAction, error) {
	switch a {
	case "":
		return def, nil
	case def, other:
		return a, nil
	}
	return "", fmt.Errorf("guard: words %s action %q: use %s or %s", dir, a, def, other)
}

// Active reports whether g can change or refuse anything; an inactive
// guard lets a request through untouched without looking at it.
func (g *Guard) Active() bool { return g != nil && (!g.det.Empty() || g.words != nil) }

// MayRefuse reports whether g can end an answer with stop_reason
// "refusal" (a word list whose output action is refuse).
func (g *Guard) MayRefuse() bool {
	return g != nil && g.words != nil && g.wordsOutput == WordsRefuse
}

// BlockedError is returned for a request refused by a block action. It
// names the category, never the value; the server renders it as a 400
// invalid_request_error with x-should-retry: false.
type BlockedError struct{ Category Category }

func (e *BlockedError) Error() string {
	if e.Category == Words {
		return "request blocked by the gateway's guard: it contains a word on the gateway's list"
	}
	return "request blocked by the gateway's guard: it contains " + strings.ReplaceAll(string(e.Category), "_", " ") + " data (category " + string(e.Category) + ")"
}

// Tally counts matches per category and action, for
// ferry_guard_matches_total{category,action}.
type Tally map[TallyKey]int

// TallyKey is one label pair of the matches counter.
type TallyKey struct {
	Category Category
	Action   string
}

func (t Tally) add(c Category, a string) { t[TallyKey{c, a}]++ }

// action returns the action for category c.
func (g *Guard) action(c Category) Action {
	if a, ok := g.actions[c]; ok {
		return a
	}
	return ActionOff
}

// text applies the policy to one piece of text. It returns the new text
// and whether it changed, or a *BlockedError.
func (g *Guard) text(s string, ps *Pseudonyms, t Tally) (string, bool, error) {
	ms := g.det.Scan(s, nil)
	if g.words != nil {
		base := len(ms)
		ms = g.words.Find(s, ms)
		if len(ms) > base && len(ms) > 1 {
			ms = dropOverlaps(ms, 0)
		}
	}
	if len(ms) == 0 {
		return s, false, nil
	}
	var b strings.Builder
	b.Grow(len(s) + 32*len(ms))
	changed := false
	last := 0
	for _, m := range ms {
		if m.Category == Words {
			t.add(Words, string(g.wordsInput))
			if g.wordsInput == WordsBlock {
				return "", false, &BlockedError{Category: Words}
			}
			b.WriteString(s[last:m.Start])
			b.WriteString(maskSpans(s[m.Start:m.End], []Match{{Start: 0, End: m.End - m.Start}}))
			last, changed = m.End, true
			continue
		}
		a := g.action(m.Category)
		t.add(m.Category, string(a))
		switch a {
		case ActionBlock:
			return "", false, &BlockedError{Category: m.Category}
		case ActionRedact:
			b.WriteString(s[last:m.Start])
			b.WriteString("[REDACTED:" + m.Category.Label() + "]")
			last, changed = m.End, true
		case ActionPseudonymize:
			b.WriteString(s[last:m.Start])
			b.WriteString(ps.placeholder(m.Category, s[m.Start:m.End]))
			last, changed = m.End, true
		}
	}
	if !changed {
		return s, false, nil
	}
	b.WriteString(s[last:])
	return b.String(), true, nil
}
