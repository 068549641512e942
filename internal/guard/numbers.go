package guard

// Numbers: resident IDs, bank cards, mobile and landline numbers are all
// found by one walk over a run of digits, so that "a digit run inside a
// longer number" is decided once: a run is only considered whole, bounded by
// characters that cannot continue a number or an identifier.
//
// A run is made of groups of digits (ASCII or full-width) joined by one
// space or dash, optionally with the area code in parentheses: "6222 0212
// 3456 7890", "138-1234-5678", "（010）12345678" is not supported but
// "(010)12345678" is. When the whole run is not a valid value, the longest
// valid span of whole groups is taken from each starting group, so two
// numbers separated by a space are still told apart.

const (
	maxGroups      = 24 // groups remembered per run; longer runs are cut there
	maxValueDigits = 19 // the longest value (a 19-digit card)
)

// digitAt reports whether s[i:] begins with a digit, ASCII or full-width
// (U+FF10..U+FF19), its value and its width in bytes.
func digitAt[T ~string | ~[]byte](s T, i int) (byte, int) {
	c := s[i]
	if c >= '0' && c <= '9' {
		return c, 1
	}
	if c == 0xEF && i+2 < len(s) && s[i+1] == 0xBC && s[i+2] >= 0x90 && s[i+2] <= 0x99 {
		return '0' + (s[i+2] - 0x90), 3
	}
	return 0, 0
}

// checkXAt reports whether s[i:] begins with the check character X or x,
// ASCII or full-width, and its width.
func checkXAt[T ~string | ~[]byte](s T, i int) int {
	if i >= len(s) {
		return 0
	}
	c := s[i]
	if c == 'X' || c == 'x' {
		return 1
	}
	if c == 0xEF && i+2 < len(s) && ((s[i+1] == 0xBC && s[i+2] == 0xB8) || (s[i+1] == 0xBD && s[i+2] == 0x98)) {
		return 3
	}
	return 0
}

// isWordByte reports whether c continues an identifier or number: a run
// next to one of these is part of something longer.
func isWordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// fullWidthDigitBefore reports whether s[:i] ends with a full-width digit
// or letter (U+FF10..U+FF19, U+FF21..U+FF3A, U+FF41..U+FF5A).
func fullWidthWordBefore[T ~string | ~[]byte](s T, i int) bool {
	if i < 3 || s[i-3] != 0xEF {
		return false
	}
	b1, b2 := s[i-2], s[i-1]
	return b1 == 0xBC && (b2 >= 0x90 && b2 <= 0x99 || b2 >= 0xA1 && b2 <= 0xBA) || b1 == 0xBD && b2 >= 0x81 && b2 <= 0x9A
}

func fullWidthWordAt[T ~string | ~[]byte](s T, i int) bool {
	if i+2 >= len(s) || s[i] != 0xEF {
		return false
	}
	b1, b2 := s[i+1], s[i+2]
	return b1 == 0xBC && (b2 >= 0x90 && b2 <= 0x99 || b2 >= 0xA1 && b2 <= 0xBA) || b1 == 0xBD && b2 >= 0x81 && b2 <= 0x9A
}

// group is one group of a run: its digits' span in the text and in the
// run's digit buffer.
type group struct {
	start, end int // byte span in the text
	d0, d1     int // span in the digit buffer
}

// numberRun is the scratch state of one run, kept on the stack.
type numberRun struct {
	digits [maxGroups * 4]byte // ASCII digits of the run, 'X' for a check character
	n      int
	groups [maxGroups]group
	ng     int
	paren  bool // the first group was in parentheses (a landline's area code)
}

// leftBoundary reports whether a run may begin at i: not after a letter,
// digit or underscore, nor after a decimal point or thousands separator
// that follows a digit.
func leftBoundary[T ~string | ~[]byte](s T, i int) bool {
	if i == 0 {
		return true
	}
	p := s[i-1]
	if wordBefore(s, i) || fullWidthWordBefore(s, i) {
		return false
	}
	if (p == '.' || p == ',') && i >= 2 && isWordByte(s[i-2]) {
		return false
	}
	return true
}

// wordBefore reports whether s[:i] ends with a letter, digit or underscore
// that is not the end of a JSON escape (\n, \t, \u4e2d): raw JSON in a log
// line puts "\n" right before a value, and that n does not continue it.
func wordBefore[T ~string | ~[]byte](s T, i int) bool {
	if i == 0 || !isWordByte(s[i-1]) {
		return false
	}
	if i >= 2 && s[i-2] == '\\' && isLetter(s[i-1]) {
		return false
	}
	if i >= 6 && s[i-6] == '\\' && s[i-5] == 'u' && isHex(s[i-4]) && isHex(s[i-3]) && isHex(s[i-2]) && isHex(s[i-1]) {
		return false
	}
	return true
}

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// rightBoundary reports whether a run may end at i.
func rightBoundary[T ~string | ~[]byte](s T, i int) bool {
	if i >= len(s) {
		return true
	}
	c := s[i]
	if isWordByte(c) || fullWidthWordAt(s, i) {
		return false
	}
	if (c == '.' || c == ',') && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
		return false
	}
	return c != '@' // the local part of an email: the email detector takes it
}

