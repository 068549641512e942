package jsonpeek

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
