package guard

import "strings"

// Emails, passports and secrets: tokens recognised from their first bytes.

func isLocalByte(c byte) bool {
	return isWordByte(c) || c == '.' || c == '%' || c == '+' || c == '-'
}

func isDomainByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '.'
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// email returns the span of the address around the "@" at at, if there is
// one: a local part of RFC 5322 atom characters and a domain with at least
// one dot and a top-level label of two or more letters.
func email(s string, at int) (int, int, bool) {
	a := at
	for a > 0 && isLocalByte(s[a-1]) {
		a--
	}
	for a < at && (s[a] == '.' || s[a] == '-' || s[a] == '+') {
		a++
	}
	if a == at || s[at-1] == '.' {
		return 0, 0, false
	}
	e := at + 1
	for e < len(s) && isDomainByte(s[e]) {
		e++
	}
	for e > at+1 && (s[e-1] == '.' || s[e-1] == '-') {
		e--
	}
	dom := s[at+1 : e]
	dot := strings.LastIndexByte(dom, '.')
	if dot <= 0 || strings.Contains(dom, "..") {
		return 0, 0, false
	}
	tld := dom[dot+1:]
	if len(tld) < 2 {
		return 0, 0, false
	}
	for i := 0; i < len(tld); i++ {
		if !isLetter(tld[i]) {
			return 0, 0, false
		}
	}
	return a, e, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// passport matches a People's Republic of China passport number at i, a
// word's start: E or G and 8 digits, or E, a letter other than I and O,
// and 7 digits (the 2012 ePassport series).
func passport(s string, i int) (int, bool) {
	if i+9 > len(s) {
		return 0, false
	}
	c, c1 := s[i], s[i+1]
	switch {
	case (c == 'E' || c == 'G') && isDigit(c1):
	case c == 'E' && c1 >= 'A' && c1 <= 'Z' && c1 != 'I' && c1 != 'O':
	default:
		return 0, false
	}
	for k := i + 2; k < i+9; k++ {
		if !isDigit(s[k]) {
			return 0, false
		}
	}
	e := i + 9
	if !rightBoundary(s, e) || e < len(s) && s[e] == '-' {
		return 0, false
	}
	return e, true
}

// secretRule is a credential format recognised by its prefix.
type secretRule struct {
	prefix string
	min    int  // the fewest token bytes after the prefix
	max    int  // the most, 0 for no limit
	upper  bool // the body is upper-case letters and digits only (AWS)
	mixed  bool // the body must hold both a letter and a digit
	plain  bool // the body is letters and digits only, no - or _
}

// secretRules lists credential prefixes, longest first where one extends
// another. Sources: each vendor's key format as shown in its console.
var secretRules = [...]secretRule{
	{prefix: "sk-ant-", min: 20},                       // Anthropic (api03, admin01)
	{prefix: "sk-proj-", min: 20},                      // OpenAI project keys
	{prefix: "sk-svcacct-", min: 20},                   // OpenAI service accounts
	{prefix: "sk-admin-", min: 20},                     // OpenAI admin keys
	{prefix: "sk-", min: 20, mixed: true, plain: true}, // OpenAI (legacy), DeepSeek, Moonshot, DashScope: not CSS classes like sk-btn-2xl
	{prefix: "AKIA", min: 16, max: 16, upper: true},    // AWS access key id
	{prefix: "ASIA", min: 16, max: 16, upper: true},    // AWS temporary
	{prefix: "AKID", min: 32, max: 40, mixed: true},    // Tencent Cloud SecretId
	{prefix: "AIza", min: 35, max: 35},                 // Google API key
	{prefix: "LTAI", min: 12, max: 30, mixed: true},    // Alibaba Cloud AccessKey ID
	{prefix: "ghp_", min: 30},                          // GitHub tokens
	{prefix: "gho_", min: 30},
	{prefix: "ghs_", min: 30},
	{prefix: "github_pat_", min: 30},
	{prefix: "xoxb-", min: 20}, // Slack
	{prefix: "xoxp-", min: 20},
	{prefix: "bce-v3/ALTAK-", min: 20}, // Baidu Qianfan
}

// secretRulesByFirst holds secretRules by their prefix's first byte, in
// the table's order.
var secretRulesByFirst = func() (by [256][]secretRule) {
	for _, r := range secretRules {
		by[r.prefix[0]] = append(by[r.prefix[0]], r)
	}
	return by
}()

func isKeyByte(c byte) bool { return isWordByte(c) || c == '-' }

// secret matches a credential beginning at i, a word's start.
func secret(s string, i int) (int, bool) {
	rest := s[i:]
	switch {
	case strings.HasPrefix(rest, "-----BEGIN "):
		return privateKey(s, i)
	case strings.HasPrefix(rest, "eyJ"):
		return jwt(s, i)
	}
	rules := secretRulesByFirst[s[i]]
	for k := range rules {
		r := &rules[k]
		if !strings.HasPrefix(rest, r.prefix) {
			continue
		}
		e := i + len(r.prefix)
		letter, digit := false, false
		for e < len(s) && (isKeyByte(s[e]) || r.prefix == "bce-v3/ALTAK-" && s[e] == '/') {
			c := s[e]
			if r.upper && !(c >= 'A' && c <= 'Z' || isDigit(c)) || r.plain && (c == '-' || c == '_') {
				break
			}
			letter = letter || isLetter(c)
			digit = digit || isDigit(c)
			e++
		}
		n := e - i - len(r.prefix)
		if n < r.min || r.max > 0 && n > r.max || r.mixed && !(letter && digit) {
			return 0, false
		}
		if e < len(s) && (isWordByte(s[e]) || r.plain && s[e] == '-') {
			return 0, false
		}
		return e, true
	}
	return zhipuKey(s, i)
}

// zhipuKey matches Zhipu's "<32 hex>.<16 letters and digits>" key format.
func zhipuKey(s string, i int) (int, bool) {
	if i+49 > len(s) || s[i+32] != '.' {
		return 0, false
	}
	for k := i; k < i+32; k++ {
		c := s[k]
		if !(isDigit(c) || c >= 'a' && c <= 'f') {
			return 0, false
		}
	}
	for k := i + 33; k < i+49; k++ {
		if !isWordByte(s[k]) || s[k] == '_' {
			return 0, false
		}
	}
	if i+49 < len(s) && isWordByte(s[i+49]) {
		return 0, false
	}
	return i + 49, true
}

// privateKey matches a PEM private key block, to its END line or, when the
// text was cut, to the end of the base64 that follows.
func privateKey(s string, i int) (int, bool) {
	head := s[i:min(len(s), i+64)]
	nl := strings.Index(head, "-----\n")
	if nl < 0 {
		nl = strings.Index(head, "-----\r")
	}
	if nl < 0 || !strings.HasSuffix(head[:nl], "PRIVATE KEY") {
		return 0, false
	}
	if end := strings.Index(s[i+nl:], "-----END "); end >= 0 {
		e := i + nl + end + len("-----END ")
		if close := strings.Index(s[e:], "-----"); close >= 0 && close < 40 {
			return e + close + 5, true
		}
	}
	e := i + nl + 5
	for e < len(s) && (isKeyByte(s[e]) || s[e] == '+' || s[e] == '/' || s[e] == '=' || s[e] == '\n' || s[e] == '\r') {
		e++
	}
	return e, true
}

func isB64URL(c byte) bool { return isWordByte(c) || c == '-' }

// jwt matches header.payload.signature where header and payload are
// base64url JSON objects (both begin eyJ, the encoding of `{"`).
func jwt(s string, i int) (int, bool) {
	e := i
	for part := 0; part < 3; part++ {
		st := e
		for e < len(s) && isB64URL(s[e]) {
			e++
		}
		if e-st < 8 {
			return 0, false
		}
		if part == 1 && !strings.HasPrefix(s[st:], "eyJ") {
			return 0, false
		}
		if part < 2 {
			if e >= len(s) || s[e] != '.' {
				return 0, false
			}
			e++
		}
	}
	return e, true
}