// scanNumber reads the run that starts at i (a digit or "(" before one) and
// appends what it finds to dst. It returns where scanning resumes.
func (d *Detector) scanNumber(s string, i int, dst []Match) ([]Match, int) {
	var r numberRun
	end, ok := r.read(s, i)
	if !ok {
		return dst, end
	}
	return d.classifyRun(&r, s, dst), end
}

// read fills r with the run starting at i. It reports false when the run
// is not bounded (part of a longer token), with where to resume.
func (r *numberRun) read(s string, i int) (int, bool) {
	start := i
	if s[i] == '(' {
		r.paren = true
		i++
	}
	bounded := leftBoundary(s, start)
	for {
		gs, d0 := i, r.n
		for i < len(s) {
			v, w := digitAt(s, i)
			if w == 0 {
				break
			}
			if r.n < len(r.digits) {
				r.digits[r.n] = v
				r.n++
			} else {
				bounded = false // absurdly long: a number, not a value
			}
			i += w
		}
		if w := checkXAt(s, i); w > 0 && r.n-d0 >= 2 {
			if r.n < len(r.digits) {
				r.digits[r.n] = 'X'
				r.n++
			}
			i += w
			r.addGroup(gs, i, d0)
			break
		}
		if r.n == d0 { // a separator not followed by a digit
			i = gs - 1
			if r.ng == 0 {
				return i + 1, false
			}
			break
		}
		r.addGroup(gs, i, d0)
		if i >= len(s) {
			break
		}
		c := s[i]
		if r.paren && r.ng == 1 && c == ')' {
			i++
			continue
		}
		if r.ng == 1 && r.paren { // "(" without its ")": not an area code
			r.paren = false
		}
		if (c == ' ' || c == '-') && i+1 < len(s) {
			if _, w := digitAt(s, i+1); w > 0 {
				i++
				continue
			}
		}
		break
	}
	if r.ng >= maxGroups {
		bounded = false
	}
	if !bounded || !rightBoundary(s, i) {
		// Skip the rest of this token so no suffix of it is tried again.
		for i < len(s) {
			if _, w := digitAt(s, i); w > 0 {
				i += w
				continue
			}
			if isWordByte(s[i]) {
				i++
				continue
			}
			break
		}
		return i, false
	}
	return i, true
}

func (r *numberRun) addGroup(start, end, d0 int) {
	if r.ng < maxGroups {
		r.groups[r.ng] = group{start: start, end: end, d0: d0, d1: r.n}
		r.ng++
	}
}

// classifyRun tries the whole run, then from each group the longest span
// of whole groups that is a value.
func (d *Detector) classifyRun(r *numberRun, s string, dst []Match) []Match {
	for a := 0; a < r.ng; {
		matched := false
		for b := r.ng - 1; b >= a; b-- {
			d0, d1 := r.groups[a].d0, r.groups[b].d1
			if d1-d0 > maxValueDigits {
				continue
			}
			if a != b && !groupsAllowed(r, a, b) {
				continue
			}
			cat, ok := d.classify(r.digits[d0:d1], r.paren && a == 0 && b > 0, a != b)
			if !ok {
				continue
			}
			start := r.groups[a].start
			if a == 0 && r.paren {
				start-- // the "("
			}
			if cat == Phone && start > 0 && s[start-1] == '+' {
				start-- // +86
			}
			dst = append(dst, Match{Start: start, End: r.groups[b].end, Category: cat})
			a = b + 1
			matched = true
			break
		}
		if !matched {
			a++
		}
	}
	return dst
}

// groupsAllowed rejects joins of one-digit groups ("1 2 3 4 ..."): values
// are written in groups of two or more.
func groupsAllowed(r *numberRun, a, b int) bool {
	for g := a; g <= b; g++ {
		if r.groups[g].d1-r.groups[g].d0 < 2 {
			return false
		}
	}
	return true
}

// classify names the value that the digits d are, in a fixed order: a
// resident ID (checksum), a bank card (Luhn and issuer), a mobile number,
// an old 15-digit ID, a landline. parenArea says the first group was a
// parenthesized area code, which only a landline has; joined says the
// digits were written in several groups. A landline written without a
// separator is taken only at 11 digits: 12 unseparated digits beginning
// with 0 are as often an invoice code.
func (d *Detector) classify(v []byte, parenArea, joined bool) (Category, bool) {
	if parenArea {
		if d.has(landlineBit) && isLandline(v) {
			return Landline, true
		}
		return "", false
	}
	n := len(v)
	if v[n-1] == 'X' {
		if n == 18 && d.has(idCardBit) && isIDCard18(v) {
			return IDCard, true
		}
		return "", false
	}
	switch {
	case n == 18 && d.has(idCardBit) && isIDCard18(v):
		return IDCard, true
	case n >= 13 && n <= 19 && d.has(bankCardBit) && isBankCard(v):
		return BankCard, true
	case d.has(phoneBit) && isMobile(v):
		return Phone, true
	case n == 15 && d.has(idCardBit) && isIDCard15(v):
		return IDCard, true
	case d.has(landlineBit) && (joined || n == 11) && isLandline(v):
		return Landline, true
	}
	return "", false
}
