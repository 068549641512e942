// Package guard keeps personal data, secrets and unwanted words from leaving
// the network: checksum-exact detectors (Chinese resident IDs, bank cards,
// phone numbers, emails, passports, API keys), the actions taken on what they
// find (redact, pseudonymize and restore, block, log only), and a word filter
// for prompts and answers, streams included.
//
// The package is pure: no I/O except the word-file loader (words_file.go), no
// logging, no clock except the one Watch is given. Callers (server, relay)
// count matches and log; a match's value never leaves this package except
// through the restorer that puts it back into the answer for the client.
package guard

import (
	"slices"
	"strings"
)

// Category names a kind of sensitive value. The built-in ones are constants;
// a custom rule from config brings its own name.
type Category string

// Built-in categories, as named in config (guard.pii).
const (
	IDCard   Category = "id_card"
	BankCard Category = "bank_card"
	Phone    Category = "phone"
	Landline Category = "landline"
	Email    Category = "email"
	Passport Category = "passport"
	Secret   Category = "secret"
	// Words is the category of a word-list hit on input.
	Words Category = "words"
)

// Builtins lists the built-in detector categories in a fixed order.
func Builtins() []Category { return slices.Clone(builtinCategories[:]) }

// builtinCategories is Builtins, the order also giving each category's bit in a
// Detector (bitOf).
var builtinCategories = [...]Category{IDCard, BankCard, Phone, Landline, Email, Passport, Secret}

// Label is the category as it appears in replacements: ID_CARD, PHONE.
func (c Category) Label() string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return '_'
		}
		return r
	}, string(c)))
}

// Action is what is done with a match.
type Action string

// Actions, as named in config.
const (
	ActionOff          Action = "off"          // not detected at all
	ActionLogOnly      Action = "log_only"     // counted, the text is left alone
	ActionRedact       Action = "redact"       // replaced by [REDACTED:LABEL]
	ActionPseudonymize Action = "pseudonymize" // replaced by <LABEL_n>, restored in the answer
	ActionBlock        Action = "block"        // the request is refused, naming the category
)

// Match is one detected value: text[Start:End] in the text scanned.
type Match struct {
	Start, End int
	Category   Category
}
