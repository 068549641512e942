package translate

// Number, word and UTF-8 helpers of the stream translators (the JSON
// scanning itself is internal/jsonpeek's).

import (
	"strconv"
	"unicode/utf8"
)

// stCutTail returns how many bytes at the end of b begin a UTF-8 sequence
// that b cuts off (0 to 3).
func stCutTail(b []byte) int {
	for k := 1; k < utf8.UTFMax && k <= len(b); k++ {
		c := b[len(b)-k]
		if c < utf8.RuneSelf {
			return 0
		}
		if utf8.RuneStart(c) {
			if utf8.FullRune(b[len(b)-k:]) {
				return 0
			}
			return k
		}
	}
	return 0
}

// stZeroIndex reports whether a choice's index (absent, null, or a number
// however written: 0, 0.0, 0e1) designates the first choice.
func stZeroIndex(v []byte) bool {
	if len(v) == 0 || string(v) == "null" {
		return true
	}
	if n, ok := stInt(v); ok {
		return n == 0
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return err == nil && f == 0
}

// stInt reads a JSON integer small enough for an int; ok is false for
// anything else (absent, null, a fraction…).
func stInt(v []byte) (int, bool) {
	n, ok := stInt64(v)
	if !ok || n != int64(int32(n)) {
		return 0, false
	}
	return int(n), true
}

func stInt64(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 19 {
		return 0, false
	}
	neg := v[0] == '-'
	if neg {
		v = v[1:]
		if len(v) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// stContainsFold reports whether b contains the lowercase ASCII word w,
// ignoring ASCII case.
func stContainsFold(b []byte, w string) bool {
	for i := 0; i+len(w) <= len(b); i++ {
		j := 0
		for j < len(w) && b[i+j]|0x20 == w[j] {
			j++
		}
		if j == len(w) {
			return true
		}
	}
	return false
}
