package guard

import (
	"fmt"
	"regexp"
	"slices"
)

// CustomRule is a category defined in config: a regular expression (RE2
// syntax) or a word list, matched case- and width-insensitively.
type CustomRule struct {
	Name    Category
	Pattern string
	Words   []string
}

// Detector finds sensitive values in text. It is immutable and safe for
// concurrent use.
type Detector struct {
	enabled uint32 // bit per built-in category
	custom  []customRule
}

type customRule struct {
	name  Category
	re    *regexp.Regexp
	words *WordList
}

// bitOf returns the bit of a built-in category, 1<<(its index in
// builtinCategories), and 0 for any other.
func bitOf(c Category) uint32 {
	for i := range builtinCategories {
		if c == builtinCategories[i] {
			return 1 << i
		}
	}
	return 0
}

// The bits of the built-in categories, in builtinCategories' order, for
// the scanners to test without looking a category up.
const (
	idCardBit uint32 = 1 << iota
	bankCardBit
	phoneBit
	landlineBit
	emailBit
	passportBit
	secretBit
)

// numberBits are the bits of the categories found in digit runs.
const numberBits = idCardBit | bankCardBit | phoneBit | landlineBit

// IsBuiltin reports whether c is a built-in detector category.
func IsBuiltin(c Category) bool { return bitOf(c) != 0 }

// NewDetector builds a detector for the built-in categories given and the
// custom rules. It fails on a bad pattern, an empty rule or a custom rule
// named like a built-in one.
func NewDetector(builtins []Category, custom []CustomRule) (*Detector, error) {
	d := &Detector{}
	for _, c := range builtins {
		bit := bitOf(c)
		if bit == 0 {
			return nil, fmt.Errorf("guard: %q is not a built-in category", c)
		}
		d.enabled |= bit
	}
	for _, r := range custom {
		if IsBuiltin(r.Name) || r.Name == "" {
			return nil, fmt.Errorf("guard: custom rule name %q is empty or taken by a built-in category", r.Name)
		}
		cr := customRule{name: r.Name}
		switch {
		case r.Pattern != "" && len(r.Words) > 0:
			return nil, fmt.Errorf("guard: custom rule %q has both a pattern and words", r.Name)
		case r.Pattern != "":
			re, err := regexp.Compile(r.Pattern)
			if err != nil {
				return nil, fmt.Errorf("guard: custom rule %q: %w", r.Name, err)
			}
			cr.re = re
		case len(r.Words) > 0:
			wl, err := NewWordList(r.Words)
			if err != nil {
				return nil, fmt.Errorf("guard: custom rule %q: %w", r.Name, err)
			}
			cr.words = wl
		default:
			return nil, fmt.Errorf("guard: custom rule %q has neither a pattern nor words", r.Name)
		}
		d.custom = append(d.custom, cr)
	}
	return d, nil
}

// on reports whether the built-in category c is detected; has does for
// its bit, without the lookup.
func (d *Detector) on(c Category) bool  { return d.has(bitOf(c)) }
func (d *Detector) has(bit uint32) bool { return d.enabled&bit != 0 }

// Empty reports whether d detects nothing.
func (d *Detector) Empty() bool { return d == nil || d.enabled == 0 && len(d.custom) == 0 }

// start classes of bytes that may begin a value.
const (
	clsNone byte = iota
	clsDigit
	clsFullWidth
	clsParen
	clsAt
	clsSecret   // a letter or dash that begins a secret prefix
	clsPassport // E or G
	clsUpper    // another upper-case letter: a residence permit may begin with it
)

var startClass = func() (t [256]byte) {
	for c := '0'; c <= '9'; c++ {
		t[c] = clsDigit
	}
	t[0xEF] = clsFullWidth
	t['('] = clsParen
	t['@'] = clsAt
	for _, c := range "sALgxbe-abcdef" {
		t[c] = clsSecret
	}
	for c := 'A'; c <= 'Z'; c++ {
		if t[c] == clsNone {
			t[c] = clsUpper
		}
	}
	t['E'], t['G'] = clsPassport, clsPassport
	return t
}()

