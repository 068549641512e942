package openaicompat

// Vendor quirks, as data: profiles.yaml holds the table, every value with
// where it comes from.

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/openai"
)

// Profile is what the provider knows about one OpenAI-compatible vendor:
// the translator's Profile plus where the vendor lives and how to read its
// errors.
type Profile struct {
	openai.Profile

	// DefaultBaseURL is used when no base_urls are configured ("" for
	// generic); KeyRequired says whether an API key must be configured.
	// Both come from config.VendorProfiles, the one list the config also
	// validates against.
	DefaultBaseURL string
	KeyRequired    bool

	// ErrorCodes maps a vendor's error code or type (the error object's
	// "code" or "type", Baidu v1's "error_code"), compared as text, to the
	// Anthropic error it means. It is consulted before the HTTP status,
	// which vendors use loosely (VENDORS.md C19: Zhipu answers 429 for an
	// empty balance, Moonshot 429 for an exhausted quota).
	ErrorCodes map[string]apierr.Kind
	// ErrorCodeRanges map ranges of numeric business codes (Zhipu's
	// 1000-1004, 1110-1121, ...), after ErrorCodes.
	ErrorCodeRanges []CodeRange
	// ContextWindows are documented context windows, for vendors whose
	// context-length error gives no limit (Zhipu's 1261): the client's
	// error then names the model's window (context.go).
	ContextWindows []ContextWindow
}

// CodeRange maps the numeric error codes From..To (inclusive) to Kind.
type CodeRange struct {
	From, To int
	Kind     apierr.Kind
}

// Lookup returns the profile called name.
func Lookup(name string) (Profile, bool) {
	for _, p := range table() {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}

// Names lists the profiles, in the config's documentation order.
func Names() []string {
	t := table()
	names := make([]string, len(t))
	for i, p := range t {
		names[i] = p.Name
	}
	return names
}

// profilesYAML is the profile table: vendor quirks are data, each value
// with its source beside it.
//
//go:embed profiles.yaml
var profilesYAML string

// entries is profilesYAML decoded, once (a Lookup per provider built is
// then a copy, not a parse). It never leaves this file: table copies it.
var entries = sync.OnceValue(func() []entry {
	var es []entry
	dec := yaml.NewDecoder(strings.NewReader(profilesYAML))
	dec.KnownFields(true)
	if err := dec.Decode(&es); err != nil {
		// The file is compiled in: a bad one fails every test.
		panic("openaicompat: profiles.yaml: " + err.Error())
	}
	return es
})

// table builds the profiles afresh on every call, so that no caller can
// change another's (no package-level mutable state).
func table() []Profile {
	es := entries()
	ps := make([]Profile, len(es))
	for i := range es {
		ps[i] = es[i].profile()
		if vp, ok := config.VendorProfileByName(ps[i].Name); ok {
			ps[i].DefaultBaseURL, ps[i].KeyRequired = vp.DefaultBaseURL, vp.KeyRequired
		}
	}
	return ps
}

// entry is a profile as profiles.yaml writes it: error kinds by name.
type entry struct {
	openai.Profile  `yaml:",inline"`
	ErrorCodes      map[string]kindName `yaml:"error_codes"`
	ErrorCodeRanges []struct {
		From, To int
		Kind     kindName
	} `yaml:"error_code_ranges"`
	ContextWindows []ContextWindow `yaml:"context_windows"`
}

// profile is e as a Profile of its own: no slice or map is shared with e.
func (e *entry) profile() Profile {
	p := Profile{Profile: e.Profile, ContextWindows: slices.Clone(e.ContextWindows)}
	p.ReasoningFields = slices.Clone(p.ReasoningFields)
	p.StripSchemaKeys = slices.Clone(p.StripSchemaKeys)
	if e.ErrorCodes != nil {
		p.ErrorCodes = make(map[string]apierr.Kind, len(e.ErrorCodes))
		for code, k := range e.ErrorCodes {
			p.ErrorCodes[code] = apierr.Kind(k)
		}
	}
	for _, r := range e.ErrorCodeRanges {
		p.ErrorCodeRanges = append(p.ErrorCodeRanges, CodeRange{r.From, r.To, apierr.Kind(r.Kind)})
	}
	return p
}

// kindName is an apierr.Kind named as its String ("billing").
type kindName apierr.Kind

func (k *kindName) UnmarshalText(name []byte) error {
	v, ok := apierr.ParseKind(string(name))
	if !ok {
		return fmt.Errorf("unknown error kind %q", name)
	}
	*k = kindName(v)
	return nil
}

// commonErrorCode maps OpenAI's own codes, which compatible servers copy;
// a profile's ErrorCodes take precedence.
func commonErrorCode(code string) (apierr.Kind, bool) {
	switch code {
	case "insufficient_quota":
		// https://platform.openai.com/docs/guides/error-codes
		return apierr.Billing, true
	case "context_length_exceeded":
		// OpenAI's code for a prompt over the context window (seen in
		// error bodies; the error-codes guide does not list codes).
		return apierr.ContextLength, true
	}
	return 0, false
}
