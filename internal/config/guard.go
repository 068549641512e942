package config

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"time"
)

// Guard is the guardrails section: what is done with personal data and
// secrets found in requests, and the word lists filtered on input and
// output (internal/guard implements it; docs/config.md "guard"). The same
// section on a route overrides the top-level one, category by category.
type Guard struct {
	PII       map[string]string `yaml:"pii"`       // category -> off | log_only | redact | pseudonymize | block
	Custom    []GuardCustom     `yaml:"custom"`    // categories of your own, named in pii
	Words     GuardWords        `yaml:"words"`     // sensitive-word lists
	Overrides []GuardOverride   `yaml:"overrides"` // per gateway key or traffic tag (top level only)
}

// GuardOverride changes the guard for the requests of one gateway key or
// one traffic tag (the value of rate_limits.tag_header). It applies after
// the route's section, key before tag.
type GuardOverride struct {
	Key   string            `yaml:"key"` // a keys[].name; or
	Tag   string            `yaml:"tag"` // a traffic tag
	PII   map[string]string `yaml:"pii"`
	Words GuardWords        `yaml:"words"`
}

// GuardCustom is a category defined by a regular expression (RE2) or a
// word list.
type GuardCustom struct {
	Name    string   `yaml:"name"`
	Pattern string   `yaml:"pattern"`
	Words   []string `yaml:"words"`
}

// GuardWords configures the sensitive-word filter.
type GuardWords struct {
	Files  []string      `yaml:"files"`  // one word a line; # comments
	Input  string        `yaml:"input"`  // block (default) | mask
	Output string        `yaml:"output"` // mask (default) | refuse
	Reload time.Duration `yaml:"reload"` // how often the files are checked for changes, default 10s
}

// GuardBuiltins lists the built-in guard categories. internal/guard
// defines the same names (a test there holds them equal); config stays
// below it in the layering.
func GuardBuiltins() []string {
	return []string{"id_card", "bank_card", "phone", "landline", "email", "passport", "secret"}
}

func guardAction(a string) bool {
	switch a {
	case "off", "log_only", "redact", "pseudonymize", "block":
		return true
	}
	return false
}

// DefaultGuardReload is how often word files are checked by default.
const DefaultGuardReload = 10 * time.Second

// guardDefaults fills the word filter's defaults when it has files. With no
// pii entries and no word files the guard is off: detection is opt-in, as
// rewriting what users send is a decision each deployment makes.
func (g *Guard) guardDefaults() {
	if len(g.Words.Files) == 0 {
		return
	}
	setDefault(&g.Words.Input, "block")
	setDefault(&g.Words.Output, "mask")
	setDefault(&g.Words.Reload, DefaultGuardReload)
}

// Override returns g with over applied: over's pii entries replace g's
// category by category, its custom categories are added (replacing ones
// of the same name), and its word files, when it has any, replace g's. An
// empty over changes nothing.
func (g Guard) Override(over *Guard) Guard {
	if over == nil || len(over.PII) == 0 && len(over.Custom) == 0 && len(over.Words.Files) == 0 {
		return g
	}
	out := Guard{PII: map[string]string{}, Words: g.Words}
	for k, v := range g.PII {
		out.PII[k] = v
	}
	for k, v := range over.PII {
		out.PII[k] = v
	}
	out.Custom = slices.Clone(g.Custom)
	for _, c := range over.Custom {
		if i := slices.IndexFunc(out.Custom, func(o GuardCustom) bool { return o.Name == c.Name }); i >= 0 {
			out.Custom[i] = c
		} else {
			out.Custom = append(out.Custom, c)
		}
	}
	if len(over.Words.Files) > 0 {
		out.Words = over.Words
	}
	return out
}

