package jsonpeek

// Array checks that b holds exactly one JSON array, optionally surrounded
// by whitespace, and calls fn with the span of each of its elements in
// order, b[start:end] exactly as written. As with Object, fn returning false
// stops the walk (the rest of b is then not validated), fn may be nil, and
// nothing is allocated unless b is malformed.
func Array(b []byte, fn func(start, end int) bool) error {
	i, err := begin(b, '[', ']', "looking for beginning of array")
	if i < 0 {
		return err
	}
	for {
		start := i
		if i, err = scanValue(b, i, 1); err != nil {
			return err
		}
		if fn != nil && !fn(start, i) {
			return nil
		}
		var done bool
		if i, done, err = sep(b, i, ']', "after array element"); done || err != nil {
			return err
		}
	}
}
