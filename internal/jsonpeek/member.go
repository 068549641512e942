package jsonpeek

import "bytes"

// Member returns the value of the top-level member name of the JSON object
// in b, or nil when b is not an object or has no such member. The walk
// stops at the member, so the rest of b is not validated: use it on bodies
// that were validated before, or where a wrong answer only costs a
// statistic (usage in logs).
func Member(b []byte, name string) []byte {
	var v []byte
	Object(b, func(key []byte, start, end int) bool {
		if string(key) == name {
			v = b[start:end]
			return false
		}
		return true
	})
	return v
}

// SkimMember is Member for a b known to be valid JSON (checked by [Object]
// or [Valid] earlier on its path): it finds the member with [Skim], which
// only looks for boundaries, instead of validating everything before it.
func SkimMember(b []byte, name string) []byte {
	var v []byte
	Skim(b, func(key []byte, start, end int) bool {
		if KeyIs(key, name) {
			v = b[start:end]
			return false
		}
		return true
	})
	return v
}

// KeyIs reports whether key, a member name as [Skim] reports it (between
// its quotes, escapes not resolved), decodes to name, as [Object] would
// decode it. Only a name written with escapes allocates.
func KeyIs(key []byte, name string) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key) == name
	}
	lit := make([]byte, 0, len(key)+2)
	lit = append(append(append(lit, '"'), key...), '"')
	return StringIs(lit, name)
}