// Resolve returns the guard in force for a request on route r (nil for
// none) with gateway key name key and traffic tag tag (either may be
// empty): the top-level section, then the route's, the key's and the tag's
// overrides.
func (g Guard) Resolve(r *Route, key, tag string) Guard {
	out := g
	if r != nil {
		out = out.Override(&r.Guard)
	}
	for _, match := range []func(GuardOverride) bool{
		func(o GuardOverride) bool { return key != "" && o.Key == key },
		func(o GuardOverride) bool { return tag != "" && o.Tag == tag },
	} {
		for _, o := range g.Overrides {
			if match(o) {
				out = out.Override(&Guard{PII: o.PII, Words: o.Words})
			}
		}
	}
	out.Overrides = nil
	return out
}

func (v *validator) guard(c *Config) {
	v.guardSection("guard", &c.Guard, nil)
	for i, r := range c.Routes {
		p := fmt.Sprintf("routes[%d].guard", i)
		v.guardSection(p, &r.Guard, c.Guard.Custom)
		if len(r.Guard.Overrides) > 0 {
			v.add(p+".overrides", "is only allowed in the top-level guard section")
		}
	}
	for i, o := range c.Guard.Overrides {
		p := fmt.Sprintf("guard.overrides[%d]", i)
		switch {
		case (o.Key == "") == (o.Tag == ""):
			v.add(p, "needs exactly one of key or tag")
		case o.Key != "" && !slices.ContainsFunc(c.Keys, func(k Key) bool { return k.Name == o.Key }):
			v.addf(p+".key", "%q is not the name of a gateway key", o.Key)
		case o.Tag != "" && c.RateLimits.TagHeader == "":
			v.add(p+".tag", "needs rate_limits.tag_header, which names the header carrying the tag")
		}
		v.guardSection(p, &Guard{PII: o.PII, Words: o.Words}, c.Guard.Custom)
	}
}

// guardSection checks one guard section; inherited are the custom
// categories a route's section may name without defining.
func (v *validator) guardSection(path string, g *Guard, inherited []GuardCustom) {
	defined := map[string]bool{}
	for _, c := range inherited {
		defined[c.Name] = true
	}
	for i, c := range g.Custom {
		p := fmt.Sprintf("%s.custom[%d]", path, i)
		switch {
		case c.Name == "":
			v.add(p+".name", "is required")
		case slices.Contains(GuardBuiltins(), c.Name):
			v.addf(p+".name", "%q is a built-in category: choose another name", c.Name)
		case defined[c.Name] && !slices.ContainsFunc(inherited, func(o GuardCustom) bool { return o.Name == c.Name }):
			v.addf(p+".name", "%q is defined twice", c.Name)
		}
		defined[c.Name] = true
		switch {
		case c.Pattern == "" && len(c.Words) == 0:
			v.add(p, "needs a pattern or words")
		case c.Pattern != "" && len(c.Words) > 0:
			v.add(p, "has both a pattern and words: use one")
		case c.Pattern != "":
			if _, err := regexp.Compile(c.Pattern); err != nil {
				v.addf(p+".pattern", "is not a valid regular expression: %v", err)
			}
		}
	}
	keys := make([]string, 0, len(g.PII))
	for k := range g.PII {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := path + ".pii[" + strconv.Quote(k) + "]"
		if !slices.Contains(GuardBuiltins(), k) && !defined[k] {
			v.addf(p, "is not a category: use one of %v or define it under %s.custom", GuardBuiltins(), path)
		}
		if a := g.PII[k]; !guardAction(a) {
			v.addf(p, "%q is unknown: use off, log_only, redact, pseudonymize or block", a)
		}
	}
	w := g.Words
	if len(w.Files) == 0 && (w.Input != "" || w.Output != "") {
		v.add(path+".words.files", "is required when words.input or words.output is set")
	}
	if w.Input != "" && w.Input != "block" && w.Input != "mask" {
		v.addf(path+".words.input", "%q is unknown: use block or mask", w.Input)
	}
	if w.Output != "" && w.Output != "mask" && w.Output != "refuse" {
		v.addf(path+".words.output", "%q is unknown: use mask or refuse", w.Output)
	}
	v.nonNegative(path+".words.reload", w.Reload)
}
