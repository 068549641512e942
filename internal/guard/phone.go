package guard

// Mainland China telephone numbers.
//
// Mobiles: 11 digits 1[3-9]x of a segment in service (MIIT numbering plan:
// 13x, 145-149, 15x but 154, 162/165/166/167, 170-178, 18x, 19x but 194),
// optionally after the country code 86 (written +86, 0086 or 86).
// Landlines: a trunk prefix 0, an area code (10 and 20-29 have two digits,
// the rest three: 0311, 0755), and a local number of 7 or 8 digits that
// does not begin with 0 or 1.

func isMobileSegment(b, c byte) bool {
	switch b {
	case '3', '8':
		return true
	case '4':
		return c >= '5'
	case '5':
		return c != '4'
	case '6':
		return c == '2' || c == '5' || c == '6' || c == '7'
	case '7':
		return c <= '8'
	case '9':
		return c != '4'
	}
	return false
}

func isMobile(v []byte) bool {
	switch {
	case len(v) == 13 && v[0] == '8' && v[1] == '6':
		v = v[2:]
	case len(v) == 15 && v[0] == '0' && v[1] == '0' && v[2] == '8' && v[3] == '6':
		v = v[4:]
	}
	return len(v) == 11 && v[0] == '1' && isMobileSegment(v[1], v[2])
}

// areaCodeLen returns the length of the area code (without the trunk 0)
// at the start of v, or 0.
func areaCodeLen(v []byte) int {
	if len(v) < 3 {
		return 0
	}
	switch {
	case v[0] == '1' && v[1] == '0', v[0] == '2':
		return 2
	case v[0] >= '3' && v[0] <= '9' && v[1] != '0':
		return 3
	}
	return 0
}

func isLandline(v []byte) bool {
	if len(v) < 10 || v[0] != '0' {
		return false
	}
	a := areaCodeLen(v[1:])
	if a == 0 {
		return false
	}
	local := v[1+a:]
	if local[0] == '0' || local[0] == '1' {
		return false
	}
	if a == 2 {
		return len(local) == 8
	}
	return len(local) == 7 || len(local) == 8
}
