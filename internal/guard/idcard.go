package guard

// Chinese resident identity numbers (GB 11643-1999) and the residence
// permits that share their layout:
//
//	18 characters: 6-digit region, 8-digit birth date YYYYMMDD, 3-digit
//	sequence, check character (0-9 or X) = (12 - sum(d[i]*w[i]) mod 11) mod 11,
//	10 written X, with w[i] = 2^(17-i) mod 11.
//	15 digits (issued before 1999): region, birth date YYMMDD of 19YY, sequence.
//	Residence permits for Hong Kong, Macao and Taiwan residents (2018) use the
//	regions 810000, 820000 and 830000; the permanent residence permits for
//	foreigners (2023) begin with 9 followed by the issuing province's code.
//	Both carry the same birth date and check character.
//	The permanent residence permits for foreigners issued before December
//	2023 read 3 letters (the nationality, ISO 3166-1 alpha-3) and 12 digits:
//	the 4-digit code of the issuing place, the birth date YYMMDD and 2 more
//	digits. Their check digit's algorithm is not published, so the country
//	code, the place's province and the date are checked.

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheckChars = "10X98765432"

// validProvince reports whether the two digits a, b ('0'..'9') are a
// province-level code of GB/T 2260, or a Hong Kong, Macao or Taiwan
// residence permit's (81, 82, 83).
func validProvince(a, b byte) bool {
	if a < '0' || a > '9' {
		return false
	}
	r := provinceSeconds[a-'0']
	return r.hi != 0 && r.lo <= b && b <= r.hi
}

// provinceSeconds holds, by a code's first digit, the range of its second
// digit; a zero range has no codes.
var provinceSeconds = [10]struct{ lo, hi byte }{
	1: {'1', '5'}, 2: {'1', '3'}, 3: {'1', '7'}, 4: {'1', '6'},
	5: {'0', '4'}, 6: {'1', '5'}, 7: {'1', '1'}, 8: {'1', '3'},
}

// validRegion checks the first six characters of an 18-character number.
func validRegion(v []byte) bool {
	if v[0] == '9' { // a foreigner's permanent residence permit: 9 + province
		return validProvince(v[1], v[2]) && v[1] != '8'
	}
	return validProvince(v[0], v[1])
}

func num(v []byte) int {
	n := 0
	for _, c := range v {
		n = n*10 + int(c-'0')
	}
	return n
}

// validDate reports whether year, month and day form a real date between
// 1900 and 2099 (leap years included).
func validDate(y, m, d int) bool {
	if y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && (y%4 == 0 && y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

// isIDCard18 checks an 18-character number: region, birth date and check
// character. v holds ASCII digits, the last possibly 'X'.
func isIDCard18(v []byte) bool {
	if len(v) != 18 || !validRegion(v) {
		return false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
		sum += int(v[i]-'0') * idWeights[i]
	}
	if idCheckChars[sum%11] != v[17] {
		return false
	}
	return validDate(num(v[6:10]), num(v[10:12]), num(v[12:14]))
}

// isIDCard15 checks a 15-digit number of the old form: region and a birth
// date in the 1900s. It has no check digit.
func isIDCard15(v []byte) bool {
	if len(v) != 15 || !validProvince(v[0], v[1]) || v[0] == '8' {
		return false
	}
	return validDate(1900+num(v[6:8]), num(v[8:10]), num(v[10:12]))
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// oldForeignPR matches a pre-2023 foreigner's permanent residence permit
// number at i, a word's start, and returns its end.
func oldForeignPR(s string, i int) (int, bool) {
	if i+15 > len(s) || !isUpper(s[i]) || !isUpper(s[i+1]) || !isUpper(s[i+2]) || !isCountryCode(s[i:i+3]) {
		return 0, false
	}
	var v [12]byte
	for k := range v {
		c := s[i+3+k]
		if !isDigit(c) {
			return 0, false
		}
		v[k] = c
	}
	if !validProvince(v[0], v[1]) || v[0] == '8' || !rightBoundary(s, i+15) {
		return 0, false
	}
	y, m, d := num(v[4:6]), num(v[6:8]), num(v[8:10])
	if !validDate(1900+y, m, d) && !validDate(2000+y, m, d) {
		return 0, false
	}
	return i + 15, true
}