// Scan appends the values found in s to dst, in order and not overlapping.
func (d *Detector) Scan(s string, dst []Match) []Match {
	if d.Empty() {
		return dst
	}
	base := len(dst)
	if d.enabled != 0 {
		dst = d.scanBuiltins(s, dst)
	}
	for _, r := range d.custom {
		dst = r.find(s, dst)
	}
	if len(d.custom) > 0 && len(dst)-base > 1 {
		dst = dropOverlaps(dst, base)
	}
	return dst
}

func (r *customRule) find(s string, dst []Match) []Match {
	if r.words != nil {
		return r.words.find(s, r.name, dst)
	}
	for _, loc := range r.re.FindAllStringIndex(s, -1) {
		if loc[1] > loc[0] {
			dst = append(dst, Match{Start: loc[0], End: loc[1], Category: r.name})
		}
	}
	return dst
}

// dropOverlaps sorts dst[base:] by start and keeps the first of any
// overlapping matches (built-ins come first, so they win ties).
func dropOverlaps(dst []Match, base int) []Match {
	ms := dst[base:]
	slices.SortStableFunc(ms, func(a, b Match) int { return a.Start - b.Start })
	out := base
	for _, m := range ms {
		if out > base && m.Start < dst[out-1].End {
			continue
		}
		dst[out] = m
		out++
	}
	return dst[:out]
}

func (d *Detector) scanBuiltins(s string, dst []Match) []Match {
	numbers := d.enabled&numberBits != 0
	secrets, mails, passports, ids := d.has(secretBit), d.has(emailBit), d.has(passportBit), d.has(idCardBit)
	for i := 0; i < len(s); {
		cls := startClass[s[i]]
		if cls == clsNone {
			i++
			continue
		}
		switch cls {
		case clsDigit, clsFullWidth, clsParen:
			if cls == clsDigit && i >= 2 && s[i-1] == 'u' && s[i-2] == '\\' && i+4 <= len(s) {
				i += 4 // the hex digits of a raw JSON \uXXXX escape
				continue
			}
			if secrets && cls == clsDigit && leftBoundary(s, i) {
				if e, ok := zhipuKey(s, i); ok {
					dst = append(dst, Match{Start: i, End: e, Category: Secret})
					i = e
					continue
				}
			}
			if !numbers || cls == clsFullWidth && !fullWidthDigitAt(s, i) || cls == clsParen && (i+1 >= len(s) || s[i+1] != '0') {
				i++
				continue
			}
			var next int
			dst, next = d.scanNumber(s, i, dst)
			i = max(next, i+1)
			continue
		case clsAt:
			if mails {
				if a, e, ok := email(s, i); ok {
					for len(dst) > 0 && dst[len(dst)-1].End > a {
						dst = dst[:len(dst)-1]
					}
					dst = append(dst, Match{Start: a, End: e, Category: Email})
					i = e
					continue
				}
			}
		case clsSecret, clsPassport, clsUpper:
			if wordBefore(s, i) || i > 0 && s[i-1] == '-' && cls == clsSecret {
				break
			}
			if ids && isUpper(s[i]) {
				if e, ok := oldForeignPR(s, i); ok {
					dst = append(dst, Match{Start: i, End: e, Category: IDCard})
					i = e
					continue
				}
			}
			if secrets {
				if e, ok := secret(s, i); ok {
					dst = append(dst, Match{Start: i, End: e, Category: Secret})
					i = e
					continue
				}
			}
			if passports && cls == clsPassport {
				if e, ok := passport(s, i); ok {
					dst = append(dst, Match{Start: i, End: e, Category: Passport})
					i = e
					continue
				}
			}
		}
		i++
	}
	return dst
}

func fullWidthDigitAt(s string, i int) bool {
	_, w := digitAt(s, i)
	return w > 0
}
